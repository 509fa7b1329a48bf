"""WH-SQLI-027 (NoSQL operator as a bare value or JSON key) has its own prefilter symptom.

A bare ``$ne`` shows none of the breakout characters the prefilter looks for. Before it had a
symptom, the rule fired only when a value scanned just before it (in the same request or in the
previous request of the batch) ended in a way that matched across the scanner's value separator,
so one request's verdict depended on its neighbours. These tests pin that it no longer does.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.engines import EngineName, hyperscan_available
from watchhouse.testing.factories import make_batch

RULE = "WH-SQLI-027"


def _get(url: str) -> dict[str, Any]:
    return {"source.ip": "198.51.100.7", "http.request.method": "GET", "url.original": url}


def _with_headers(**headers: str) -> dict[str, Any]:
    return {
        "source.ip": "198.51.100.7",
        "http.request.method": "GET",
        "url.original": "/account",
        "http.request.headers": json.dumps({"Host": "shop.example", **headers}),
    }


# operator injections that carry no quote, bracket or other breakout character in the raw value
BARE = [
    _get("/login?user=admin&pw=$ne"),
    _get("/api/items?$regex=a"),
    _with_headers(Cookie="session=4f2a9c; role=$ne"),
    _with_headers(**{"X-Filter": '{"$where": 1}'}),
]
# neighbours: ordinary rows, and one whose last value ends in ";" (the separator-crossing case)
NEIGHBOURS = [
    _get("/search?q=o'brien&sort=1;"),
    _get("/static/app.js"),
    _get("/products?page=2&per_page=24"),
]


def _fired(rows: list[dict[str, Any]]) -> dict[int | None, set[str]]:
    findings = WebAttackDetector().detect(make_batch(Dataset.HTTP, rows))
    return {f.evidence[0].line: set(f.details["rules"]) for f in findings}


@pytest.mark.parametrize("row", BARE, ids=["query-value", "query-name", "cookie", "header-json"])
def test_bare_operator_fires_alone_and_whatever_its_neighbours(row: dict[str, Any]) -> None:
    assert RULE in _fired([row]).get(1, set())
    # the same request after and before each neighbour: line numbers move, the verdict does not
    for neighbour in NEIGHBOURS:
        assert RULE in _fired([neighbour, row]).get(2, set())
        assert RULE in _fired([row, neighbour]).get(1, set())


def test_ordinary_dollar_values_show_no_symptom() -> None:
    # prices, template names and operator-like words that are not a whole operator
    values = ["/pay?amount=$10", "/docs?q=$next+page", "/shop?deal=$network+plan", "/t?tpl=$nearby"]
    frame = pl.DataFrame({prefilter.URL: values})
    pattern = prefilter.column_patterns(2)[prefilter.URL]
    assert not frame[prefilter.URL].str.contains(prefilter._NOSQL_WORDS).any()
    assert frame[prefilter.URL].str.contains(pattern).to_list() == [False] * len(values)


@pytest.mark.parametrize(
    "engine",
    [
        EngineName.POLARS,
        pytest.param(
            EngineName.HYPERSCAN, marks=pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan wheel")
        ),
    ],
)
def test_row_prefilter_flags_bare_operators_in_both_engines(engine: EngineName) -> None:
    rows = [*BARE, _get("/products?page=2")]
    frame = make_batch(Dataset.HTTP, rows).to_polars()
    flags = prefilter.column_flags(frame, engine=engine)
    assert flags[prefilter.ANY].to_list() == [True] * len(BARE) + [False]
