"""Where a run's alerts go: the office database, a JSON-lines file, or both."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

import orjson

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError
from watchhouse.core.finding_rows import AlertBatch
from watchhouse.storage.alert_store import AlertStore


class AlertSink(Protocol):
    def write(self, alerts: Sequence[Alert]) -> None: ...

    def close(self) -> None: ...


class JsonlAlertSink:
    """One alert per line, flat and self-describing, for pipelines and ``watchhouse eval``."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] = path.open("wb")
        except OSError as exc:
            raise InputError(f"cannot write alerts: {exc.strerror}", path=str(path)) from exc
        self.path = path
        self.written = 0

    def write(self, alerts: Sequence[Alert]) -> None:
        """Write a batch's lines a few hundred at a time. Why not a call per line: that cost about
        2 of the 10-12 µs an alert's line took (the buffered writer's bookkeeping, and a system call
        every few kilobytes), and nine in ten of the CRS requests ``bench/modsec_compare.py`` sends
        are flagged. Why not the whole batch in one call: see :meth:`AlertBatch.json_chunks`."""
        if not alerts:
            return
        # alerts still held as rows are written from the rows; any other sequence as objects
        batch = alerts if isinstance(alerts, AlertBatch) else AlertBatch([list(alerts)])
        write = self._file.write
        for chunk in batch.json_chunks():  # written piece by piece: see AlertBatch.json_chunks
            write(chunk)
        self._file.flush()  # a live scan's alerts must be visible to `tail -f` as they happen
        self.written += len(alerts)

    def close(self) -> None:
        self._file.close()


class StoreAlertSink:
    """Upserts into the office database; ``new`` counts alerts not already stored."""

    def __init__(self, store: AlertStore, scan_id: str) -> None:
        self._store = store
        self._scan_id = scan_id
        self.new = 0

    def write(self, alerts: Sequence[Alert]) -> None:
        self.new += self._store.save(alerts, scan_id=self._scan_id)

    def close(self) -> None:
        return None


def read_alerts_jsonl(path: Path) -> list[Alert]:
    """Load alerts written by :class:`JsonlAlertSink`, naming the line of any bad record."""
    alerts = []
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    alerts.append(Alert.from_dict(orjson.loads(line)))
                except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
                    raise InputError(f"not an alert record: {exc}", path=str(path), line=number) from exc
    except OSError as exc:
        raise InputError(f"cannot read alerts: {exc.strerror}", path=str(path)) from exc
    return alerts
