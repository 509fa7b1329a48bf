"""Appending many audit entries in one transaction: one head read, one insert, one head update.

Appending entry by entry reads and rewrites the chain head once per entry; a group commit of
fifty portal submissions (each with an evidence entry and a report entry) would do that a
hundred times under the write lock. :class:`AuditChain` takes the head once, under the lock
:meth:`AuditLog.transaction` holds, links each new entry to the previous one in memory, and
writes them all at the end. :meth:`AuditLog.append` is a chain of one, so both paths build
entries the same way and the result is one chain, whichever wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import AuditEntry, body_bytes, entry_body, from_row, hash_body, timestamp
from watchhouse.office.audit.tables import audit_entries, audit_head

_ROW_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "purpose")


class AuditChain:
    """Entries built on the head this transaction locked; nothing is stored until :meth:`write`.

    ``conn`` must be a write-locked transaction (``AuditLog.transaction``); the head row is read
    ``FOR UPDATE`` so PostgreSQL writers queue here. Get one from :meth:`AuditLog.chain`, which
    also schedules the automatic checkpoint once the entries are written.
    """

    def __init__(
        self,
        conn: Connection,
        clock: Callable[[], datetime],
        on_written: Callable[[Connection, int], None] | None = None,
    ) -> None:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
        self._conn = conn
        self._clock = clock
        self._on_written = on_written
        self._seq = int(head.seq)
        self._hash: str = head.entry_hash
        self._rows: list[dict[str, Any]] = []

    def add(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None = None,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """The next entry of the chain (its ``seq`` is final; it is stored by :meth:`write`)."""
        if not actor or not action or not object_type:
            raise UsageError("an audit entry needs an actor, an action and an object type")
        body = entry_body(
            seq=self._seq + 1,
            at=timestamp(self._clock()),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            purpose=purpose,
            details=details or {},
            prev_hash=self._hash,
        )
        digest = hash_body(body)
        row = {k: body[k] for k in _ROW_FIELDS}
        # the stored details: the same canonical bytes, by the C encoder where that is byte-identical
        row.update(details=body_bytes(body["details"]).decode("utf-8"), prev_hash=self._hash, entry_hash=digest)
        self._rows.append(row)
        self._seq, self._hash = body["seq"], digest
        return from_row(row)

    def write(self) -> int:
        """Store the entries added so far and move the head past them; returns how many."""
        rows, self._rows = self._rows, []
        if rows:
            self._conn.execute(audit_entries.insert(), rows)
            self._conn.execute(
                update(audit_head).where(audit_head.c.id == 1).values(seq=self._seq, entry_hash=self._hash)
            )
            if self._on_written is not None:
                self._on_written(self._conn, self._seq)
        return len(rows)
