"""Takeover checkpoints written before AS numbers were hashed as numbers must still restore.

Why it matters: the history keeps only hashes, so an entry written from the text "3320" cannot
be re-hashed; a restored detector that hashed AS3320 as a number would call the owner's own
network new, and a thief from the owner's network but another country would be reported with
the wrong reason and confidence (or a login from the owner's network, new device and new
country, as new on both counts)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.history import AccountHistory
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.factories import BASE_TIME, make_batch

DAY = 86_400


def login(t: float, user: str, ip: str, device: str, country: str, asn: int, action: str = "login") -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": "success",
        "event.action": action,
        "service.name": "web",
        "device.id": device,
        "source.geo.country_iso_code": country,
        "source.as.number": asn,
    }


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.AUTH, sorted(rows, key=lambda r: r["@timestamp"]))


#: the owner at home (Germany, AS3320) two days, then on the phone's network (AS3209, a login
#: still held at the checkpoint); then a thief on the owner's home network (same AS, a VPN exit
#: abroad) who changes the email: only the history written before the checkpoint knows AS3320
HOME = [
    *(login(-DAY * d, "p-alice", "79.192.0.5", "d-home", "DE", 3320) for d in (3, 2)),
    login(-DAY, "p-alice", "109.40.0.8", "d-home", "DE", 3209),
]
THEFT = [
    login(100, "p-alice", "79.192.0.77", "d-thief", "AT", 3320),
    login(400, "p-alice", "79.192.0.77", "d-thief", "AT", 3320, "email_change"),
]


def as_version_1(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` as the detector wrote it before: history version 1 (no ``numbers`` field) and
    held AS numbers as text."""
    history = {key: value for key, value in state["history"].items() if key != "numbers"}
    held = {**state["held"], "asn": [None if a is None else str(a) for a in state["held"]["asn"]]}
    return {**state, "history": {**history, "version": 1}, "held": held}


def run(*, old_checkpoint: bool) -> list[Finding]:
    detector = AccountTakeoverDetector()
    if old_checkpoint:  # a history built the old way: AS numbers hashed as their text
        detector._history.numbers_as_text = True
    findings = detector.detect(batch(HOME))
    state = json.loads(json.dumps(detector.checkpoint()))
    if old_checkpoint:
        state = as_version_1(state)
        assert state["held"]["asn"] == ["3209"]  # the owner's last login is still held, as text
    restored = AccountTakeoverDetector()
    restored.restore(state)
    return findings + restored.detect(batch(THEFT)) + restored.finalize()


def test_a_version_1_checkpoint_restores_and_knows_the_owners_network() -> None:
    old, new = run(old_checkpoint=True), run(old_checkpoint=False)
    assert [f.details for f in old] == [f.details for f in new]
    (finding,) = new
    assert finding.details["new_country"] is True and finding.details["new_asn"] is False
    assert finding.details["asn"] == "3320" and finding.confidence == 0.8
    assert "AS3320" in finding.explanation and "new country" in finding.title


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
    old_state = {**history_of(pl.Series(["3320"])).to_json(), "version": 1}
    del old_state["numbers"]
    old = AccountHistory()
    old.load_json(json.loads(json.dumps(old_state)))
    assert old.numbers_as_text and old.seen_before(alice, "asn", asked).tolist() == [True, False]
    again = AccountHistory()  # saved again, it keeps saying how it hashes
    again.load_json(json.loads(json.dumps(old.to_json())))
    assert again.to_json()["version"] == 2 and again.seen_before(alice, "asn", asked).tolist() == [True, False]
    with pytest.raises(ValueError, match="version 3"):
        AccountHistory().load_json({**old_state, "version": 3})
