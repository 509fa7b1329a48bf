"""The AuditLog service: the one way office features record what happened and who did it.

Appends are serialised on the database's write lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ...
FOR UPDATE`` of the single ``audit_head`` row on PostgreSQL), so two writers can never both build
on the same predecessor and fork the chain. Callers that change office data pass their own
write-locked connection (see :meth:`AuditLog.transaction`) so the change and its audit entry
commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, func, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.audit import merkle
from watchhouse.office.audit.entries import AuditEntry, entry_body, from_row, hash_body, timestamp
from watchhouse.office.audit.proofs import ConsistencyProof, InclusionProof, build_consistency, build_inclusion
from watchhouse.office.audit.signing import Signer, TreeHead
from watchhouse.office.audit.tables import audit_checkpoints, audit_entries, audit_head
from watchhouse.office.audit.verify import Checkpoint, Report, verify_log
from watchhouse.office.canonical import canonical_json
from watchhouse.office.errors import IntegrityError, NotFoundError
from watchhouse.storage.engine import WRITE_LOCK

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    def __init__(self, engine: Engine, signer: Signer, clock: Clock = _now) -> None:
        self._engine = engine
        self._signer = signer
        self._clock = clock

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._signer.public_key

    def derive_key(self, label: str) -> bytes:
        """A key for another purpose derived from the signing key (see :meth:`Signer.derive_key`)."""
        return self._signer.derive_key(label)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection whose transaction already holds the write lock appends need."""
        with self._engine.connect().execution_options(**WRITE_LOCK) as conn, conn.begin():
            yield conn

    def serialise(self, conn: Connection) -> None:
        """Take the audit head's lock now, before reading what a change depends on.

        On SQLite ``BEGIN IMMEDIATE`` already holds the lock; on PostgreSQL the head row is only
        locked by the first append, so a feature that reads-then-writes (the next case number,
        a reveal count) calls this first to make concurrent writers queue instead of racing.
        """
        conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1).with_for_update())

    def append(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None = None,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Record one event; with ``conn`` it joins the caller's (write-locked) transaction."""
        if not actor or not action or not object_type:
            raise UsageError("an audit entry needs an actor, an action and an object type")
        if conn is None:
            with self.transaction() as own:
                return self._append(own, actor, action, object_type, object_id, purpose, details or {})
        return self._append(conn, actor, action, object_type, object_id, purpose, details or {})

    def _append(
        self,
        conn: Connection,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None,
        purpose: str | None,
        details: dict[str, Any],
    ) -> AuditEntry:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
        body = entry_body(
            seq=int(head.seq) + 1,
            at=timestamp(self._clock()),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            purpose=purpose,
            details=details,
            prev_hash=head.entry_hash,
        )
        digest = hash_body(body)
        row = {k: body[k] for k in ("seq", "at", "actor", "action", "object_type", "object_id", "purpose")}
        row.update(details=canonical_json(details).decode("utf-8"), prev_hash=head.entry_hash, entry_hash=digest)
        conn.execute(audit_entries.insert().values(**row))
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=body["seq"], entry_hash=digest))
        return from_row(row)

    def checkpoint(self) -> Checkpoint:
        """Sign the tree head over every entry so far, after re-checking what it will vouch for.

        Signing a tampered log would bless the tampering, so the whole log is verified first and
        the checkpoint is refused when anything fails.
        """
        with self.transaction() as conn:
            report = self._verify(conn, self.public_key)
            if not report.ok:
                raise IntegrityError(f"refusing to checkpoint a log that fails verification: {report.problems[0]}")
            leaves = _leaves(conn)
            head = TreeHead(
                tree_size=len(leaves),
                root_hash=merkle.root_from_leaf_hashes(leaves).hex(),
                at=timestamp(self._clock()),
                key_id=self._signer.key_id,
            )
            signature = self._signer.sign(head)
            new_id = conn.execute(
                audit_checkpoints.insert().values(
                    tree_size=head.tree_size,
                    root_hash=head.root_hash,
                    at=head.at,
                    key_id=head.key_id,
                    signature=signature,
                )
            ).inserted_primary_key
            assert new_id is not None
            return Checkpoint(int(new_id[0]), head, signature)

    def verify(self, public_key: Ed25519PublicKey | None = None) -> Report:
        with self._engine.connect() as conn:
            return self._verify(conn, public_key or self.public_key)

    def _verify(self, conn: Connection, public_key: Ed25519PublicKey) -> Report:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.entry_hash).where(audit_head.c.id == 1)).one()
        rows = conn.execute(select(audit_entries).order_by(audit_entries.c.seq))
        entries = (from_row(r._mapping) for r in rows)
        return verify_log(entries, _checkpoints(conn), (int(head.seq), head.entry_hash), public_key)

    def checkpoints(self) -> list[Checkpoint]:
        with self._engine.connect() as conn:
            return _checkpoints(conn)

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_entries)).scalar_one())

    def get(self, seq: int) -> AuditEntry:
        with self._engine.connect() as conn:
            row = conn.execute(select(audit_entries).where(audit_entries.c.seq == seq)).first()
        if row is None:
            raise NotFoundError(f"no audit entry {seq}")
        return from_row(row._mapping)

    def tail(self, limit: int = 20) -> list[AuditEntry]:
        query = select(audit_entries).order_by(audit_entries.c.seq.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [from_row(r._mapping) for r in reversed(list(conn.execute(query)))]

    def for_object(self, object_type: str, object_id: str) -> list[AuditEntry]:
        """Who touched this object, oldest first (itself a read that callers may wish to audit)."""
        query = (
            select(audit_entries)
            .where(audit_entries.c.object_type == object_type, audit_entries.c.object_id == object_id)
            .order_by(audit_entries.c.seq)
        )
        with self._engine.connect() as conn:
            return [from_row(r._mapping) for r in conn.execute(query)]

    def prove_inclusion(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        with self._engine.connect() as conn:
            leaves = _leaves(conn)
        size = len(leaves) if tree_size is None else tree_size
        if not 1 <= seq <= size <= len(leaves):
            raise UsageError(f"cannot prove entry {seq} in a tree of {size}: the log holds {len(leaves)} entries")
        return build_inclusion(leaves, seq, size)

    def prove_consistency(self, first: int, second: int) -> ConsistencyProof:
        with self._engine.connect() as conn:
            leaves = _leaves(conn)
        if not 0 <= first <= second <= len(leaves):
            raise UsageError(f"cannot prove {first} -> {second}: sizes must satisfy 0 <= from <= to <= {len(leaves)}")
        return build_consistency(leaves, first, second)


def _leaves(conn: Connection) -> list[bytes]:
    rows = conn.execute(select(audit_entries.c.seq, audit_entries.c.entry_hash).order_by(audit_entries.c.seq))
    leaves = []
    for seq, digest in rows:
        try:
            leaves.append(merkle.leaf_hash(bytes.fromhex(digest)))
        except ValueError:
            raise IntegrityError(f"entry {seq}: stored hash is not hex; run `watchhouse audit verify`") from None
    return leaves


def _checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id))
    return [
        Checkpoint(
            id=int(r.id),
            head=TreeHead(tree_size=int(r.tree_size), root_hash=r.root_hash, at=r.at, key_id=r.key_id),
            signature=r.signature,
        )
        for r in rows
    ]
