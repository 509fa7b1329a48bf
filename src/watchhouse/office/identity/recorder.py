"""Feeding the vault from ingest without slowing scans.

:class:`VaultRecorder` is the ``on_mapping`` hook of :class:`watchhouse.core.identity.Pseudonymizer`:
the pseudonymizer already computes each batch's *distinct* identifiers, so the hook receives a
small dict per batch. The recorder drops pairs it has already sent (a bounded memory of recent
pseudonyms), buffers the rest and writes them in one batched insert every ``batch_size`` new
identities and at :meth:`flush`/:meth:`close` — a handful of transactions per scan, not one per row.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from types import TracebackType

from watchhouse.office.identity.vault import IdentityVault


class VaultRecorder:
    def __init__(self, vault: IdentityVault, batch_size: int = 5_000, remember: int = 200_000) -> None:
        self._vault = vault
        self._batch_size = batch_size
        self._remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[str, str] = {}
        self.recorded = 0

    def __call__(self, mapping: Mapping[str, str]) -> None:
        for identifier, pseudonym in mapping.items():
            if pseudonym in self._seen:
                self._seen.move_to_end(pseudonym)
                continue
            self._pending[identifier] = pseudonym
            self._seen[pseudonym] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        if len(self._pending) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, {}
            self.recorded += self._vault.record(pending)

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> VaultRecorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
