"""Building an audit log over a fresh database, and editing its rows behind its back."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from watchhouse.office.audit import merkle
from watchhouse.office.audit.entries import AuditEntry, from_row
from watchhouse.office.audit.keyring import KeyStore
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.signing import Signer, TreeHead, load_or_create_private_key
from watchhouse.office.canonical import canonical_json
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def ticking_clock() -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: T0 + timedelta(seconds=next(ticks))


def make_log(url: str, key_path: Path) -> tuple[Engine, AuditLog]:
    engine = open_engine(url)
    upgrade(engine)
    return engine, AuditLog(engine, Signer(load_or_create_private_key(key_path)), ticking_clock())


def fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append(f"analyst-{i % 3}", "read", "alert", f"wh-{i:04d}", "triage", {"i": i})


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def make_witnessed_log(url: str, home: Path, every: int | None = None) -> tuple[Engine, AuditLog]:
    """An audit log as ``open_office`` wires it: key store, keyring and witness file under ``home``."""
    engine = open_engine(url)
    upgrade(engine)
    keys = KeyStore(home / "audit-signing.key")
    log = AuditLog(
        engine, keys.signer(), ticking_clock(), keys=keys, witness=home / "audit-witness.jsonl", checkpoint_every=every
    )
    return engine, log


def database_only(engine: Engine, home: Path) -> AuditLog:
    """The same log checked the way it was before witnesses: database and signing key only."""
    return AuditLog(engine, Signer(load_or_create_private_key(home / "audit-signing.key")))


def _insert(conn: Connection, entry: AuditEntry) -> None:
    row = entry.to_dict()
    del row["format"]
    row["details"] = canonical_json(entry.details).decode("utf-8")
    conn.execute(
        text(
            "INSERT INTO audit_entries (seq, at, actor, action, object_type, object_id, purpose, details, prev_hash, "
            "entry_hash) VALUES (:seq, :at, :actor, :action, :object_type, :object_id, :purpose, :details, "
            ":prev_hash, :entry_hash)"
        ),
        row,
    )


def rechain_without(engine: Engine, drop: int) -> None:
    """Erase entry ``drop``: renumber and re-hash every later entry and move the head row back.

    Every entry then hashes correctly and chains to its predecessor; only a signed head over the
    old entries can tell.
    """
    with engine.begin() as conn:
        later = [
            from_row(r._mapping)
            for r in conn.execute(text("SELECT * FROM audit_entries WHERE seq > :s ORDER BY seq"), {"s": drop})
        ]
        prev = conn.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = :s"), {"s": drop - 1}).scalar_one()
        conn.execute(text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": drop})
        seq = drop - 1
        for entry in later:
            seq += 1
            moved = replace(entry, seq=seq, prev_hash=prev)
            moved = replace(moved, entry_hash=moved.computed_hash())
            _insert(conn, moved)
            prev = moved.entry_hash
        conn.execute(text("UPDATE audit_head SET seq = :s, entry_hash = :h WHERE id = 1"), {"s": seq, "h": prev})


def truncate_to(engine: Engine, size: int) -> None:
    """Delete every entry after ``size`` and move the head row back to entry ``size``."""
    with engine.begin() as conn:
        last = conn.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = :s"), {"s": size}).scalar_one()
        conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": size})
        conn.execute(text("UPDATE audit_head SET seq = :s, entry_hash = :h WHERE id = 1"), {"s": size, "h": last})


def resign_checkpoints(engine: Engine, signer: Signer, keep_below: int) -> None:
    """The key holder's cover-up: drop checkpoints from ``keep_below`` entries on, sign the forged log."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE tree_size >= :n"), {"n": keep_below})
        hashes = [r[0] for r in conn.execute(text("SELECT entry_hash FROM audit_entries ORDER BY seq"))]
        root = merkle.root_from_leaf_hashes([merkle.leaf_hash(bytes.fromhex(h)) for h in hashes])
        head = TreeHead(len(hashes), root.hex(), "2026-03-02T10:00:00.000000Z", signer.key_id)
        conn.execute(
            text(
                "INSERT INTO audit_checkpoints (tree_size, root_hash, at, key_id, signature) "
                "VALUES (:n, :r, :at, :k, :s)"
            ),
            {"n": head.tree_size, "r": head.root_hash, "at": head.at, "k": head.key_id, "s": signer.sign(head)},
        )
