"""Sigma 2 correlation rules over event time, with bounded, checkpointable state.

Why a module of its own: base rules are stateless and vectorised (:mod:`watchhouse.sigma.engine`);
a correlation (``event_count``, ``value_count``, ``temporal``, ``temporal_ordered``) must remember
matches across batches and restarts. Only rows some referenced base rule matched reach this
module, so its per-event Python runs after the vectorised prefilter.

Semantics (defined on the input stream, so batch cuts and restarts cannot change them):

* Every row gets a stream sequence number. Each input file has its own watermark: the largest
  ``@timestamp`` seen in it so far minus ``lateness``. A matched row older than the watermark of
  its file *before it* is late and ignored (the same rule as the account detectors).
* Per correlation and group-by key, the admitted matches wait in time order. The earliest one
  anchors a window ``[t, t + timespan]``; the window is *judged* once its anchor's file watermark
  passes its end (no admitted row from that file can fall in it any more) or at end of input.
  If the condition holds, one alert is raised and every match in the window is consumed;
  otherwise only the anchor is dropped and the next match anchors the next window. Judging
  strictly in anchor order keeps results independent of when judging happens.
* State is therefore bounded by the matches of one timespan plus lateness per key; a key that
  piles up more than ``max_pending`` matches (a file that ended with its window open) judges its
  oldest anchors early, which is the one place a cap, not the watermark, decides.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.rule import SigmaRule

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.sigma.frames import HTTP_FIELDS, WINLOG_SYSTEM

SUPPORTED = frozenset(
    {
        SigmaCorrelationType.EVENT_COUNT,
        SigmaCorrelationType.VALUE_COUNT,
        SigmaCorrelationType.TEMPORAL,
        SigmaCorrelationType.TEMPORAL_ORDERED,
    }
)
_OPS: Mapping[SigmaCorrelationConditionOperator, Callable[[Any, Any], bool]] = {
    SigmaCorrelationConditionOperator.LT: operator.lt,
    SigmaCorrelationConditionOperator.LTE: operator.le,
    SigmaCorrelationConditionOperator.GT: operator.gt,
    SigmaCorrelationConditionOperator.GTE: operator.ge,
    SigmaCorrelationConditionOperator.EQ: operator.eq,
    SigmaCorrelationConditionOperator.NEQ: operator.ne,
}
_MICROS = 1_000_000


class UnsupportedCorrelation(Exception):  # noqa: N818 - a verdict on a rule
    """The correlation cannot run here; the message says why."""


@dataclass(frozen=True)
class CorrelationSpec:
    """A correlation rule resolved against the engine's base rules."""

    rule_id: str
    title: str
    level: str | None
    path: str
    kind: SigmaCorrelationType
    #: engine rule indices, in the order the correlation lists them (matters for temporal_ordered)
    rules: tuple[int, ...]
    group_by: tuple[str, ...]
    timespan_us: int
    op: SigmaCorrelationConditionOperator
    count: float
    value_field: str | None
    generate: bool
    #: group-by name -> (position in ``rules`` -> that rule's field name)
    aliases: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def field_for(self, name: str, position: int) -> str:
        mapping = self.aliases.get(name)
        return mapping.get(position, name) if mapping else name

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.count)


def _rule_id(rule: SigmaRule | SigmaCorrelationRule, fallback: str) -> str:
    return str(rule.id) if rule.id else fallback


def resolve(
    correlation: SigmaCorrelationRule, rules: Sequence[SigmaRule], usable: Callable[[int], str | None]
) -> CorrelationSpec:
    """Resolve a correlation's references to engine rule indices, or say why it cannot run.

    ``usable(index)`` returns why a base rule cannot feed correlations (unsupported, unrouted),
    or None. References are matched on the rule's ``name`` first, then on its id.
    """
    if correlation.type not in SUPPORTED:
        raise UnsupportedCorrelation(f"correlation type {correlation.type} is not supported")
    if correlation.rules is None or not correlation.rules:
        raise UnsupportedCorrelation("extended correlation conditions without a rules list are not supported")
    condition = correlation.condition
    if not isinstance(condition, SigmaCorrelationCondition) or condition.percentile is not None:
        raise UnsupportedCorrelation("extended correlation conditions are not supported")
    by_name: dict[str, int] = {}
    for index, rule in enumerate(rules):
        name = getattr(rule, "name", None)
        if name:
            by_name.setdefault(str(name), index)
        if rule.id:
            by_name.setdefault(str(rule.id), index)
    indices: list[int] = []
    for ref in correlation.rules:
        found = by_name.get(ref.reference)
        if found is None:
            raise UnsupportedCorrelation(f"referenced rule {ref.reference!r} is not a loaded base rule")
        why = usable(found)
        if why:
            raise UnsupportedCorrelation(f"referenced rule {ref.reference!r} cannot run: {why}")
        indices.append(found)
    aliases: dict[str, dict[int, str]] = {}
    for alias in correlation.aliases:
        mapping: dict[int, str] = {}
        for ref, name in alias.mapping.items():
            if ref.reference not in by_name:
                raise UnsupportedCorrelation(f"alias {alias.alias!r} names unknown rule {ref.reference!r}")
            for position, index in enumerate(indices):
                if index == by_name[ref.reference]:
                    mapping[position] = name
        aliases[alias.alias] = mapping
    fieldref = condition.fieldref
    if isinstance(fieldref, list):
        if len(fieldref) != 1:
            raise UnsupportedCorrelation("value_count over several fields is not supported")
        fieldref = fieldref[0]
    if correlation.type is SigmaCorrelationType.VALUE_COUNT and not fieldref:
        raise UnsupportedCorrelation("value_count needs condition.field")
    path = str(correlation.source.path) if correlation.source is not None else ""
    return CorrelationSpec(
        rule_id=_rule_id(correlation, f"{path}#correlation"),
        title=correlation.title,
        level=str(correlation.level) if correlation.level else None,
        path=path,
        kind=correlation.type,
        rules=tuple(indices),
        group_by=tuple(correlation.group_by or ()),
        timespan_us=int(correlation.timespan.seconds or 0) * _MICROS,
        op=condition.op,
        count=condition.count,
        value_field=fieldref or None,
        generate=bool(correlation.generate),
        aliases=aliases,
        tags=tuple(f"{t.namespace}.{t.name}" for t in correlation.tags),
    )


# A pending match: (ts_us, seq, position in spec.rules, value, path, line, offset).
Match = tuple[int, int, int, str | None, str, int | None, int | None]
Key = tuple[str | None, ...]


@dataclass(frozen=True)
class CorrelationHit:
    """A window where a correlation's condition held."""

    spec: CorrelationSpec
    key: Key
    matches: tuple[Match, ...]
    value: float

    @property
    def first_us(self) -> int:
        return min(m[0] for m in self.matches)

    @property
    def last_us(self) -> int:
        return max(m[0] for m in self.matches)


class _Fields:
    """Field values of matched rows, decoding a row's EventData at most once per batch."""

    def __init__(self, batch: EventBatch) -> None:
        self._batch = batch
        self._columns: dict[str, list[Any]] = {}
        self._data: dict[int, dict[str, Any]] = {}

    def _column(self, name: str) -> list[Any] | None:
        if name not in self._batch.table.schema.names:
            return None
        values = self._columns.get(name)
        if values is None:
            values = self._columns[name] = self._batch.table.column(name).to_pylist()
        return values

    def get(self, row: int, name: str) -> str | None:
        dataset = self._batch.dataset
        column = (WINLOG_SYSTEM if dataset is Dataset.WINLOG else HTTP_FIELDS).get(name, name)
        values = self._column(column)
        if values is not None:
            value = values[row]
            return None if value is None else str(value)
        if dataset is not Dataset.WINLOG:
            return None
        data = self._data.get(row)
        if data is None:
            raw = self._column("winlog.event_data")
            text = raw[row] if raw is not None else None
            data = self._data[row] = orjson.loads(text) if text else {}
        value = data.get(name)
        return None if value is None else str(value)


def _file_watermarks(
    ts: pa.Array, paths: pa.Array, carried: Mapping[str, int]
) -> tuple[list[int | None], dict[str, int]]:
    """Each row's file maximum *before* it (stream order), and the files' maxima after the batch."""
    frame = pl.DataFrame({"ts": pl.Series(ts), "path": pl.Series(paths).fill_null("")})
    prior = frame.select(
        before=pl.col("ts").cum_max().shift(1).over("path"),
        carried=pl.col("path").replace_strict(dict(carried), default=None, return_dtype=pl.Int64)
        if carried
        else pl.lit(None, dtype=pl.Int64),
    ).select(pl.max_horizontal("before", "carried"))
    maxima = frame.drop_nulls("ts").group_by("path").agg(pl.col("ts").max())
    after = dict(carried)
    for path, top in maxima.iter_rows():
        after[path] = max(top, after.get(path, top))
    return prior.to_series().to_list(), after


class Correlator:
    """Runs resolved correlations over the base-rule matches of each batch."""

    def __init__(self, specs: Sequence[CorrelationSpec], *, lateness_s: float = 300.0, max_pending: int = 10_000):
        self.specs = list(specs)
        self.lateness_us = int(lateness_s * _MICROS)
        self.max_pending = max_pending
        self.seq = 0
        self.max_seen: dict[str, int] = {}
        self.pending: list[dict[Key, list[Match]]] = [{} for _ in self.specs]
        self._by_rule: dict[int, list[tuple[int, int]]] = {}
        for s, spec in enumerate(self.specs):
            for position, index in enumerate(spec.rules):
                self._by_rule.setdefault(index, []).append((s, position))

    @property
    def rule_indices(self) -> frozenset[int]:
        return frozenset(self._by_rule)

    # -- feeding --------------------------------------------------------------------------------
    def observe(self, batch: EventBatch, matches: Mapping[int, list[int]]) -> list[CorrelationHit]:
        """Add the matches of one batch (rule index -> rows); return the windows judged true."""
        rows = batch.num_rows
        base = self.seq
        self.seq += rows
        if rows == 0:
            return []
        table = batch.table
        ts = table.column(TIMESTAMP_FIELD).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).combine_chunks()
        paths = table.column(PATH_FIELD).combine_chunks()
        relevant = {i: r for i, r in matches.items() if i in self._by_rule and r}
        if not relevant:
            _, self.max_seen = _file_watermarks(ts, paths, self.max_seen)
            return self._judge_closed()
        before, self.max_seen = _file_watermarks(ts, paths, self.max_seen)
        stamps = ts.to_pylist()
        names = paths.to_pylist()
        lines = table.column(LINE_FIELD).to_pylist()
        offsets = table.column(OFFSET_FIELD).to_pylist()
        fields = _Fields(batch)
        hits: list[CorrelationHit] = []
        arrivals: list[tuple[int, int, int]] = []  # (row, spec, position)
        for index, matched in relevant.items():
            for s, position in self._by_rule[index]:
                arrivals.extend((row, s, position) for row in matched)
        arrivals.sort()
        for row, s, position in arrivals:
            stamp, prior = stamps[row], before[row]
            if stamp is None or (prior is not None and stamp < prior - self.lateness_us):
                continue  # late (or undated): the same for every batching
            spec = self.specs[s]
            key = tuple(fields.get(row, spec.field_for(g, position)) for g in spec.group_by)
            value = fields.get(row, spec.field_for(spec.value_field, position)) if spec.value_field else None
            match: Match = (stamp, base + row, position, value, names[row] or "", lines[row], offsets[row])
            queue = self.pending[s].setdefault(key, [])
            bisect.insort(queue, match)
            while len(queue) > self.max_pending:
                hits.extend(self._judge_anchor(s, key, queue))
        hits.extend(self._judge_closed())
        return hits

    def finish(self) -> list[CorrelationHit]:
        """End of input: judge every open window."""
        hits: list[CorrelationHit] = []
        for s, groups in enumerate(self.pending):
            for key in sorted(groups, key=_sort_key):
                queue = groups[key]
                while queue:
                    hits.extend(self._judge_anchor(s, key, queue))
            groups.clear()
        return hits

    # -- judging --------------------------------------------------------------------------------
    def _judge_closed(self) -> list[CorrelationHit]:
        hits: list[CorrelationHit] = []
        for s, groups in enumerate(self.pending):
            span = self.specs[s].timespan_us
            for key in sorted(groups, key=_sort_key):
                queue = groups[key]
                while queue:
                    anchor = queue[0]
                    seen = self.max_seen.get(anchor[4])
                    if seen is None or anchor[0] + span >= seen - self.lateness_us:
                        break
                    hits.extend(self._judge_anchor(s, key, queue))
                if not queue:
                    del groups[key]
        return hits

    def _judge_anchor(self, s: int, key: Key, queue: list[Match]) -> list[CorrelationHit]:
        """Judge the window anchored at ``queue[0]``; consume it on a hit, else drop the anchor."""
        spec = self.specs[s]
        end = queue[0][0] + spec.timespan_us
        stop = 0
        while stop < len(queue) and queue[stop][0] <= end:
            stop += 1
        window = queue[:stop]
        value = _aggregate(spec, window)
        if (value == 1) if spec.kind in _ORDERLY else spec.holds(value):
            del queue[:stop]
            return [CorrelationHit(spec, key, tuple(window), value)]
        anchor_seq = queue[0][1]
        queue[:] = [m for m in queue if m[1] != anchor_seq]
        return []

    # -- state ----------------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "max_seen": dict(self.max_seen),
            "pending": {
                spec.rule_id: [[list(key), [list(m) for m in queue]] for key, queue in groups.items()]
                for spec, groups in zip(self.specs, self.pending, strict=True)
                if groups
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.seq = int(state.get("seq", 0))
        self.max_seen = {str(k): int(v) for k, v in dict(state.get("max_seen", {})).items()}
        saved = dict(state.get("pending", {}))
        self.pending = []
        for spec in self.specs:
            groups: dict[Key, list[Match]] = {}
            for key, queue in saved.get(spec.rule_id, []):
                groups[tuple(key)] = [(int(m[0]), int(m[1]), int(m[2]), m[3], str(m[4]), m[5], m[6]) for m in queue]
            self.pending.append(groups)

    def pending_count(self) -> int:
        return sum(len(q) for groups in self.pending for q in groups.values())


_ORDERLY = frozenset({SigmaCorrelationType.TEMPORAL, SigmaCorrelationType.TEMPORAL_ORDERED})


def _sort_key(key: Key) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, v or "") for v in key)


def _aggregate(spec: CorrelationSpec, window: list[Match]) -> float:
    """The number the condition tests; for temporal kinds, 1 when all rules occurred (in order)."""
    if spec.kind is SigmaCorrelationType.EVENT_COUNT:
        return len({m[1] for m in window})
    if spec.kind is SigmaCorrelationType.VALUE_COUNT:
        return len({m[3] for m in window if m[3] is not None})
    wanted = len(spec.rules)
    if spec.kind is SigmaCorrelationType.TEMPORAL:
        return 1 if len({m[2] for m in window}) == wanted else 0
    step = 0
    for m in window:  # (ts, seq, position) order: greedy subsequence in the listed order
        if step < wanted and m[2] == step:
            step += 1
    return 1 if step == wanted else 0
