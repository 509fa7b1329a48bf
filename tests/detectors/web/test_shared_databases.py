"""Fewer Hyperscan databases for the same answers: a web detector built on an empty cache (every
fresh machine, every CI run) compiled the large URL symptom pattern four times, once per column
that reads it and once alone for request parts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from watchhouse.detectors.web import engines, prefilter
from watchhouse.detectors.web.engines import (
    EngineName,
    FirstPattern,
    HyperscanColumnScanner,
    column_scanner,
    hyperscan_available,
)
from watchhouse.detectors.web.policy import COLUMN_SYMPTOMS

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")

VALUES = pl.Series(
    "v",
    [
        "/index.html",
        "/?id=1' or '1'='1",
        None,
        "/a?x=%00",
        "<script>alert(1)</script>",
        "/download?f=../../etc/passwd",
        "",
    ],
)


def test_a_pattern_asked_alone_after_it_was_joined_reuses_that_database() -> None:
    pattern, rider = r"(?i)union\s+select|\.\./", r"%00"
    joined = column_scanner(pattern, EngineName.HYPERSCAN, rider)
    alone = column_scanner(pattern, EngineName.HYPERSCAN)
    assert isinstance(alone, FirstPattern) and alone.joined is joined
    # the same rows as a database of the pattern alone would flag
    assert alone.flags(VALUES).to_list() == HyperscanColumnScanner(pattern).flags(VALUES).to_list()
    assert alone.each(VALUES)[0].to_list() == [False, False, False, False, False, True, False]


@pytest.mark.slow
def test_the_prefilter_compiles_the_url_pattern_once_for_every_column_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    column_scanner.cache_clear()
    monkeypatch.setattr(engines, "_JOINED", {})
    compiled: list[tuple[str, ...]] = []
    real = engines.compile_database

    def counting(expressions: list[str], flags: list[int], ids: list[int] | None = None) -> object:
        compiled.append(tuple(expressions))
        return real(expressions, flags, ids)

    monkeypatch.setattr(engines, "compile_database", counting)
    paranoia = 1
    prefilter.prepare(EngineName.HYPERSCAN, paranoia, also=COLUMN_SYMPTOMS)
    for pattern in set(prefilter.part_symptoms(paranoia).values()):
        column_scanner(pattern, EngineName.HYPERSCAN)  # the exact matcher's part gates
    # one database per distinct prefilter pattern (URL, agent, headers): not one per column
    # reading it (URL, body, referrer) plus one more for request parts
    assert len(compiled) == len(set(prefilter.column_patterns(paranoia).values())) == 3
    column_scanner.cache_clear()  # later tests build their scanners against the real cache


def test_column_flags_give_each_column_its_own_riders_flags() -> None:
    """The URL, body and referrer columns share one database holding all three policy symptoms;
    each still reports only its own symptom's flags (a NUL in the referrer, not in the URL)."""
    frame = pl.DataFrame(
        {
            "url.original": ["/a", "/b?x=%00"],
            "http.request.body.content": [None, "a=b"],
            "http.request.referrer": ["https://x/%00", None],
            "user_agent.original": ["Mozilla/5.0", "curl/8"],
        }
    ).with_columns(
        *(
            pl.lit(None, dtype=pl.String).alias(c)
            for c in prefilter.column_patterns(1)
            if c not in {"url.original", "http.request.body.content", "http.request.referrer", "user_agent.original"}
        )
    )
    flags = prefilter.column_flags(frame, EngineName.HYPERSCAN, 1, also=COLUMN_SYMPTOMS)
    alone = {
        name: column_scanner(pattern, EngineName.POLARS).flags(frame[column]).to_list()
        for name, column, pattern in COLUMN_SYMPTOMS
    }
    for name, _, _ in COLUMN_SYMPTOMS:
        assert flags[name].to_list() == alone[name], name
    assert flags["_policy:referrer"].to_list() == [True, False]
