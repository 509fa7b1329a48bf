"""Grouping reports into campaigns: many victims of one scammer become one campaign.

Two reports belong together when they share any normalised identifier (an e-mail, phone, canonical
URL or host, IBAN, wallet, account) or an attachment hash; grouping is transitive (union-find), so
A–B sharing a phone and B–C sharing a wallet make one campaign of three. Hosts that everybody
mentions (the platform's own domain, big webmail providers) would glue unrelated reports
together, so the caller names them in ``ignore_hosts``. Pure functions: no database, no clock.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ReportSummary:
    reference: str
    category: str
    victim: bool
    reporter: str | None
    money: tuple[str, str] | None
    """(amount, currency) when the report says money was lost."""


@dataclass(frozen=True)
class Campaign:
    id: str
    references: tuple[str, ...]
    victims: int
    shared: tuple[tuple[str, str], ...]
    """The identifiers at least two of its reports share: why they were grouped."""
    categories: tuple[str, ...]
    money_lost: tuple[tuple[str, str], ...]
    """Exact total per currency, as decimal text."""


def _find(parent: dict[str, str], item: str) -> str:
    root = item
    while parent[root] != root:
        root = parent[root]
    while parent[item] != root:
        parent[item], item = root, parent[item]
    return root


def group(
    reports: Iterable[ReportSummary],
    identifiers: Iterable[tuple[str, str, str]],
    ignore_hosts: frozenset[str] = frozenset(),
) -> list[Campaign]:
    """Campaigns of two or more reports, largest first; ``identifiers`` are (reference, kind, value)."""
    by_ref = {r.reference: r for r in reports}
    parent = {ref: ref for ref in by_ref}
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for reference, kind, value in identifiers:
        if reference not in by_ref or (kind == "host" and value in ignore_hosts):
            continue
        holders[(kind, value)].add(reference)
    for holding in holders.values():
        first, *rest = sorted(holding)
        for other in rest:
            a, b = _find(parent, first), _find(parent, other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = defaultdict(list)
    for ref in by_ref:
        members[_find(parent, ref)].append(ref)
    shared_by_root: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, refs in holders.items():
        if len(refs) > 1:
            shared_by_root[_find(parent, next(iter(refs)))].append(key)
    out = []
    for root, group_refs in members.items():
        if len(group_refs) < 2:
            continue
        shared = sorted(shared_by_root[root])
        out.append(_campaign(sorted(group_refs), shared, by_ref))
    return sorted(out, key=lambda c: (-len(c.references), c.id))


def _campaign(refs: list[str], shared: list[tuple[str, str]], by_ref: dict[str, ReportSummary]) -> Campaign:
    """The id hashes the smallest shared key, so it stays put while new victims join."""
    victims: set[str] = set()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for ref in refs:
        report = by_ref[ref]
        if report.victim:
            victims.add(report.reporter or ref)
        if report.money is not None:
            totals[report.money[1]] += Decimal(report.money[0])
    kind, value = shared[0]
    digest = hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:12]
    return Campaign(
        id=f"cp-{digest}",
        references=tuple(refs),
        victims=len(victims),
        shared=tuple(shared),
        categories=tuple(sorted({by_ref[r].category for r in refs})),
        money_lost=tuple((cur, str(total)) for cur, total in sorted(totals.items())),
    )
