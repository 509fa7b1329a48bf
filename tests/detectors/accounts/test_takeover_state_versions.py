"""Takeover checkpoints written by earlier history state versions must still restore.

Version 2 kept a last-seen time per entry and per account (version 3 keeps combinations, and
entries live while a combination holds them): a restored history must still forget each entry
when its own time runs out. Version 1 hashed AS numbers as text.

Why the hashing matters: the history keeps only hashes, so an entry written from the text "3320" cannot
be re-hashed; a restored detector that hashed AS3320 as a number would call the owner's own
network new, and a thief from the owner's network but another country would be reported with
the wrong reason and confidence (or a login from the owner's network, new device and new
country, as new on both counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.history import AccountHistory
from watchhouse.detectors.accounts.sketches import HASH_VERSION, hash_keys
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.factories import make_batch

from .auth_rows import success

DAY = 86_400
NOTHING = {"device.id": None, "source.geo.country_iso_code": None, "source.as.number": None}


login = success


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.AUTH, sorted(rows, key=lambda r: r["@timestamp"]))


#: the owner at home (Germany, AS3320) two days, then on the phone's network (AS3209, a login
#: still held at the checkpoint); then a thief on the owner's home network (same AS, a VPN exit
#: abroad) who changes the email: only the history written before the checkpoint knows AS3320.
#: Bob logs in too, once without device or place. ``data/takeover_checkpoint_v*.json`` hold the
#: checkpoints that the code of history state versions 1 and 2 wrote after this batch.
HOME = [
    *(login(-DAY * d, "p-alice", "79.192.0.5", "d-home", "DE", 3320) for d in (3, 2)),
    login(-DAY, "p-alice", "109.40.0.8", "d-home", "DE", 3209),
    login(-DAY * 2 + 60, "p-bob", "177.32.0.9", "d-phone", "BR", 26599),
    {**login(-DAY * 2 + 90, "p-bob", "177.32.0.9", "", "", 0), **NOTHING},
]
THEFT = [
    login(100, "p-alice", "79.192.0.77", "d-thief", "AT", 3320),
    login(400, "p-alice", "79.192.0.77", "d-thief", "AT", 3320, "email_change"),
]


DATA = Path(__file__).parent / "data"


def saved(version: int) -> dict[str, Any]:
    """A takeover checkpoint written by the code of history state ``version`` after
    ``detect(batch(HOME))`` (version 1: AS numbers hashed as text, held AS numbers as text)."""
    state: dict[str, Any] = json.loads((DATA / f"takeover_checkpoint_v{version}.json").read_text())
    if state["history"]["hash"] != HASH_VERSION:
        pytest.skip(f"fixture hashed with {state['history']['hash']}: rewrite it with this Polars")
    return state


def run(state: dict[str, Any] | None, rows: list[dict[str, Any]], **options: float) -> list[Finding]:
    """``rows`` after ``HOME``: through a checkpoint ``state`` (None: in one detector, no checkpoint)."""
    detector = AccountTakeoverDetector(**options)
    findings = []
    if state is None:
        findings = detector.detect(batch(HOME))
    else:
        detector.restore(state)
    return findings + detector.detect(batch(rows)) + detector.finalize()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_checkpoint_restores_and_knows_the_owners_network(version: int) -> None:
    state = saved(version)
    if version == 1:
        assert state["held"]["asn"] == ["3209"]  # the owner's last login is still held, as text
    old, new = run(state, THEFT), run(None, THEFT)
    assert [f.details for f in old] == [f.details for f in new]
    (finding,) = new
    assert finding.details["new_country"] is True and finding.details["new_asn"] is False
    assert finding.details["asn"] == "3320" and finding.confidence == 0.8
    assert "AS3320" in finding.explanation and "new country" in finding.title


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_checkpoint_forgets_by_its_own_times(version: int) -> None:
    """Entries restored from a version 1 or 2 history keep their last-seen times: with a history of
    a day and a half, the owner's home network (last seen two days before) is forgotten, while the
    login still held at the checkpoint (a day before) keeps the account known."""
    old, new = run(saved(version), THEFT, history_days=1.5), run(None, THEFT, history_days=1.5)
    assert [f.details for f in old] == [f.details for f in new]
    (finding,) = new
    assert finding.details["new_country"] is True and finding.details["new_asn"] is True
    assert finding.details["known_countries"] == ["DE"] and finding.confidence == 0.9


def history_of(asns: pl.Series) -> AccountHistory:
    history = AccountHistory()
    seen = pl.DataFrame({"user": ["p-alice"] * asns.len(), "asn": asns, "ts": list(range(asns.len()))})
    history.add(seen, hash_keys(seen["user"]), ("asn",))
    return history


def test_history_hashes_numbers_as_numbers_and_a_version_1_state_as_text() -> None:
    alice = hash_keys(pl.Series(["p-alice", "p-alice"]))
    asked = pl.Series([3320, 5410], dtype=pl.Int64)
    current = AccountHistory()
    current.load_json(json.loads(json.dumps(history_of(pl.Series([3320], dtype=pl.Int64)).to_json())))
    assert current.seen_before(alice, "asn", asked).tolist() == [True, False]
    assert not current.numbers_as_text
    # version 1 hashed the text the detector made of each number
    old = AccountHistory()
    old.load_json(saved(1)["history"])
    assert old.numbers_as_text and old.seen_before(alice, "asn", asked).tolist() == [True, False]
    again = AccountHistory()  # saved again, it keeps saying how it hashes
    again.load_json(json.loads(json.dumps(old.to_json())))
    assert again.to_json()["version"] == 3 and again.seen_before(alice, "asn", asked).tolist() == [True, False]
    with pytest.raises(ValueError, match="version 4"):
        AccountHistory().load_json({**again.to_json(), "version": 4})
