"""Group commit: many callers, one transaction, one disk sync, and nobody answered before it.

With ``synchronous=FULL`` every commit waits for the write-ahead log to reach the disk, and the
write lock is held while it does; committing each submission alone caps the portal at one
submission per sync. Here each caller queues its work and blocks. Whichever caller finds no
commit in progress becomes the leader: it takes everything queued (up to ``max_batch``), writes
it all in one write-locked transaction, commits, and only then wakes the callers, each with its
own result. A caller therefore returns only once its work is durable, exactly as with one
transaction per caller; only the number of syncs changes.

If the batch's transaction fails, it rolls back as a whole and each item is retried alone, so
one bad item fails only its own caller. There is no background thread: the leader is always a
caller that is waiting anyway, so nothing needs starting or stopping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Pending(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


@dataclass
class GroupCommit(Generic[T, R]):
    """Run ``write(conn, items) -> results`` (one result per item, same order) in shared transactions.

    ``begin`` opens a write-locked transaction (``AuditLog.transaction``) that commits when its
    block ends without an exception.
    """

    begin: Callable[[], AbstractContextManager[Connection]]
    write: Callable[[Connection, list[T]], list[R]]
    max_batch: int = 64
    _queue: list[_Pending[T, R]] = field(default_factory=list)
    _busy: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def run(self, item: T) -> R:
        """``item`` written and committed (possibly with others'); its result, or its error raised."""
        pending: _Pending[T, R] = _Pending(item)
        with self._cond:
            self._queue.append(pending)
            while not pending.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                self._cond.release()
                try:
                    self._commit(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]  # set with done unless error is

    def _commit(self, batch: list[_Pending[T, R]]) -> None:
        try:
            try:
                self._write_all(batch)
            except Exception as exc:  # rolled back as a whole: find the culprit item by item
                if len(batch) == 1:
                    batch[0].error, batch[0].done = exc, True
                    return
                for pending in batch:
                    try:
                        self._write_all([pending])
                    except Exception as own:  # handed to that item's caller only
                        pending.error, pending.done = own, True
        finally:
            for pending in batch:  # interrupted (KeyboardInterrupt...): no caller may wait forever
                if not pending.done:
                    pending.error, pending.done = RuntimeError("the commit was interrupted"), True

    def _write_all(self, batch: list[_Pending[T, R]]) -> None:
        with self.begin() as conn:
            results = self.write(conn, [p.item for p in batch])
        for pending, result in zip(batch, results, strict=True):
            pending.result, pending.done = result, True
