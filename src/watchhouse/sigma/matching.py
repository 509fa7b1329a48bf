"""Sigma string semantics turned into the cheapest Polars string operation that is exact.

Sigma compares strings case-insensitively, with ``*`` (any run) and ``?`` (one character) as
wildcards and ``\\`` escaping them. Most values are a literal with at most a leading and a
trailing ``*``, which map to equality, ``starts_with``, ``ends_with`` or a literal ``contains``
(memchr-fast); only the rest become an anchored regular expression. Case-insensitivity is done
by lower-casing both sides, so a batch lower-cases each referenced column once, not per rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sigma.types import Placeholder, SpecialChars

StringPart = str | SpecialChars | Placeholder


class StringOp(StrEnum):
    EQUALS = "eq"
    STARTS_WITH = "startswith"
    ENDS_WITH = "endswith"
    CONTAINS = "contains"
    REGEX = "regex"
    ANY = "any"  # a lone "*": every non-null value


@dataclass(frozen=True)
class StringPlan:
    """How to test one Sigma string against a column: ``op`` with ``operand``.

    ``operand`` is already lower-cased when ``cased`` is false; for ``REGEX`` it is a full,
    anchored pattern.
    """

    op: StringOp
    operand: str
    cased: bool
    #: for ``REGEX`` plans: the normalised wildcard parts, for engines with their own syntax
    parts: tuple[str | SpecialChars, ...] = ()


def plan_string(parts: list[StringPart], *, cased: bool = False) -> StringPlan:
    """The plan for a Sigma string given as pySigma's parts (placeholders must be expanded first)."""
    if any(isinstance(p, Placeholder) for p in parts):
        raise ValueError("placeholders must be expanded before planning")
    norm: list[str | SpecialChars] = [
        p if isinstance(p, SpecialChars) else (p if cased else p.lower())
        for p in parts
        if not isinstance(p, Placeholder)
    ]
    merged: list[str | SpecialChars] = []
    for p in norm:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + p
        elif not (isinstance(p, str) and p == ""):
            merged.append(p)
    multi = SpecialChars.WILDCARD_MULTI
    literals = [p for p in merged if isinstance(p, str)]
    specials = [p for p in merged if isinstance(p, SpecialChars)]
    if not specials:
        return StringPlan(StringOp.EQUALS, literals[0] if literals else "", cased)
    if all(p is multi for p in specials) and len(literals) <= 1:
        if not literals:
            return StringPlan(StringOp.ANY, "", cased)
        lead, tail = merged[0] is multi, merged[-1] is multi
        lit = literals[0]
        if lead and tail and len(merged) == 3:
            return StringPlan(StringOp.CONTAINS, lit, cased)
        if tail and not lead and len(merged) == 2:
            return StringPlan(StringOp.STARTS_WITH, lit, cased)
        if lead and not tail and len(merged) == 2:
            return StringPlan(StringOp.ENDS_WITH, lit, cased)
    return StringPlan(StringOp.REGEX, wildcard_regex(merged), cased, tuple(merged))


def wildcard_regex(parts: list[str | SpecialChars]) -> str:
    """An anchored, dot-matches-newline regex for a wildcard pattern (Rust ``regex`` syntax)."""
    out = ["(?s)^"]
    for p in parts:
        if p is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        else:
            assert isinstance(p, str)
            out.append(re.escape(p))
    out.append("$")
    return "".join(out)


def reference_match(value: str | None, parts: list[StringPart], *, cased: bool = False) -> bool:
    """Slow, obviously-correct Sigma string match, the oracle for property tests."""
    if value is None:
        return False
    if not cased:
        value = value.lower()
    pattern = "".join(
        ".*"
        if p is SpecialChars.WILDCARD_MULTI
        else "."
        if p is SpecialChars.WILDCARD_SINGLE
        else re.escape(str(p) if cased else str(p).lower())
        for p in parts
    )
    return re.fullmatch(pattern, value, re.DOTALL) is not None
