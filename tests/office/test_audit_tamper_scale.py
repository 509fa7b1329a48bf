"""Issue target: 1,000 random single-entry tamperings of a real audit table, 100% detected and pinpointed.

The log is built by the office services themselves (triage, cases, accounts, API tokens, with
signed checkpoints and an unsigned tail after the last one). Each tampering is raw SQL on
``audit_entries`` only — what someone with database access but without the signing key can do —
applied to a fresh copy of the SQLite file; ``verify`` must fail and its earliest pinpointed
sequence number must be the entry that was touched. A smaller run does the same on PostgreSQL,
restoring the pristine rows between tamperings instead of copying a file.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.roles import Role
from watchhouse.office.audit.entries import AuditEntry, body_bytes, from_row
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.signing import Signer, load_or_create_private_key
from watchhouse.office.audit.verify import Report
from watchhouse.office.canonical import canonical_json
from watchhouse.office.errors import NotFoundError, PolicyError
from watchhouse.office.services import Office
from watchhouse.office.triage.models import AlertStatus, Verdict
from watchhouse.storage.alert_store import AlertFilter
from watchhouse.storage.engine import open_engine

from .office_helpers import alert, make_office

SEED = 20261126
Statement = tuple[str, dict[str, Any]]
_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "purpose", "details", "prev_hash", "entry_hash")
_INSERT = f"INSERT INTO audit_entries ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)})"


@dataclass(frozen=True)
class Tampering:
    kind: str
    statements: list[Statement]
    expected_seq: int
    """The entry ``verify`` must name first (the smallest sequence number among its problems)."""


# -- a realistic log -------------------------------------------------------------------------


def build_log(office: Office, *, rounds: int, checkpoint_every: int = 60) -> None:
    """Work an office the way a team does; sign a checkpoint every ``checkpoint_every`` entries."""
    office.alerts.save([alert(i, ip=f"203.0.113.{i % 17}", minutes=i, severity=Severity.HIGH) for i in range(1, 61)])
    office.accounts.add("local:admin", "ana", "correct horse battery staple", [Role.ANALYST])
    tokens = office.accounts.tokens
    script = tokens.create("ana", "ana", "nightly export", 30)
    last_checkpoint = 0
    for r in range(rounds):
        ids = [alert(1 + (r * 3 + k) % 60).id for k in range(3)]
        office.triage.search("ana", AlertFilter(limit=10), purpose="morning queue")
        office.triage.show("ana", ids[0])
        office.triage.set_status("ana", ids[:2], AlertStatus.TRIAGED, "looked at")
        office.triage.assign("ana", ids[2:], "ivan")
        if r % 3 == 0:
            office.triage.set_verdict("ivan", ids[:1], Verdict.TRUE_POSITIVE, "credential stuffing confirmed")
            case = office.cases.open(
                "ivan", f"Stuffing wave {r}", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH, need_to_know=r % 2 == 0
            )
            office.cases.note("ivan", case.id, f"Round {r}: {len(ids)} alerts, same ASN — see {ids[0]}")
            office.cases.link_alert("ivan", case.id, ids[0], "same source")
            office.cases.add_task("ivan", case.id, "ask the hosting provider for preservation")
            office.cases.show("ivan", case.id, purpose="review")
            with contextlib.suppress(PolicyError, NotFoundError):
                office.cases.show("mallory", case.id)  # refused: the refusal is an entry too
        if r % 10 == 5:  # a few logins only, each an entry
            office.accounts.login("ana", "correct horse battery staple", None, "192.0.2.10")
        if r % 4 == 1:
            with contextlib.suppress(PolicyError):
                tokens.authenticate(script.secret[:-2] + "xx", "198.51.100.7")
        if office.audit.count() - last_checkpoint >= checkpoint_every:
            last_checkpoint = office.audit.checkpoint().head.tree_size


# -- tamperings ------------------------------------------------------------------------------


def _changed_field(rng: random.Random, entry: AuditEntry) -> tuple[str, object]:
    column = rng.choice(("at", "actor", "action", "object_type", "object_id", "purpose", "details"))
    if column == "at":
        moment = datetime.strptime(entry.at, "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(seconds=rng.randint(1, 3600))
        return column, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if column == "details":
        details = dict(entry.details)
        key = rng.choice(sorted(details)) if details else "note"
        details[key] = f"{details.get(key)}!"
        return column, json.dumps(details, sort_keys=True, separators=(",", ":"))
    if column == "purpose":
        return column, None if entry.purpose else "legitimate interest"
    original = getattr(entry, column)
    return column, f"{original}-x" if original else "case:WH-2026-1"


def _row(entry: AuditEntry) -> dict[str, Any]:
    row = entry.to_dict()
    row.pop("format")
    row["details"] = json.dumps(entry.details, sort_keys=True, separators=(",", ":"))
    return row


def tamperings(entries: list[AuditEntry], signed: int, n: int, seed: int) -> Iterator[Tampering]:
    """``n`` seeded random single-entry tamperings of a log whose first ``signed`` entries are checkpointed."""
    rng = random.Random(seed)
    last = entries[-1].seq
    upd = "UPDATE audit_entries SET {} = :v WHERE seq = :k"
    for _ in range(n):
        e = entries[-1] if rng.random() < 0.04 else rng.choice(entries)  # the last entry has no successor
        k = e.seq
        kind = rng.choice(
            ["field", "hash", "prev-hash", "rehash", "delete", "swap", "swap-adjacent", "renumber", "truncate", "forge"]
        )
        if kind == "field":
            column, value = _changed_field(rng, e)
            yield Tampering(f"field:{column}", [(upd.format(column), {"v": value, "k": k})], k)
        elif kind == "hash":
            yield Tampering(kind, [(upd.format("entry_hash"), {"v": f"{rng.getrandbits(256):064x}", "k": k})], k)
        elif kind == "prev-hash":
            yield Tampering(kind, [(upd.format("prev_hash"), {"v": f"{rng.getrandbits(256):064x}", "k": k})], k)
        elif kind == "rehash":  # edit a field *and* store the entry's correctly recomputed hash
            column, value = _changed_field(rng, e)
            changes: dict[str, Any] = {column: json.loads(str(value)) if column == "details" else value}
            edited = replace(e, **changes)
            rehash = f"UPDATE audit_entries SET {column} = :v, entry_hash = :h WHERE seq = :k"
            yield Tampering(f"rehash:{column}", [(rehash, {"v": value, "h": edited.computed_hash(), "k": k})], k)
        elif kind == "delete":
            yield Tampering(
                "delete-last" if k == last else kind, [("DELETE FROM audit_entries WHERE seq = :k", {"k": k})], k
            )
        elif kind in ("swap", "swap-adjacent"):
            j = k + 1 if kind == "swap-adjacent" and k < last else rng.choice([x.seq for x in entries if x.seq != k])
            moves = [(-1, k), (k, j), (j, -1)]
            statements = [("UPDATE audit_entries SET seq = :to WHERE seq = :fr", {"to": a, "fr": b}) for a, b in moves]
            yield Tampering(kind, statements, min(k, j))
        elif kind == "renumber":  # move an entry out of its place, to the end of the log
            move = ("UPDATE audit_entries SET seq = :v WHERE seq = :k", {"v": last + rng.randint(1, 5), "k": k})
            yield Tampering(kind, [move], k)
        elif kind == "truncate":  # drop the unsigned tail (or part of it) after the last checkpoint
            keep = rng.randint(signed, last - 1)
            yield Tampering(kind, [("DELETE FROM audit_entries WHERE seq > :k", {"k": keep})], keep + 1)
        else:  # append a well-formed, correctly chained entry that never went through the log
            forged = replace(
                entries[-1], seq=last + 1, actor="mallory", action="read", prev_hash=entries[-1].entry_hash
            )
            forged = replace(forged, entry_hash=forged.computed_hash())
            yield Tampering(kind, [(_INSERT, _row(forged))], last + 1)


def pinpointed(report: Report) -> int | None:
    seqs = [p.seq for p in report.problems if p.seq is not None]
    return min(seqs) if seqs else None


@dataclass
class Tally:
    tried: Counter[str]
    detected: Counter[str]
    pinpointed: Counter[str]
    misses: list[str]

    @classmethod
    def new(cls) -> Tally:
        return cls(Counter(), Counter(), Counter(), [])

    def record(self, t: Tampering, report: Report) -> None:
        kind = t.kind.split(":")[0]
        self.tried[kind] += 1
        self.detected[kind] += not report.ok
        self.pinpointed[kind] += pinpointed(report) == t.expected_seq
        if report.ok or pinpointed(report) != t.expected_seq:
            self.misses.append(f"{t.kind} expected {t.expected_seq}, got {pinpointed(report)}: {report.problems[:2]}")


def _entries(engine: Engine) -> list[AuditEntry]:
    with engine.connect() as conn:
        return [from_row(r._mapping) for r in conn.execute(text("SELECT * FROM audit_entries ORDER BY seq"))]


def _run(trials: list[Tampering], verify_after: Callable[[Tampering], Report]) -> Tally:
    tally = Tally.new()
    for t in trials:
        tally.record(t, verify_after(t))
    return tally


# -- the tests --------------------------------------------------------------------------------


def test_one_thousand_random_tamperings_on_sqlite_are_all_detected_and_pinpointed(tmp_path: Path) -> None:
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path)
    build_log(office, rounds=50)
    entries, checkpoints = _entries(office.engine), office.audit.checkpoints()
    office.close()
    signed = checkpoints[-1].head.tree_size
    assert 250 <= len(entries) <= 600 and len(checkpoints) >= 4 and signed < len(entries)
    assert len({e.action for e in entries}) >= 6 and len({e.object_type for e in entries}) >= 5
    signer = Signer(load_or_create_private_key(tmp_path / "audit-signing.key"))
    pristine, trial = tmp_path / "office.db", tmp_path / "trial.db"

    def verify_after(t: Tampering) -> Report:
        shutil.copyfile(pristine, trial)
        with sqlite3.connect(trial) as raw:
            for statement, params in t.statements:
                raw.execute(statement, params)
        raw.close()
        engine = open_engine(f"sqlite:///{trial}")
        try:
            return AuditLog(engine, signer).verify()
        finally:
            engine.dispose()

    trials = list(tamperings(entries, signed, 1000, SEED))
    assert verify_after(Tampering("none", [], 0)).ok  # the untouched copy verifies
    started = time.process_time()
    tally = _run(trials, verify_after)
    cpu = time.process_time() - started
    print(
        f"\ntamper test (SQLite): {len(entries)} entries, {len(checkpoints)} checkpoints (last signs {signed}); "
        f"{sum(tally.detected.values())}/{len(trials)} detected, {sum(tally.pinpointed.values())}/{len(trials)} "
        f"pinpointed; {cpu:.1f} s CPU; by kind {dict(sorted(tally.tried.items()))}"
    )
    assert tally.misses == []
    assert sum(tally.detected.values()) == sum(tally.pinpointed.values()) == len(trials) == 1000
    assert set(tally.tried) == {
        "field", "hash", "prev-hash", "rehash", "delete", "delete-last", "swap", "swap-adjacent", "renumber",
        "truncate", "forge",
    }  # fmt: skip


_TRICKY = ["", "plain", 'q"uote\\back', "ctl\x00\x01\x1f\x7f", "\b\t\n\f\r", "é", "€", "\ue000", "😀", "a/b", "\u2028"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(8 if depth < 3 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 7, 2**53 - 1, -(2**53 - 1), 2**53, 1.5])
    if pick in (3, 4):
        return "".join(rng.choice(_TRICKY) for _ in range(rng.randrange(4)))
    if pick == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["a", "B", "z1", "_", "ké", "😀", "\ue000", "key with space"]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_the_fast_entry_encoding_is_byte_identical_to_canonical_json() -> None:
    """``body_bytes`` (used for every hash) may take the C encoder only where it equals RFC 8785."""
    rng = random.Random(SEED)
    compared = refused = 0
    for _ in range(3000):
        value = {"details": _random_value(rng), "seq": rng.randrange(10**6)}
        try:
            expected = canonical_json(value)
        except ValueError:
            with pytest.raises(ValueError):
                body_bytes(value)
            refused += 1
            continue
        assert body_bytes(value) == expected, value
        compared += 1
    assert compared > 2000 and refused > 50  # both branches really exercised


def test_tamperings_on_postgresql_are_detected_and_pinpointed(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite run is the 1,000-tampering test above")
    office = make_office(db_url, tmp_path)
    build_log(office, rounds=8, checkpoint_every=40)
    entries, signed = _entries(office.engine), office.audit.checkpoints()[-1].head.tree_size
    head = office.engine.connect().execute(text("SELECT seq, entry_hash FROM audit_head")).one()
    rows = [_row(e) for e in entries]

    def verify_after(t: Tampering) -> Report:
        with office.engine.begin() as conn:
            for statement, params in t.statements:
                conn.execute(text(statement), params)
        report = office.audit.verify()
        with office.engine.begin() as conn:  # back to the pristine table for the next one
            conn.execute(text("DELETE FROM audit_entries"))
            conn.execute(text(_INSERT), rows)
            conn.execute(text("UPDATE audit_head SET seq = :s, entry_hash = :h"), {"s": head.seq, "h": head.entry_hash})
        return report

    trials = list(tamperings(entries, signed, 120, SEED + 1))
    tally = _run(trials, verify_after)
    assert office.audit.verify().ok
    office.close()
    assert tally.misses == []
    assert sum(tally.pinpointed.values()) == len(trials)
