"""The right edge of the log as this process last signed it, so the next checkpoint is cheap.

A full checkpoint re-verifies every entry (O(n)); taken every few hundred appends that would
make a big log quadratic. The tip keeps the Merkle frontier (O(log n) hashes) at the size last
signed, so the next checkpoint reads only the entries appended since, checks that they hash to
their stored hashes and chain onto the tip, and signs the extended root. Nothing about the
prefix is newly vouched for: its root was already signed, so a later edit there still fails
``verify`` against that older checkpoint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from watchhouse.office.audit import merkle
from watchhouse.office.audit.entries import GENESIS, from_row
from watchhouse.office.audit.tables import audit_checkpoints, audit_entries


@dataclass(frozen=True)
class Tip:
    size: int
    last_hash: str
    frontier: merkle.Frontier

    @classmethod
    def of(cls, leaves: list[bytes], last_hash: str) -> Tip:
        frontier = merkle.Frontier()
        for leaf in leaves:
            frontier.append(leaf)
        return cls(len(leaves), last_hash, frontier)

    def root(self) -> bytes:
        return self.frontier.root()

    def extend(self, conn: Connection) -> Tip | None:
        """This tip grown by the entries stored after it, or ``None`` when they do not extend it
        cleanly (the entry at the tip changed, a gap, a broken link, a hash that does not match)."""
        if self.size:
            at_tip = conn.execute(
                select(audit_entries.c.entry_hash).where(audit_entries.c.seq == self.size)
            ).scalar_one_or_none()
        else:
            at_tip = GENESIS
        if at_tip != self.last_hash:
            return None
        frontier = self.frontier.copy()
        size, last = self.size, self.last_hash
        query = select(audit_entries).where(audit_entries.c.seq > self.size).order_by(audit_entries.c.seq)
        for row in conn.execute(query):
            entry = from_row(row._mapping)
            try:
                intact = entry.computed_hash() == entry.entry_hash
            except ValueError:
                intact = False
            if entry.seq != size + 1 or entry.prev_hash != last or not intact:
                return None
            frontier.append(merkle.leaf_hash(bytes.fromhex(entry.entry_hash)))
            size, last = entry.seq, entry.entry_hash
        return Tip(size, last, frontier)


class SignState:
    """What one process knows about signing: the lock, whether a checkpoint is due, the tip."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.due = False
        self.tip: Tip | None = None
        self._signed: int | None = None

    def signed_size(self, conn: Connection, *, fresh: bool = False) -> int:
        """Size of the newest checkpoint (cached; ``fresh`` re-reads it, another process may sign)."""
        if self._signed is None or fresh:
            newest = select(func.coalesce(func.max(audit_checkpoints.c.tree_size), 0))
            self._signed = int(conn.execute(newest).scalar_one())
        return self._signed

    def signed(self, tip: Tip) -> None:
        self.tip, self._signed = tip, tip.size
