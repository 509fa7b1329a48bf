"""Build event batches for tests without going through a reader.

Provenance is filled in automatically (a fake path and 1-based line numbers) unless given, so
every factory-made row can still be referenced from a finding's evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from watchhouse.core.events import LINE_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch, field_names

BASE_TIME = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def make_batch(
    dataset: Dataset,
    rows: Sequence[Mapping[str, Any]],
    *,
    path: str = "samples/test.log",
    first_line: int = 1,
) -> EventBatch:
    """A batch from dict rows keyed by ECS field name; missing fields are null.

    Rows without ``@timestamp`` get one second apart from :data:`BASE_TIME`.
    """
    names = field_names(dataset)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for i, row in enumerate(rows):
        unknown = set(row) - set(names)
        if unknown:
            raise KeyError(f"fields not in {dataset}: {sorted(unknown)}")
        for name in names:
            columns[name].append(row.get(name))
        if columns[TIMESTAMP_FIELD][-1] is None:
            columns[TIMESTAMP_FIELD][-1] = BASE_TIME + timedelta(seconds=i)
        if columns[PATH_FIELD][-1] is None:
            columns[PATH_FIELD][-1] = path
        if columns[LINE_FIELD][-1] is None:
            columns[LINE_FIELD][-1] = first_line + i
    return EventBatch.from_columns(dataset, columns)


def split_batch(batch: EventBatch, size: int) -> list[EventBatch]:
    """Cut a batch into consecutive pieces of ``size`` rows (the last may be shorter)."""
    return [batch.slice(start, size) for start in range(0, max(batch.num_rows, 1), size)]
