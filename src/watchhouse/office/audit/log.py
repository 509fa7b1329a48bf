"""The AuditLog service: the one way office features record what happened and who did it.

Appends are serialised on the database's write lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ...
FOR UPDATE`` of the single ``audit_head`` row on PostgreSQL), so two writers can never both build
on the same predecessor and fork the chain. Callers that change office data pass their own
write-locked connection (see :meth:`AuditLog.transaction`) so the change and its audit entry
commit or roll back together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.audit import merkle
from watchhouse.office.audit.chain import AuditChain
from watchhouse.office.audit.entries import Action, AuditEntry, ObjectType, from_row, timestamp
from watchhouse.office.audit.keyring import Keyring, KeyStore
from watchhouse.office.audit.proofs import ConsistencyProof, InclusionProof, build_consistency, build_inclusion
from watchhouse.office.audit.rotation import rotation_details
from watchhouse.office.audit.signing import Signer, TreeHead, signature_valid
from watchhouse.office.audit.tables import audit_checkpoints, audit_entries, audit_head
from watchhouse.office.audit.tip import SignState, Tip
from watchhouse.office.audit.verify import Checkpoint, Report, verify_log
from watchhouse.office.audit.witness import SignedHead, Witness, publish, read_witness
from watchhouse.office.errors import IntegrityError, NotFoundError
from watchhouse.storage.engine import WRITE_LOCK

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


DEFAULT_CHECKPOINT_EVERY = 128
"""Entries between automatic checkpoints in an office opened by ``open_office`` (ADR 0010).

At most this many entries are ever covered by the chain and head row alone; a checkpoint taken
this way costs a read of the entries since the previous one, not of the whole log."""

_log = logging.getLogger(__name__)


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        clock: Clock = _now,
        *,
        keys: KeyStore | None = None,
        witness: Path | None = None,
        checkpoint_every: int | None = None,
    ) -> None:
        """``keys`` follows rotations and holds the keyring; ``witness`` receives every signed head;
        ``checkpoint_every`` signs a checkpoint after that many unsigned entries (``None``: only
        when :meth:`checkpoint` is called)."""
        if checkpoint_every is not None and checkpoint_every < 1:
            raise UsageError("checkpoint_every must be at least 1")
        self._engine = engine
        self._given_signer = signer
        self._keys = keys
        self._clock = clock
        self.witness_file = witness
        self._every = checkpoint_every
        self._state = SignState()

    @property
    def _signer(self) -> Signer:
        return self._keys.signer() if self._keys is not None else self._given_signer

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._signer.public_key

    def keyring(self) -> Keyring:
        """Every key whose checkpoints count: the keyring file's, or just the signing key."""
        return self._keys.keyring() if self._keys is not None else Keyring.of(self._signer.public_key)

    def derive_key(self, label: str) -> bytes:
        """A key for another purpose derived from the signing key (see :meth:`Signer.derive_key`)."""
        return self._signer.derive_key(label)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection whose transaction already holds the write lock appends need.

        Once it has committed, a checkpoint falls due after ``checkpoint_every`` unsigned entries
        and is taken then, never inside the caller's transaction: a head must not reach the
        witness file for entries a rollback could still take back.
        """
        with self._engine.connect().execution_options(**WRITE_LOCK) as conn, conn.begin():
            yield conn
        if self._state.due:
            self._auto_checkpoint()

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

    def chain(self, conn: Connection) -> AuditChain:
        """Entries appended in the caller's write-locked transaction, stored together by ``write``."""
        return AuditChain(conn, self._clock, on_written=self._written)

    def _written(self, conn: Connection, seq: int) -> None:
        if self._every is not None and seq - self._state.signed_size(conn) >= self._every:
            self._state.due = True

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
        chain = self.chain(conn)
        entry = chain.add(actor, action, object_type, object_id, purpose, details)
        chain.write()
        return entry

    def checkpoint(self) -> Checkpoint:
        """Sign the tree head over every entry so far, after re-checking what it will vouch for.

        Signing a tampered log would bless the tampering, so the whole log is verified first (the
        witnessed heads included) and the checkpoint is refused when anything fails. The signed
        head then goes to the witness file, after the commit.
        """
        with self._state.lock:
            with self.transaction() as conn:
                report = self._verify(conn, self.keyring(), self._witnesses(()))
                if not report.ok:
                    raise IntegrityError(f"refusing to checkpoint a log that fails verification: {report.problems[0]}")
                made = self._sign(conn, Tip.of(_leaves(conn), _head(conn)[1]))
            self._publish(made)
            return made

    def _auto_checkpoint(self) -> None:
        """The cheap checkpoint: only entries after the last one this process signed are re-read.

        The prefix is vouched for by the cached frontier (whose root was signed) and by the
        checks on the new entries' chain; anything else falls back to :meth:`checkpoint`.
        Failures are logged, not raised: the caller's change has already committed.
        """
        state = self._state
        try:
            with state.lock:
                state.due = False
                with self.transaction() as conn:
                    head_seq, head_hash = _head(conn)
                    if self._every is None or head_seq - state.signed_size(conn, fresh=True) < self._every:
                        return  # another process signed meanwhile
                    start = self._known_tip(conn)
                    tip = start.extend(conn) if start is not None else None
                    if tip is None or (tip.size, tip.last_hash) != (head_seq, head_hash):
                        tip = None
                    made = self._sign(conn, tip) if tip is not None else None
            if made is None:
                self.checkpoint()
            else:
                self._publish(made)
        except (IntegrityError, SQLAlchemyError, InputError, OSError) as exc:
            _log.warning("automatic audit checkpoint not taken: %s", exc)

    def rotate_key(self, actor: str) -> tuple[AuditEntry, Checkpoint]:
        """Put a new signing key to work; return the rotation entry and the new key's first checkpoint.

        In one transaction the log is verified, the rotation entry (signed by both keys) is
        appended and the outgoing key signs its last checkpoint over it. Only after that commits
        is the keyring written (old key retired at that size) and the new private key moved over
        the old one, which is thereby destroyed. The new key then signs a checkpoint of the same
        size: the hand-over is vouched for under both keys.
        """
        if self._keys is None:
            raise UsageError("this audit log was opened without its key files; cannot rotate the signing key")
        keys = self._keys
        with self._state.lock:
            old, new = keys.signer(), Signer(Ed25519PrivateKey.generate())
            staged = keys.stage(new)
            try:
                with self.transaction() as conn:
                    report = self._verify(conn, self.keyring(), self._witnesses(()))
                    if not report.ok:
                        raise IntegrityError(f"refusing to rotate keys over a log that fails: {report.problems[0]}")
                    details = rotation_details(old, new, timestamp(self._clock()))
                    entry = self._append(
                        conn, actor, Action.ROTATE_KEY, ObjectType.AUDIT, new.key_id, "signing key rotation", details
                    )
                    last_old = self._sign(conn, Tip.of(_leaves(conn), entry.entry_hash), old)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
            keys.install(staged, self.keyring().with_rotation(old.public_key, new.public_key, entry.seq, entry.at))
            self._publish(last_old)
            return entry, self.checkpoint()

    def warm_up(self) -> None:
        """Seed this process's signing tip from the newest checkpoint now (a server's start-up).

        Otherwise the first automatic checkpoint after a start rebuilds it from every stored
        entry hash while holding the write lock (0.3-0.4 s of CPU at 50,000 entries, growing with
        the log), and every request that appends an audit entry meanwhile waits behind it.
        """
        with self._state.lock, self._engine.connect() as conn:
            self._known_tip(conn)

    def _known_tip(self, conn: Connection) -> Tip | None:
        """This process's tip, seeded from the newest valid checkpoint when it has none yet (caller
        holds the state lock)."""
        if self._state.tip is None:
            tip = self._signed_tip(conn)
            if tip is not None:
                self._state.signed(tip)
        return self._state.tip

    def _signed_tip(self, conn: Connection) -> Tip | None:
        """The tip at the newest checkpoint, rebuilt from the stored entry hashes, when they give
        exactly the root that checkpoint signed with a key of the keyring; else ``None``.

        Why: a freshly started process has no tip, and its first automatic checkpoint used to
        re-verify the whole log (seconds on a big one, a latency spike for whoever appended the
        due entry). Matching a valid signed root vouches for the prefix as much as a tip this
        process signed itself; only the entries after it are then re-read and re-hashed.
        """
        newest = conn.execute(
            select(audit_checkpoints).order_by(audit_checkpoints.c.tree_size.desc(), audit_checkpoints.c.id.desc())
        ).first()
        if newest is None:
            return None
        head = TreeHead(tree_size=int(newest.tree_size), root_hash=newest.root_hash, at=newest.at, key_id=newest.key_id)
        known = self.keyring().get(head.key_id)
        if known is None or (known.retired_after is not None and head.tree_size > known.retired_after):
            return None
        if not signature_valid(known.public_key, head, newest.signature):
            return None
        rows = conn.execute(
            select(audit_entries.c.seq, audit_entries.c.entry_hash)
            .where(audit_entries.c.seq <= head.tree_size)
            .order_by(audit_entries.c.seq)
        ).all()
        if len(rows) != head.tree_size or any(int(seq) != i for i, (seq, _) in enumerate(rows, start=1)):
            return None
        try:
            tip = Tip.of([merkle.leaf_hash(bytes.fromhex(digest)) for _, digest in rows], str(rows[-1][1]))
        except ValueError:
            return None
        return tip if tip.root().hex() == head.root_hash else None

    def _sign(self, conn: Connection, tip: Tip, signer: Signer | None = None) -> Checkpoint:
        signer = signer or self._signer
        head = TreeHead(
            tree_size=tip.size, root_hash=tip.root().hex(), at=timestamp(self._clock()), key_id=signer.key_id
        )
        signature = signer.sign(head)
        new_id = conn.execute(
            audit_checkpoints.insert().values(
                tree_size=head.tree_size, root_hash=head.root_hash, at=head.at, key_id=head.key_id, signature=signature
            )
        ).inserted_primary_key
        assert new_id is not None
        self._state.signed(tip)
        return Checkpoint(int(new_id[0]), head, signature)

    def _publish(self, made: Checkpoint) -> None:
        if self.witness_file is not None:
            try:
                publish(self.witness_file, SignedHead(made.head, made.signature))
            except OSError as exc:  # the checkpoint stands; verify will warn that it is unwitnessed
                _log.warning("checkpoint %s not written to the witness %s: %s", made.id, self.witness_file, exc)

    def heads(self, since: int = 0) -> list[SignedHead]:
        """Signed heads over more than ``since`` entries, oldest first, for publication elsewhere."""
        return [SignedHead(c.head, c.signature) for c in self.checkpoints() if c.head.tree_size > since]

    def verify(self, public_key: Ed25519PublicKey | Keyring | None = None, *, heads: Sequence[Witness] = ()) -> Report:
        """Verify everything; ``heads`` are witnesses kept elsewhere, checked with the home's own."""
        keys = public_key if public_key is not None else self.keyring()
        with self._engine.connect() as conn:
            return self._verify(conn, keys, self._witnesses(heads))

    def _witnesses(self, extra: Sequence[Witness]) -> list[Witness]:
        own = [read_witness(self.witness_file, complete=True)] if self.witness_file is not None else []
        return [*own, *extra]

    def _verify(self, conn: Connection, keys: Ed25519PublicKey | Keyring, witnesses: Sequence[Witness]) -> Report:
        head = _head(conn)
        rows = conn.execute(select(audit_entries).order_by(audit_entries.c.seq))
        entries = (from_row(r._mapping) for r in rows)
        return verify_log(entries, _checkpoints(conn), head, keys, witnesses)

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


def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(select(audit_head.c.seq, audit_head.c.entry_hash).where(audit_head.c.id == 1)).one()
    return int(row.seq), str(row.entry_hash)


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
