"""The identity vault on both backends: recorded at ingest, encrypted at rest, revealed only on the record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select, text, update

from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.identity import Pseudonymizer
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.errors import AccessDeniedError, IntegrityError, NotFoundError, RateLimitedError
from watchhouse.office.identity.keys import load_or_create_vault_key
from watchhouse.office.identity.recorder import VaultRecorder
from watchhouse.office.identity.tables import identity_vault
from watchhouse.office.identity.vault import IdentityVault, RevealPolicy
from watchhouse.office.services import Office

from .office_helpers import make_office

KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, RevealPolicy(limit=2, window=timedelta(hours=1)))
    yield office
    office.close()


def vault(office: Office) -> IdentityVault:
    assert office.identities is not None
    return office.identities


def test_ingest_hook_records_distinct_identities_in_batches(office: Office) -> None:
    recorder = VaultRecorder(vault(office), batch_size=3)
    pseudonymizer = Pseudonymizer(KEY, on_mapping=recorder)
    pseudonymizer.column(pa.array(["alice", "bob", "alice", None, "carol"]))
    assert vault(office).count() == 3 and recorder.recorded == 3  # flushed at the batch size
    pseudonymizer.column(pa.array(["alice", "dave"]))
    assert vault(office).count() == 3  # dave still buffered, alice never re-sent
    recorder.close()
    assert vault(office).count() == 4
    assert vault(office).record({"alice": pseudonymizer.pseudonym("alice")}) == 0
    batches = [e for e in office.audit.tail(10) if e.object_type == "identity"]
    assert [e.details for e in batches] == [{"recorded": 3}, {"recorded": 1}]
    with office.engine.connect() as conn:
        blobs = b"".join(r.ciphertext for r in conn.execute(select(identity_vault)))
    assert b"alice" not in blobs and b"carol" not in blobs


def test_reveal_needs_purpose_and_case_access_and_is_audited(office: Office) -> None:
    pseudonym = Pseudonymizer(KEY).pseudonym("alice@example.org")
    vault(office).record({"alice@example.org": pseudonym})
    case = office.cases.open("ana", "Images", [CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL], Severity.CRITICAL)

    assert vault(office).reveal(pseudonym, "ana", "identify uploader for referral", case.id) == "alice@example.org"
    (entry,) = [e for e in office.audit.for_object("identity", pseudonym) if e.action == "reveal"]
    assert (entry.actor, entry.purpose, entry.details) == ("ana", "identify uploader for referral", {"case": case.id})
    assert "alice" not in str(entry.to_dict())
    assert [i.kind for i in office.cases.timeline("ana", case.id)][-1] == "reveal"

    with pytest.raises(UsageError, match="purpose"):
        vault(office).reveal(pseudonym, "ana", " ", case.id)
    with pytest.raises(AccessDeniedError, match="need-to-know"):
        vault(office).reveal(pseudonym, "mallory", "curious", case.id)
    with pytest.raises(NotFoundError, match="no case"):
        vault(office).reveal(pseudonym, "ana", "x", "WH-2099-0001")
    with pytest.raises(NotFoundError, match="holds no identity"):
        vault(office).reveal("p-0000000000000000", "ana", "x", case.id)
    refused = [(e.actor, e.details["refusal"]) for e in office.audit.tail(10) if e.action == "refused"]
    assert refused == [("ana", "purpose"), ("mallory", "need-to-know"), ("ana", "unknown")]


def test_reveals_are_rate_limited_per_actor(office: Office) -> None:
    pseudonym = Pseudonymizer(KEY).pseudonym("bob")
    vault(office).record({"bob": pseudonym})
    case = office.cases.open("ana", "Fraud", [CrimeCode.COMPUTER_FRAUD], Severity.HIGH)
    for _ in range(2):
        vault(office).reveal(pseudonym, "ana", "match bank report", case.id)
    with pytest.raises(RateLimitedError, match="limit of 2 reveals per 1 h"):
        vault(office).reveal(pseudonym, "ana", "match bank report", case.id)
    assert vault(office).reveal(pseudonym, "ivan", "second opinion", case.id) == "bob"  # per actor
    assert office.audit.for_object("identity", pseudonym)[-2].details["refusal"] == "rate-limit"
    with pytest.raises(Exception, match="append-only"), office.engine.begin() as conn:
        conn.execute(text("DELETE FROM identity_reveals"))


def test_a_ciphertext_moved_to_another_pseudonym_does_not_decrypt(office: Office) -> None:
    p = Pseudonymizer(KEY)
    vault(office).record({"alice": p.pseudonym("alice"), "bob": p.pseudonym("bob")})
    case = office.cases.open("ana", "Fraud", [CrimeCode.COMPUTER_FRAUD], Severity.HIGH)
    with office.engine.begin() as conn:
        row = conn.execute(select(identity_vault).where(identity_vault.c.pseudonym == p.pseudonym("alice"))).one()
        conn.execute(
            update(identity_vault)
            .where(identity_vault.c.pseudonym == p.pseudonym("bob"))
            .values(nonce=row.nonce, ciphertext=row.ciphertext)
        )
    with pytest.raises(IntegrityError, match="does not decrypt"):
        vault(office).reveal(p.pseudonym("bob"), "ana", "check", case.id)


def test_vault_key_is_0600_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "identity-vault.key"
    key = load_or_create_vault_key(path)
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600
    assert load_or_create_vault_key(path) == key
    path.chmod(0o644)
    with pytest.raises(InputError, match="readable by others"):
        load_or_create_vault_key(path)
