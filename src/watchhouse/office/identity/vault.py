"""The identity vault: pseudonym -> identifier, sealed with AES-256-GCM, revealed only on the record.

Pseudonyms are one-way HMACs, so the only way back is what ingest chose to record here. Each row's
identifier is encrypted with a fresh 96-bit nonce and the pseudonym as associated data, so a row
copied onto another pseudonym fails to decrypt instead of revealing the wrong person. A reveal
needs a purpose and a case the actor may act on, is limited per actor per window, and is written
to ``identity_reveals`` (append-only) and the audit log; every refusal is audited too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from watchhouse.core.errors import UsageError
from watchhouse.core.identity import is_pseudonym
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases.service import CaseService, RefusalError
from watchhouse.office.errors import IntegrityError, NotFoundError, RateLimitedError
from watchhouse.office.identity.keys import key_id
from watchhouse.office.identity.tables import identity_reveals, identity_vault

INGEST_ACTOR = "system:ingest"
_CHUNK = 500


@dataclass(frozen=True)
class RevealPolicy:
    """At most ``limit`` reveals per actor in any ``window`` (sliding)."""

    limit: int = 10
    window: timedelta = timedelta(hours=24)


class IdentityVault:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        cases: CaseService,
        key: bytes,
        clock: Callable[[], datetime],
        policy: RevealPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._cases = cases
        self._aead = AESGCM(key)
        self._key_id = key_id(key)
        self._clock = clock
        self._policy = policy or RevealPolicy()

    def record(self, mapping: Mapping[str, str], actor: str = INGEST_ACTOR) -> int:
        """Store identifier -> pseudonym pairs not stored yet; returns how many were new.

        Only pseudonyms missing from the vault are encrypted, so re-recording a known population
        costs one indexed lookup per chunk. One audit entry per call with new rows (a count, never
        an identifier) keeps the log proportional to batches, not people.
        """
        by_pseudonym = {p: i for i, p in mapping.items() if p != i and is_pseudonym(p)}
        if not by_pseudonym:
            return 0
        now = self._clock()
        upsert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        new = 0
        with self._audit.transaction() as conn:
            pending = sorted(by_pseudonym)
            for start in range(0, len(pending), _CHUNK):
                chunk = pending[start : start + _CHUNK]
                known = set(
                    conn.execute(
                        select(identity_vault.c.pseudonym).where(identity_vault.c.pseudonym.in_(chunk))
                    ).scalars()
                )
                rows = []
                for pseudonym in chunk:
                    if pseudonym in known:
                        continue
                    nonce = os.urandom(12)
                    sealed = self._aead.encrypt(
                        nonce, by_pseudonym[pseudonym].encode("utf-8"), pseudonym.encode("ascii")
                    )
                    rows.append(
                        {
                            "pseudonym": pseudonym,
                            "key_id": self._key_id,
                            "nonce": nonce,
                            "ciphertext": sealed,
                            "recorded_at": now,
                        }
                    )
                if rows:
                    conn.execute(upsert(identity_vault).on_conflict_do_nothing(index_elements=["pseudonym"]), rows)
                    new += len(rows)
            if new:
                self._audit.append(
                    actor, Action.CREATE, ObjectType.IDENTITY, None, "ingest", {"recorded": new}, conn=conn
                )
        return new

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(identity_vault)).scalar_one())

    def reveal(self, pseudonym: str, actor: str, purpose: str, case_ref: str) -> str:
        """The identifier behind ``pseudonym``, for ``purpose`` within ``case_ref``; audited either way."""
        try:
            with self._audit.transaction() as conn:
                self._audit.serialise(conn)
                if not purpose.strip():
                    raise RefusalError("purpose", UsageError("revealing an identity needs a purpose"))
                case = self._cases.require_access(conn, case_ref, actor)
                since = self._clock() - self._policy.window
                used = conn.execute(
                    select(func.count())
                    .select_from(identity_reveals)
                    .where(identity_reveals.c.actor == actor, identity_reveals.c.at > since)
                ).scalar_one()
                if used >= self._policy.limit:
                    hours = self._policy.window.total_seconds() / 3600
                    raise RefusalError(
                        "rate-limit",
                        RateLimitedError(f"{actor} reached the limit of {used} reveals per {hours:g} h; try later"),
                    )
                row = conn.execute(select(identity_vault).where(identity_vault.c.pseudonym == pseudonym)).first()
                if row is None:
                    raise RefusalError("unknown", NotFoundError(f"the vault holds no identity for {pseudonym!r}"))
                try:
                    identifier = self._aead.decrypt(row.nonce, row.ciphertext, pseudonym.encode("ascii")).decode(
                        "utf-8"
                    )
                except InvalidTag:
                    raise IntegrityError(
                        f"vault row for {pseudonym} does not decrypt: wrong key ({row.key_id}) or tampered"
                    ) from None
                entry = self._audit.append(
                    actor, Action.REVEAL, ObjectType.IDENTITY, pseudonym, purpose, {"case": case.id}, conn=conn
                )
                conn.execute(
                    identity_reveals.insert().values(
                        pseudonym=pseudonym,
                        actor=actor,
                        case_id=case.id,
                        purpose=purpose,
                        at=self._clock(),
                        audit_seq=entry.seq,
                    )
                )
                return identifier
        except RefusalError as refusal:
            self._cases.refuse(actor, ObjectType.IDENTITY, pseudonym, f"reveal:{case_ref.strip().upper()}", refusal)
            raise refusal.error from None
