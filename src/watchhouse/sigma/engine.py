"""All rules of a pack, compiled once and evaluated in one pass per batch.

Rules are grouped by the dataset their log source routes to. For a batch, the engine builds the
Sigma frame (only the fields its rules reference), computes every distinct leaf predicate once
(``with_columns``, run in parallel by Polars), then every rule's boolean expression over those
leaves in a single ``select``; only rows where some rule fired leave the vectorised world.
Rules whose log source no dataset carries still compile (they can run over plain records with
:meth:`SigmaEngine.match_records`) and are reported as *unrouted* with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import polars as pl
from sigma.rule import SigmaRule

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.sigma.compiler import (
    KEYWORD_COLUMN,
    LeafTable,
    Node,
    NullLogic,
    PlaceholderValues,
    RuleCompiler,
    Unsupported,
    all_of,
    any_of,
)
from watchhouse.sigma.evaluate import LeafPlan, LeafTruth, Prepared, necessary, prepare
from watchhouse.sigma.frames import NUMERIC, ROW_COLUMN, keyword_needle, records_frame, sigma_frame
from watchhouse.sigma.logsources import Route, Unrouted, route

#: fields of log-source routing tests: true on nearly every batch, so poor triggers of a rule
ROUTING_FIELDS = frozenset({"Channel", "EventID", "Provider_Name"})


class Status(StrEnum):
    ROUTED = "routed"  # compiled and fed by a Watchhouse dataset
    UNROUTED = "unrouted"  # compiled, but no dataset carries its log source
    UNSUPPORTED = "unsupported"  # cannot be compiled; reason says why


def logsource_key(rule: SigmaRule) -> str:
    ls = rule.logsource
    return "/".join(v or "-" for v in (ls.product, ls.category, ls.service))


@dataclass(frozen=True)
class Verdict:
    rule_id: str
    title: str
    path: str
    logsource: str
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class Scope:
    """Events one routing alternative admits: channels (lower-cased) and event ids; None = any."""

    channels: frozenset[str] | None
    event_ids: frozenset[int] | None

    def covers(self, channel: str | None, event_id: int | None) -> bool:
        if self.channels is not None and (channel is None or channel not in self.channels):
            return False
        return self.event_ids is None or (event_id is not None and event_id in self.event_ids)


def _scopes(target: Route | None) -> tuple[Scope, ...]:
    """The rule's scopes; empty when any event may match (unrouted, or a product-only source)."""
    if target is None:
        return ()
    scopes = []
    for alt in target.alternatives:
        conditions = dict(alt.conditions)
        channels, ids = conditions.get("Channel"), conditions.get("EventID")
        if channels is None and ids is None:
            return ()
        scopes.append(
            Scope(
                frozenset(str(c).lower() for c in channels) if channels is not None else None,
                frozenset(int(i) for i in ids) if ids is not None else None,
            )
        )
    return tuple(scopes)


def tree_leaves(node: Node) -> set[int]:
    """Indices of the leaves a tree reads."""
    if node.op == "leaf":
        return {node.leaf}
    out: set[int] = set()
    for arg in node.args:
        out |= tree_leaves(arg)
    return out


@dataclass(frozen=True)
class CompiledRule:
    index: int
    rule: SigmaRule
    rule_id: str
    tree: Node
    #: events the rule can match at all (empty: any); limits which fields a batch projects
    scopes: tuple[Scope, ...] = ()
    fields: frozenset[str] = frozenset()
    #: needles of the rule's keyword leaves (:func:`keyword_needle`); None when one has none
    needles: frozenset[str] | None = frozenset()
    #: ``tree`` as :meth:`LeafTruth.fast` takes it
    prepared: Prepared = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prepared", prepare(self.tree))


@dataclass
class _Group:
    """Rules sharing one frame layout, with the leaves and columns they need."""

    compiler: RuleCompiler
    rules: list[CompiledRule] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    lowered: set[str] = field(default_factory=set)
    _plan: LeafPlan | None = None
    _scoped_fields: dict[tuple[str | None, int | None], frozenset[str]] = field(default_factory=dict)
    _scoped_needles: dict[tuple[str | None, int | None], tuple[str, ...] | None] = field(default_factory=dict)
    #: (rules indexed, leaf -> rule positions, rule positions without necessary leaves)
    _triggers: tuple[int, dict[int, list[int]], list[int]] = (0, {}, [])

    def _covering(self, channel: str | None, event_id: int | None) -> list[CompiledRule]:
        return [r for r in self.rules if not r.scopes or any(s.covers(channel, event_id) for s in r.scopes)]

    def fields_for(self, channel: str | None, event_id: int | None) -> frozenset[str]:
        """Fields read by the rules that can match events of this (lower-cased) channel and id."""
        key = (channel, event_id)
        found = self._scoped_fields.get(key)
        if found is None:
            found = frozenset().union(*(r.fields for r in self._covering(channel, event_id)))
            self._scoped_fields[key] = found
        return found

    def needles_for(self, channel: str | None, event_id: int | None) -> tuple[str, ...] | None:
        """Keyword needles of the rules that can match events of this channel and id (sorted),
        or None when one of their keyword leaves has no needle."""
        key = (channel, event_id)
        if key not in self._scoped_needles:
            needles: set[str] = set()
            for rule in self._covering(channel, event_id):
                if rule.needles is None:
                    self._scoped_needles[key] = None
                    break
                needles |= rule.needles
            else:
                self._scoped_needles[key] = tuple(sorted(needles))
        return self._scoped_needles[key]

    @property
    def plan(self) -> LeafPlan:
        """The leaf plan, rebuilt only when rules were added since (compiling is per pack)."""
        leaves = self.compiler.leaves.leaves
        if self._plan is None or self._plan.size != len(leaves):
            self._plan = LeafPlan(leaves)
        return self._plan

    def triggers(self) -> tuple[dict[int, list[int]], list[int]]:
        """(leaf -> positions in ``rules`` of the rules it is a :func:`necessary` leaf of,
        positions of the rules without necessary leaves), rebuilt when rules were added."""
        if self._triggers[0] != len(self.rules):
            leaves = self.compiler.leaves.leaves
            routing = frozenset(i for i, leaf in enumerate(leaves) if leaf.columns and leaf.columns <= ROUTING_FIELDS)
            by_leaf: dict[int, list[int]] = {}
            always: list[int] = []
            for position, rule in enumerate(self.rules):
                need = necessary(rule.prepared, routing)
                if need is None:
                    always.append(position)
                for leaf in need or ():
                    by_leaf.setdefault(leaf, []).append(position)
            self._triggers = (len(self.rules), by_leaf, always)
        return self._triggers[1], self._triggers[2]

    def _candidates(self, live: set[int]) -> list[CompiledRule]:
        """The rules that can fire given the live leaves, in pack order."""
        by_leaf, always = self.triggers()
        positions = set(always)
        for leaf in live:
            found = by_leaf.get(leaf)
            if found is not None:
                positions.update(found)
        return [self.rules[p] for p in sorted(positions)]

    def evaluate(self, frame: pl.DataFrame) -> dict[int, list[int]]:
        """rule index -> matching row numbers."""
        if not self.rules or frame.height == 0:
            return {}
        truth = LeafTruth(frame, self.plan, self.compiler.null_logic)
        row_of = frame.get_column(ROW_COLUMN).to_numpy()  # frame position -> batch row
        out: dict[int, list[int]] = {}
        sql = self.compiler.null_logic is NullLogic.SQL
        for rule in self.rules if sql else self._candidates(truth.live):
            value = truth.value(rule.tree) if sql else truth.fast(rule.prepared)
            if value is False:
                continue
            rows = row_of[truth.rows(value)]
            if len(rows):
                out[rule.index] = np.sort(rows).tolist()
        return out


def _rule_path(rule: SigmaRule) -> str:
    return str(rule.source.path) if rule.source is not None else ""


class SigmaEngine:
    """Compiled rule pack; ``match(batch)`` gives which rules fired on which rows."""

    def __init__(
        self,
        rules: Sequence[SigmaRule],
        *,
        placeholders: PlaceholderValues | None = None,
        null_logic: NullLogic = NullLogic.SIGMA,
    ) -> None:
        self.rules: list[SigmaRule] = list(rules)
        self.verdicts: list[Verdict] = []
        self._placeholders = dict(placeholders or {})
        self._null_logic = null_logic
        self._groups: dict[Dataset, _Group] = {}
        self._generic: dict[str, _Group] = {}
        for index, rule in enumerate(self.rules):
            self.verdicts.append(self._add(index, rule))

    def _group(self, dataset: Dataset) -> _Group:
        group = self._groups.get(dataset)
        if group is None:
            compiler = RuleCompiler(
                LeafTable(), NUMERIC.get(dataset, frozenset()), self._placeholders, self._null_logic
            )
            group = self._groups[dataset] = _Group(compiler)
        return group

    def _generic_group(self, key: str) -> _Group:
        group = self._generic.get(key)
        if group is None:
            compiler = RuleCompiler(LeafTable(), frozenset(), self._placeholders, self._null_logic)
            group = self._generic[key] = _Group(compiler)
        return group

    def _add(self, index: int, rule: SigmaRule) -> Verdict:
        rule_id = str(rule.id) if rule.id else f"{_rule_path(rule)}#{index}"
        base = (rule_id, rule.title, _rule_path(rule), logsource_key(rule))
        try:
            target: Route | None = route(rule.logsource)
            reason = ""
        except Unrouted as exc:
            target, reason = None, str(exc)
        group = self._group(target.dataset) if target is not None else self._generic_group(logsource_key(rule))
        before = len(group.compiler.leaves.leaves)
        try:
            tree = self._compile(group, rule, target)
        except Unsupported as exc:
            del group.compiler.leaves.leaves[before:]  # drop leaves only this rule added
            group.compiler.leaves.index = {k: v for k, v in group.compiler.leaves.index.items() if v < before}
            return Verdict(*base, Status.UNSUPPORTED, str(exc))
        leaves = group.compiler.leaves.leaves
        used = [leaves[i] for i in tree_leaves(tree)]
        fields = frozenset().union(*(leaf.columns for leaf in used))
        needles = frozenset(keyword_needle(leaf.literal) for leaf in used if KEYWORD_COLUMN in leaf.columns)
        group.rules.append(
            CompiledRule(index, rule, rule_id, tree, _scopes(target), fields, None if "" in needles else needles)
        )
        group._scoped_fields.clear()
        group._scoped_needles.clear()
        for leaf in leaves[before:]:
            group.fields |= leaf.columns
            group.lowered |= leaf.lowered
        return Verdict(*base, Status.ROUTED if target else Status.UNROUTED, reason)

    def _compile(self, group: _Group, rule: SigmaRule, target: Route | None) -> Node:
        compiler = group.compiler
        if target is None:
            return compiler.compile(rule)
        branches: list[Node] = []
        for alt in target.alternatives:
            aliases = alt.aliases
            detection = compiler.compile(rule, lambda f, a=aliases: a.get(f, f))  # type: ignore[misc]
            conditions = [any_of([compiler.equals(name, v) for v in values]) for name, values in alt.conditions]
            # detection first: it is usually all-false, which short-cuts the routing tests
            branches.append(all_of([detection, *conditions]))
        return any_of(branches)

    # -- evaluation ---------------------------------------------------------------------------
    @property
    def datasets(self) -> frozenset[Dataset]:
        return frozenset(d for d, g in self._groups.items() if g.rules)

    def compiled(self, dataset: Dataset) -> list[CompiledRule]:
        group = self._groups.get(dataset)
        return list(group.rules) if group else []

    def match(self, batch: EventBatch) -> dict[int, list[int]]:
        """Rule index (into ``self.rules``) -> row numbers of ``batch`` it matched."""
        group = self._groups.get(batch.dataset)
        if group is None or not group.rules or batch.num_rows == 0:
            return {}
        # under SQL logic a null keyword text would be "unknown", not "no match": no prefilter
        needles_for = group.needles_for if self._null_logic is NullLogic.SIGMA else None
        return group.evaluate(sigma_frame(batch, group.fields, group.lowered, group.fields_for, needles_for))

    def match_records(self, records: list[dict[str, object]], logsource: str | None = None) -> dict[int, list[int]]:
        """Evaluate rules over plain records named as rules name fields (no log-source routing).

        ``logsource`` (``product/category/service`` with ``-`` for unset) limits evaluation to
        rules of that log source; by default every compiled rule runs. Routing conditions
        (channel, event id) are skipped, so this answers "does the detection match".
        """
        out: dict[int, list[int]] = {}
        groups = self._records_groups(logsource)
        for group in groups:
            if group.rules:
                out.update(
                    group.evaluate(records_frame(records, group.fields, group.lowered, group.compiler.numeric_columns))
                )
        return out

    def _records_groups(self, logsource: str | None) -> list[_Group]:
        """Generic groups compiled without routing, built on first use per log source."""
        key = f"records:{logsource or '*'}"
        cached = self._generic.get(key)
        if cached is not None:
            return [cached]
        group = _Group(RuleCompiler(LeafTable(), frozenset({"EventID"}), self._placeholders, self._null_logic))
        for index, (rule, verdict) in enumerate(zip(self.rules, self.verdicts, strict=True)):
            if verdict.status is Status.UNSUPPORTED or (logsource and verdict.logsource != logsource):
                continue
            before = len(group.compiler.leaves.leaves)
            try:
                tree = group.compiler.compile(rule)
            except Unsupported:
                continue
            group.rules.append(CompiledRule(index, rule, verdict.rule_id, tree))
            for leaf in group.compiler.leaves.leaves[before:]:
                group.fields |= leaf.columns
                group.lowered |= leaf.lowered
        self._generic[key] = group
        return [group]

    def summary(self) -> Counter[Status]:
        return Counter(v.status for v in self.verdicts)


def verdict_reasons(verdicts: Sequence[Verdict]) -> Mapping[str, int]:
    """Unsupported/unrouted reasons grouped by their stable prefix, most common first."""
    counts: Counter[str] = Counter()
    for v in verdicts:
        if v.status is not Status.ROUTED:
            counts[f"{v.status}: {_reason_kind(v.reason)}"] += 1
    return dict(counts.most_common())


def _reason_kind(reason: str) -> str:
    """A reason without its specifics, so counts group (placeholder names, patterns)."""
    if reason.startswith("placeholder "):
        return "placeholder has no configured values"
    return reason.split(":")[0]
