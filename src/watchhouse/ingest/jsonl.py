"""ECS-style JSON lines: nested or dotted keys, one event per line, datasets mixed freely.

Parsing is per line (orjson), then values are gathered column-wise per dataset so each chunk
becomes at most one Arrow table per dataset. A row that cannot be typed is quarantined whole:
a half-converted event would mislead a detector more than a missing one.

Per line only the values are converted: what a key set means (dataset, kept fields and their
kinds, unknown fields) is planned once per key set, and timestamp texts, which neighbouring lines
share, are parsed once each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, SCHEMAS, TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.fields import (
    DATASET_VALUES,
    FIELD_KINDS,
    PROVENANCE,
    FieldError,
    convert,
    dataset_of,
    parse_timestamp,
)
from watchhouse.ingest.source import LineChunk

# Fields whose value is an object by design: kept as JSON text instead of being flattened.
OBJECT_FIELDS = frozenset({"http.request.headers"})
_IGNORED = PROVENANCE | {"event.dataset"}


def flatten(obj: Mapping[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"source": {"ip": x}}`` and ``{"source.ip": x}`` both become ``{"source.ip": x}``."""
    if out is None:
        for key, value in obj.items():
            if type(value) is dict and value and key not in OBJECT_FIELDS:
                break
        else:  # already flat (objects only where kept whole): the common case for dotted-key producers
            return obj if type(obj) is dict else dict(obj)
    flat: dict[str, Any] = {} if out is None else out
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict) and name not in OBJECT_FIELDS and value:
            flatten(value, name + ".", flat)
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the rows of one key set become records, worked out once per key set.

    Why: producers repeat one key set line after line, so which dataset a row belongs to, which of
    its fields the schema keeps (and as what kind) and which it does not know are answered once,
    leaving per row only the conversion of the values themselves.
    """

    dataset: Dataset | None
    fields: tuple[tuple[str, str], ...]  # (name, kind) of every field the dataset's schema keeps
    unknown: tuple[str, ...]  # fields no schema of the dataset knows (counted, not kept)
    has_timestamp: bool

    @classmethod
    def of(cls, flat: Mapping[str, object], forced: Dataset | None) -> _Plan:
        dataset = dataset_of(flat, forced)
        if dataset is None:
            return cls(None, (), (), False)
        kinds = FIELD_KINDS[dataset]
        kept = tuple((name, kinds[name]) for name in flat if name in kinds and name not in _IGNORED)
        unknown = tuple(name for name in flat if name not in kinds and name not in _IGNORED)
        return cls(dataset, kept, unknown, TIMESTAMP_FIELD in flat)


#: key sets planned per source (producers use a handful; a flood of odd ones is parsed unplanned)
_PLAN_ENTRIES = 4096
#: distinct timestamp texts remembered per source: log lines share their second with their neighbours
_STAMP_CACHE_ENTRIES = 4096


def _table(dataset: Dataset, records: list[dict[str, object]], rows: list[int], chunk: LineChunk) -> pa.Table:
    index = np.asarray(rows, dtype=np.int64)
    schema = pa.schema([f for f in SCHEMAS[dataset] if f.name not in (LINE_FIELD, OFFSET_FIELD, "log.file.path")])
    table = pa.Table.from_pylist(records, schema=schema)  # one C-level pass instead of per-field lists
    table = table.append_column(LINE_FIELD, pa.array(index + chunk.first_line, type=pa.int64()))
    return table.append_column(OFFSET_FIELD, pa.array(chunk.starts[index] + chunk.offset, type=pa.int64()))


class JsonLinesParser:
    def __init__(self, dataset: Dataset | None, field_map: Mapping[str, str]) -> None:
        self._dataset = dataset
        self._field_map = dict(field_map)
        # Producers repeat the same key set line after line: plan each key set once.
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._tagged: dict[tuple[tuple[str, ...], str], _Plan] = {}  # lines naming their event.dataset
        self._stamps: dict[str, int] = {}

    def parse(self, chunk: LineChunk) -> ParseResult:
        result = ParseResult()
        records: dict[Dataset, tuple[list[dict[str, object]], list[int]]] = {}
        unknown: Counter[str] = Counter()
        for index, line in enumerate(chunk.lines()):
            if not line or line.isspace():  # isspace stops at the first other byte; strip copies
                result.blank += 1
                continue
            try:
                dataset, record = self._record(line, unknown)
            except FieldError as exc:
                result.reject(chunk, index, str(exc))
                continue
            bucket = records.get(dataset)
            if bucket is None:
                bucket = records[dataset] = ([], [])
            bucket[0].append(record)
            bucket[1].append(index)
        for dataset, (rows_of, indices) in records.items():
            result.tables.append((dataset, _table(dataset, rows_of, indices, chunk)))
        result.unknown_fields = dict(unknown)
        return result

    def _record(self, line: bytes, unknown: Counter[str]) -> tuple[Dataset, dict[str, object]]:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FieldError(f"malformed JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise FieldError(f"not a JSON object but {type(obj).__name__}")
        flat = flatten(obj)
        if self._field_map:
            flat = {self._field_map.get(k, k): v for k, v in flat.items()}
        plan = self._plan(flat)
        if plan.dataset is None:
            raise FieldError("cannot tell the dataset: set event.dataset or choose one with --dataset")
        if not plan.has_timestamp:
            raise FieldError(f"missing {TIMESTAMP_FIELD}")
        record: dict[str, object] = {}
        for name, kind in plan.fields:
            value = flat[name]
            if value is None or (kind == "str" and type(value) is str):
                record[name] = value
            elif kind == "ts" and type(value) is str:
                record[name] = self._timestamp(value)
            else:
                record[name] = convert(name, kind, value)
        if record[TIMESTAMP_FIELD] is None:
            raise FieldError(f"missing {TIMESTAMP_FIELD}")
        for name in plan.unknown:  # counted for the rows that become events
            unknown[name] += 1
        return plan.dataset, record

    def _plan(self, flat: dict[str, object]) -> _Plan:
        named = flat.get("event.dataset")
        if named is not None:  # the dataset is a value here: plan per key set and named dataset
            if not (isinstance(named, str) and named in DATASET_VALUES):
                return _Plan.of(flat, self._dataset)
            tagged = (tuple(flat), named)
            plan = self._tagged.get(tagged)
            if plan is None:
                plan = _Plan.of(flat, self._dataset)
                if len(self._tagged) < _PLAN_ENTRIES:
                    self._tagged[tagged] = plan
            return plan
        shape = tuple(flat)
        plan = self._plans.get(shape)
        if plan is None:
            plan = _Plan.of(flat, self._dataset)
            # no dataset from the keys alone may still be one from the values (event.category says
            # "authentication"): only a found dataset is a property of the key set
            if plan.dataset is not None and len(self._plans) < _PLAN_ENTRIES:
                self._plans[shape] = plan
        return plan

    def _timestamp(self, text: str) -> int:
        """``parse_timestamp`` remembered per text (an invalid one raises every time)."""
        stamp = self._stamps.get(text)
        if stamp is None:
            stamp = parse_timestamp(text)
            if len(self._stamps) >= _STAMP_CACHE_ENTRIES:
                self._stamps.clear()
            self._stamps[text] = stamp
        return stamp
