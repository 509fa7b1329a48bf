"""ECS-style JSON lines: nested or dotted keys, one event per line, datasets mixed freely.

A chunk is read column-wise: every line is parsed (orjson), objects sharing a key set are flattened
together (:mod:`~watchhouse.ingest.jsonl_shapes`), split by dataset, and each field's values become
one Arrow array in a single pass (:mod:`~watchhouse.ingest.jsonl_convert`). What a key set means
(dataset, kept fields and their kinds, unknown fields) is planned once per key set.

The per-line path (:meth:`JsonLinesParser.parse_by_line`) stays the reference: every line the
columns cannot vouch for (malformed JSON, a value that does not convert, an odd shape, a key set
too rare to group) goes through it, so reasons for quarantine are its own. A row that cannot be
typed is quarantined whole: a half-converted event would mislead a detector more than a missing one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from watchhouse._native import jsonl as native_jsonl
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, SCHEMAS, TIMESTAMP_FIELD, Dataset
from watchhouse.core.gc_pause import paused_gc
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.fields import (
    DATASET_VALUES,
    FIELD_KINDS,
    PROVENANCE,
    FieldError,
    auth_by_values,
    convert,
    dataset_of,
    infer_dataset,
    parse_timestamp,
    values_decide,
)
from watchhouse.ingest.jsonl_convert import convert_column, value_types
from watchhouse.ingest.jsonl_shapes import OBJECT_FIELDS, FlatGroup, batch_groups
from watchhouse.ingest.source import LineChunk

__all__ = ["OBJECT_FIELDS", "JsonLinesParser", "flatten"]

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
    positions: tuple[int, ...]  # where each kept field stands in the key set

    @classmethod
    def of(cls, flat: Mapping[str, object], forced: Dataset | None) -> _Plan:
        return cls.of_keys(tuple(flat), dataset_of(flat, forced))

    @classmethod
    def of_keys(cls, names: Sequence[str], dataset: Dataset | None) -> _Plan:
        if dataset is None:
            return cls(None, (), (), False, ())
        kinds = FIELD_KINDS[dataset]
        kept = [(at, name) for at, name in enumerate(names) if name in kinds and name not in _IGNORED]
        unknown = tuple(name for name in names if name not in kinds and name not in _IGNORED)
        fields = tuple((name, kinds[name]) for _, name in kept)
        return cls(dataset, fields, unknown, TIMESTAMP_FIELD in names, tuple(at for at, _ in kept))


#: key sets planned per source (producers use a handful; a flood of odd ones is parsed unplanned)
_PLAN_ENTRIES = 4096
#: the key a plan is remembered under (see ``JsonLinesParser._remembered``)
_K = TypeVar("_K", bound=Hashable)
#: distinct timestamp texts remembered per source: log lines share their second with their neighbours
_STAMP_CACHE_ENTRIES = 4096
#: a batch whose key sets average fewer lines than this is read line by line (grouping costs more)
_GROUP_MIN_ROWS = 16
#: lines parsed at a time before their values are taken out as columns
_BATCH_LINES = 1024
#: each dataset's fields as parsed: everything but provenance, which comes from the chunk
_BODIES: dict[Dataset, pa.Schema] = {
    d: pa.schema([f for f in SCHEMAS[d] if f.name not in (LINE_FIELD, OFFSET_FIELD, PATH_FIELD)]) for d in Dataset
}
_Rows = npt.NDArray[np.int64]


def _with_provenance(table: pa.Table, rows: _Rows, chunk: LineChunk) -> pa.Table:
    table = table.append_column(LINE_FIELD, pa.array(rows + chunk.first_line, type=pa.int64()))
    return table.append_column(OFFSET_FIELD, pa.array(chunk.starts[rows] + chunk.offset, type=pa.int64()))


def _loads(line: bytes) -> object:
    """The parsed line, or the bytes themselves where it is not JSON (the per-line path says why)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return line


def _partition(per_row: list[Dataset | None]) -> list[tuple[Dataset | None, list[int] | None]]:
    positions: dict[Dataset | None, list[int]] = {}
    for position, dataset in enumerate(per_row):
        positions.setdefault(dataset, []).append(position)
    if len(positions) == 1:
        return [(per_row[0], None)]
    return list(positions.items())


@dataclass(frozen=True, slots=True)
class _Part:
    """The rows of one key set and dataset in a batch, with the values of the fields kept."""

    at: _Rows  # positions in the batch, ascending
    unknown: tuple[str, ...]
    columns: dict[str, Sequence[Any]]


class _Merge:
    """One dataset's key sets of a batch put into line order, field by field.

    Why by values: one conversion per field, and a table already in line order. The compiled twin
    (:func:`watchhouse._native._jsonl.gather`) takes each value straight from its key set's column;
    the reference chains the columns and takes from the chain.
    """

    def __init__(self, parts: list[_Part], sort: _Rows) -> None:
        self._parts = parts
        self._order = sort
        if native_jsonl is not None:
            sizes = [len(part.at) for part in parts]
            owner = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
            starts = np.cumsum([0, *sizes[:-1]], dtype=np.int64)
            self._owner = owner[sort]
            self._within = (np.arange(len(owner), dtype=np.int64) - starts[owner])[sort]

    def values(self, name: str) -> Sequence[Any]:
        """The field's values of every part, in line order (None where a key set lacks it)."""
        if native_jsonl is not None:
            taken: list[Any] = native_jsonl.gather(
                [part.columns.get(name) for part in self._parts], self._owner, self._within
            )
            return taken
        joined = list(chain.from_iterable(part.columns.get(name, repeat(None, len(part.at))) for part in self._parts))
        return list(map(joined.__getitem__, self._order.tolist()))


class _Gathered:
    """What the rows of one chunk became so far, by dataset, with the unknown fields they carried."""

    def __init__(self) -> None:
        self.tables: dict[Dataset, list[tuple[_Rows, pa.Table]]] = {}
        self.unknown: list[tuple[int, tuple[str, ...], int]] = []  # (first row, names, rows)

    def finish(self, chunk: LineChunk, result: ParseResult) -> None:
        """Tables in line order, datasets in order of first line, unknown fields counted in line order."""
        firsts = {dataset: min(int(rows[0]) for rows, _ in parts) for dataset, parts in self.tables.items()}
        for dataset in sorted(self.tables, key=firsts.__getitem__):
            parts = self.tables[dataset]
            rows, table = parts[0]
            if len(parts) > 1:
                rows = np.concatenate([r for r, _ in parts])
                table = pa.concat_tables([t for _, t in parts])
                if np.any(rows[1:] < rows[:-1]):  # lines read one by one among the batches
                    order = np.argsort(rows, kind="stable")
                    rows, table = rows[order], table.take(order)
                table = table.combine_chunks()
            result.tables.append((dataset, _with_provenance(table, rows, chunk)))
        unknown: Counter[str] = Counter()
        for _, names, count in sorted(self.unknown, key=lambda entry: entry[0]):
            for name in names:
                unknown[name] += count
        result.unknown_fields = dict(unknown)


class JsonLinesParser:
    def __init__(
        self, dataset: Dataset | None, field_map: Mapping[str, str], *, group_min_rows: int = _GROUP_MIN_ROWS
    ) -> None:
        self._dataset = dataset
        self._field_map = dict(field_map)
        self._group_min_rows = group_min_rows
        # Producers repeat the same key set line after line: plan each key set once.
        self._plans: dict[tuple[str, ...], _Plan] = {}
        #: key sets whose dataset each event's values decide, and their plans per verdict
        self._by_values: set[tuple[str, ...]] = set()
        self._by_values_plans: dict[tuple[tuple[str, ...], bool], _Plan] = {}
        self._tagged: dict[tuple[tuple[str, ...], str], _Plan] = {}  # lines naming their event.dataset
        self._keyed: dict[tuple[tuple[str, ...], Dataset], _Plan] = {}  # key sets read as columns
        self._stamps: dict[str, int] = {}

    def parse(self, chunk: LineChunk) -> ParseResult:
        """Read the chunk as columns; lines the columns cannot vouch for are read one by one."""
        result = ParseResult()
        lines = chunk.lines()
        if b"" in lines or any(map(bytes.isspace, lines)):  # isspace stops at the first other byte
            kept = [i for i, line in enumerate(lines) if line and not line.isspace()]
            result.blank = len(lines) - len(kept)
            rows: _Rows = np.asarray(kept, dtype=np.int64)
            texts = [lines[i] for i in kept]
        else:
            rows, texts = np.arange(len(lines), dtype=np.int64), lines
        gathered = _Gathered()
        by_line: list[int] = []
        # parsed events hold no reference cycles (a fifth of the time on nested events went to
        # the collector walking them again and again)
        with paused_gc():
            for start in range(0, len(texts), _BATCH_LINES):
                batch = slice(start, start + _BATCH_LINES)
                self._batch(texts[batch], rows[batch], gathered, by_line)
        self._read_lines(chunk, lines, sorted(by_line), gathered, result)
        gathered.finish(chunk, result)
        return result

    def _batch(self, texts: list[bytes], rows: _Rows, gathered: _Gathered, by_line: list[int]) -> None:
        """Parse a batch of lines and read each key set's values as columns.

        Why batches: a few hundred parsed objects are still in the CPU cache when their values are
        taken out and converted, and are freed before the next batch; a chunk's worth is not.
        """
        try:
            parsed: list[Any] = list(map(orjson.loads, texts))
        except orjson.JSONDecodeError:
            parsed = list(map(_loads, texts))
        if value_types(parsed) != {dict}:
            objects = [type(value) is dict for value in parsed]
            by_line.extend(rows[np.logical_not(objects)].tolist())
            rows = rows[np.asarray(objects, dtype=bool)]
            parsed = [value for value in parsed if type(value) is dict]
        groups, unsure = batch_groups(parsed, self._group_min_rows)
        by_line.extend(rows[unsure].tolist())
        parts: dict[Dataset, list[_Part]] = {}
        for group in groups:
            self._plan_group(group, parts, by_line, rows)
        for dataset, of_dataset in parts.items():
            self._read_parts(dataset, of_dataset, rows, gathered, by_line)

    def parse_by_line(self, chunk: LineChunk) -> ParseResult:
        """The reference reading, one line at a time (what :meth:`parse` falls back to)."""
        result = ParseResult()
        lines = chunk.lines()
        kept = [i for i, line in enumerate(lines) if line and not line.isspace()]
        result.blank = len(lines) - len(kept)
        gathered = _Gathered()
        self._read_lines(chunk, lines, kept, gathered, result)
        gathered.finish(chunk, result)
        return result

    def _read_lines(
        self, chunk: LineChunk, lines: list[bytes], indices: list[int], gathered: _Gathered, result: ParseResult
    ) -> None:
        records: dict[Dataset, tuple[list[dict[str, object]], list[int]]] = {}
        for index in indices:
            unknown: list[str] = []
            try:
                dataset, record = self._record(lines[index], unknown)
            except FieldError as exc:
                result.reject(chunk, index, str(exc))
                continue
            bucket = records.get(dataset)
            if bucket is None:
                bucket = records[dataset] = ([], [])
            bucket[0].append(record)
            bucket[1].append(index)
            if unknown:
                gathered.unknown.append((index, tuple(unknown), 1))
        for dataset, (rows_of, at) in records.items():
            table = pa.Table.from_pylist(rows_of, schema=_BODIES[dataset])  # one C-level pass
            gathered.tables.setdefault(dataset, []).append((np.asarray(at, dtype=np.int64), table))

    def _plan_group(self, group: FlatGroup, parts: dict[Dataset, list[_Part]], by_line: list[int], rows: _Rows) -> None:
        """Split one key set's rows of a batch by dataset and plan each part (or leave it to lines)."""
        names = group.names
        if self._field_map:
            names = tuple(self._field_map.get(name, name) for name in names)
            if len(set(names)) < len(names):  # two fields mapped to one name: the later one wins
                by_line.extend(rows[group.rows].tolist())
                return
        for dataset, part in self._datasets(names, group.columns):
            at = group.rows if part is None else group.rows[part]
            if dataset is None:
                by_line.extend(rows[at].tolist())  # quarantined, with the reason the per-line path gives
                continue
            plan = self._keyed.get((names, dataset))
            if plan is None:
                plan = _Plan.of_keys(names, dataset)
                if len(self._keyed) < _PLAN_ENTRIES:
                    self._keyed[(names, dataset)] = plan
            if not plan.has_timestamp:
                by_line.extend(rows[at].tolist())
                continue
            columns = {
                name: group.columns[position] if part is None else list(map(group.columns[position].__getitem__, part))
                for (name, _), position in zip(plan.fields, plan.positions, strict=True)
            }
            parts.setdefault(dataset, []).append(_Part(at, plan.unknown, columns))

    def _read_parts(
        self, dataset: Dataset, parts: list[_Part], rows: _Rows, gathered: _Gathered, by_line: list[int]
    ) -> None:
        """Convert one dataset's rows of a batch, every field in one pass, in line order.

        The parts (key sets) are merged before conversion (:class:`_Merge`).
        """
        at = parts[0].at if len(parts) == 1 else np.concatenate([part.at for part in parts])
        order: _Rows | None = None
        merge: _Merge | None = None
        if len(parts) > 1:
            order = np.argsort(at, kind="stable")
            at, merge = at[order], _Merge(parts, order)
        body = _BODIES[dataset]
        kinds = FIELD_KINDS[dataset]
        count = len(at)
        arrays: list[pa.Array] = []
        refused: set[int] = set()
        present = parts[0].columns.keys() if merge is None else set().union(*(part.columns for part in parts))
        for field in body:
            name = field.name
            if name not in present:
                arrays.append(pa.nulls(count, field.type))
                continue
            values = parts[0].columns[name] if merge is None else merge.values(name)
            array, wrong = convert_column(name, kinds[name], field.type, values, self._timestamp)
            arrays.append(array)
            refused.update(wrong)
        table = pa.Table.from_arrays(arrays, schema=body)
        accepted = np.ones(count, dtype=bool)
        if refused:  # the per-line path quarantines these rows with its reason
            accepted[list(refused)] = False
            by_line.extend(rows[at[~accepted]].tolist())
            table = table.filter(accepted)
        if table.num_rows:
            gathered.tables.setdefault(dataset, []).append((rows[at[accepted]], table))
        self._count_unknown(parts, order, accepted, rows[at], gathered)

    @staticmethod
    def _count_unknown(
        parts: list[_Part], order: _Rows | None, accepted: npt.NDArray[np.bool_], rows: _Rows, gathered: _Gathered
    ) -> None:
        """Unknown fields of the accepted rows, each part counted from its first accepted line."""
        if not any(part.unknown for part in parts):
            return
        owner = np.concatenate([np.full(len(part.at), i) for i, part in enumerate(parts)])
        if order is not None:
            owner = owner[order]
        for i, part in enumerate(parts):
            mine = np.flatnonzero((owner == i) & accepted)
            if part.unknown and len(mine):
                gathered.unknown.append((int(rows[mine[0]]), part.unknown, len(mine)))

    def _datasets(
        self, names: tuple[str, ...], columns: list[Sequence[Any]]
    ) -> list[tuple[Dataset | None, list[int] | None]]:
        """The dataset of each row of a key set, as parts (None: every row), as ``dataset_of`` says."""
        forced = self._dataset
        found = forced if forced is not None else infer_dataset(names)
        by_values = values_decide(names, found)  # event.category may say authentication
        named = columns[names.index("event.dataset")] if "event.dataset" in names else None
        if named is None and not by_values:
            return [(found, None)]
        if named is not None and not by_values:
            try:
                distinct = dict.fromkeys(named)
            except TypeError:  # an object or list as event.dataset: row by row below
                pass
            else:
                choice = {v: Dataset(v) if type(v) is str and v in DATASET_VALUES else found for v in distinct}
                if len(set(choice.values())) == 1:
                    return [(next(iter(choice.values())), None)]
                return _partition(list(map(choice.__getitem__, named)))
        category = columns[names.index("event.category")] if "event.category" in names else None
        action = columns[names.index("event.action")] if "event.action" in names else None
        per_row: list[Dataset | None] = []
        for row in range(len(columns[0])):
            value = None if named is None else named[row]
            if type(value) is str and value in DATASET_VALUES:
                per_row.append(Dataset(value))
            elif not by_values:
                per_row.append(found)
            else:
                kind = None if category is None else category[row]
                act = None if action is None else action[row]
                per_row.append(Dataset.AUTH if auth_by_values(kind, act) else None)
        return _partition(per_row)

    def _record(self, line: bytes, unknown: list[str]) -> tuple[Dataset, dict[str, object]]:
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
        unknown.extend(plan.unknown)  # counted for the rows that become events
        return plan.dataset, record

    def _plan(self, flat: dict[str, object]) -> _Plan:
        named = flat.get("event.dataset")
        if named is not None:  # the dataset is a value here: plan per key set and named dataset
            if not (isinstance(named, str) and named in DATASET_VALUES):
                return _Plan.of(flat, self._dataset)
            return self._remembered(self._tagged, (tuple(flat), named), flat)
        shape = tuple(flat)
        plan = self._plans.get(shape)
        if plan is not None:
            return plan
        if shape not in self._by_values:
            forced = self._dataset
            if not values_decide(shape, forced if forced is not None else infer_dataset(shape)):
                plan = _Plan.of(flat, forced)
                if plan.dataset is not None and len(self._plans) < _PLAN_ENTRIES:
                    self._plans[shape] = plan
                return plan
            # no dataset from the keys alone may still be one from the values (event.category says
            # "authentication"), for this event only: remembering it for the key set made a later
            # event of the same keys that says nothing of the kind an auth event too (the columnar
            # path, deciding row by row, quarantined it: the two paths disagreed)
            if len(self._by_values) < _PLAN_ENTRIES:
                self._by_values.add(shape)
        # planned per (key set, verdict of the values)
        key = (shape, auth_by_values(flat.get("event.category"), flat.get("event.action")))
        return self._remembered(self._by_values_plans, key, flat)

    def _remembered(self, plans: dict[_K, _Plan], key: _K, flat: dict[str, object]) -> _Plan:
        """``flat``'s plan, remembered under ``key`` in ``plans`` (at most ``_PLAN_ENTRIES``)."""
        plan = plans.get(key)
        if plan is None:
            plan = _Plan.of(flat, self._dataset)
            if len(plans) < _PLAN_ENTRIES:
                plans[key] = plan
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
