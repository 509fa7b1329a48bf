"""Shared by the rule-case tests: request rows for a technique, and which rules each row fires.

Every rule file's tests are tables of (rule, requests that must fire it, look-alikes that must
not); the rows, the firing check and the two-engine agreement check are the same for all tables.
"""

from __future__ import annotations

import json
from typing import Any

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.engines import EngineName
from watchhouse.detectors.web.matching import Matcher, request_parts
from watchhouse.detectors.web.rules import default_rules
from watchhouse.testing.factories import make_batch

Row = dict[str, Any]
#: (rule, requests that must fire it, requests that must not)
Case = tuple[str, list[Row], list[Row]]

BROWSER = {"Host": "shop.example", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Accept": "text/html"}
CLIENT = "203.0.113.30"


def get(url: str) -> Row:
    return {"source.ip": CLIENT, "http.request.method": "GET", "url.original": url}


def post(body: str, url: str = "/submit", content_type: str = "application/x-www-form-urlencoded") -> Row:
    return {
        "source.ip": CLIENT,
        "http.request.method": "POST",
        "url.original": url,
        "http.request.body.content": body,
        "http.request.headers": json.dumps({**BROWSER, "Content-Type": content_type}),
    }


def agent(user_agent: str) -> Row:
    return {
        **get("/"),
        "user_agent.original": user_agent,
        "http.request.headers": json.dumps({**BROWSER, "User-Agent": user_agent}),
    }


def header(name: str, value: str, url: str = "/upload") -> Row:
    return {**get(url), "http.request.headers": json.dumps({**BROWSER, name: value})}


def fired(rows: list[Row], level: int = 2) -> list[set[str]]:
    """The rule ids each row fires at paranoia ``level`` (rows are lines 1..n of one batch)."""
    batch = make_batch(Dataset.HTTP, rows)
    by_line = {
        f.evidence[0].line: set(f.details["rules"]) for f in WebAttackDetector(paranoia_level=level).detect(batch)
    }
    return [by_line.get(i + 1, set()) for i in range(len(rows))]


def describe(row: Row) -> str:
    return f"{row['url.original']} {row.get('http.request.body.content')} {row.get('user_agent.original')}"


def check_case(rule_id: str, positives: list[Row], near_misses: list[Row]) -> None:
    """Positives fire the rule at its own level (at least the default); near misses stay quiet even at 4."""
    level = max(default_rules().by_id(rule_id).paranoia, 2)
    for row, rules in zip(positives, fired(positives, level), strict=True):
        assert rule_id in rules, f"{rule_id} missed {describe(row)}"
    for row, rules in zip(near_misses, fired(near_misses, 4), strict=True):
        assert rule_id not in rules, f"{rule_id} fired on {describe(row)}"


def engine_hits(cases: list[Case], level: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(Hyperscan hits, pure-Python hits) over every request part of every case row."""
    rows = [row for _, positives, near in cases for row in (*positives, *near)]
    parts = [
        part
        for row in rows
        for part in request_parts(
            row["url.original"],
            row.get("http.request.body.content"),
            None,
            row.get("user_agent.original"),
            row.get("http.request.headers"),
        )
    ]
    rules = default_rules()
    symptoms = prefilter.part_symptoms(level)
    fast = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.HYPERSCAN).match(parts)]
    slow = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.POLARS).match(parts)]
    return fast, slow
