"""``window_evidence.cite`` answers what the judges used to ask Polars one question at a time:
the first and last whole failures of each fired group, how many were listed, the anchor, the
successes from the same accounts or sources, and the references. Checked against those
questions asked the old way, on folded windows with out-of-order rows, nulls and a cap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from watchhouse.core.events import Dataset
from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.credential_stuffing import CredentialStuffingDetector
from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, TumblingWindows
from watchhouse.detectors.accounts.window_evidence import cite, in_group_order
from watchhouse.testing.factories import BASE_TIME, make_batch

from .evidence_reference import first_refs, grouped_evidence, head_and_tail

US = 1_000_000
T0 = 1_772_000_000 * US


def _closed_rows() -> pl.DataFrame:
    """Three fingerprints failing from a pool of addresses over two 600 s windows, with successes
    from some of the same addresses and accounts, a few addresses missing, rows slightly out of
    order, in batches; folded so that a group keeps its first 4 and last 3 failures whole."""
    rng = np.random.default_rng(11)
    n = 3_000
    ts = T0 + np.sort(rng.integers(0, 1_200 * US, n)) + rng.integers(-20 * US, 0, n)
    ips = [f"86.0.{i % 5}.{i % 97}" if i % 41 else None for i in rng.integers(0, 10_000, n)]
    rows = pl.DataFrame(
        {
            "ts": ts,
            "path": "auth.jsonl",
            "line": np.arange(1, n + 1),
            "offset": None,
            "key": rng.choice(["kit/1.0", "kit/2.0", "browser/9"], n, p=[0.6, 0.3, 0.1]),
            "ip": ips,
            "user": [f"combo-{i % 211}" for i in rng.integers(0, 10_000, n)],
            "outcome": np.where(rng.random(n) < 0.1, "success", "failure"),
            "reason": np.where(rng.random(n) < 0.3, "unknown_user", "bad_password"),
        },
        schema=INPUT_SCHEMA,
    )
    windows = TumblingWindows(
        window=600 * US, lateness=60 * US, promote_at=3, horizon=600 * US, fold_head=4, fold_tail=3, fold_min_rows=50
    )
    parts = [part for i in range(0, n, 400) for part in windows.update(rows.slice(i, 400))]
    out = pl.concat([*parts, *windows.flush()], how="diagonal_relaxed")
    assert out["seq"].null_count() > 0  # some failures were folded away
    return out


def _asked_the_old_way(rows: pl.DataFrame, fired: pl.DataFrame, on: str, cap: int | None) -> dict[str, object]:
    by = ["win", "key"]
    rows = rows.join(fired, on=by, how="semi").with_columns(fail=pl.col("outcome") == "failure")
    fails = rows.filter("fail")
    taken = rows.filter(~pl.col("fail")).join(fails.select(*by, on).drop_nulls().unique(), on=[*by, on], how="semi")
    cited = head_and_tail(fails, by, pl.col("evidence_head"), pl.col("evidence_tail"))
    listed = cited.group_by(by).len().sort(by)
    shown = pl.concat([cited, taken])
    return {
        "refs": grouped_evidence(shown, by, cap if cap is not None and shown.height > cap else None),
        "listed": listed["len"].to_list(),
        "anchor": first_refs(cited, by).sort(by)["anchor"].to_list(),
        "taken": sorted(taken.select(*by, "user").iter_rows()),
    }


@pytest.mark.parametrize(("on", "cap"), [("ip", None), ("user", None), ("ip", 5)])
def test_cite_answers_as_the_separate_questions_did(on: str, cap: int | None) -> None:
    rows = in_group_order(_closed_rows())
    groups = rows.group_by("win", "key", maintain_order=True).len()
    assert groups.height >= 6
    for fired in (np.arange(groups.height) % 2 == 0, np.ones(groups.height, dtype=bool)):
        got = cite(rows, groups["len"].to_numpy(), fired, on=on, cap=cap)
        want = _asked_the_old_way(rows, groups.filter(pl.Series(fired)).select("win", "key"), on, cap)
        assert got.refs == want["refs"]
        assert got.listed == want["listed"] and got.anchor == want["anchor"]
        assert sorted(got.taken.iter_rows()) == want["taken"]
        assert got.taken.height > 0 and max(got.listed) == 4 + 3  # taken rows exist; the cut applied
        sides = rows.group_by("win", "key", maintain_order=True).agg(pl.col("evidence_head").first())
        assert got.head == sides.filter(pl.Series(fired))["evidence_head"].to_list()
        assert all(type(n) is int for n in [*got.head, *got.tail, *got.listed])
        if cap is not None:
            assert max(len(refs) for refs in got.refs.values()) == cap


def test_a_detector_folding_its_windows_reports_what_it_reports_unfolded() -> None:
    """Stuffing over a kit's 3,000 logins from 150 addresses in 20 batches: folded while held
    (the judge then unfolds the counts and cites the first and last lines), the findings are
    those of windows never folded, field by field."""
    rng = np.random.default_rng(2)
    rows = [
        {
            "@timestamp": BASE_TIME + timedelta(seconds=float(t)),
            "source.ip": f"86.0.0.{i % 150}",
            "user.name": f"combo-{i % 997:04d}",
            "event.outcome": "success" if i % 29 == 0 else "failure",
            "event.reason": "unknown_user" if i % 3 == 0 else None,
            "event.action": "login",
            "service.name": "web",
            "user_agent.original": "kit/1.0",
        }
        for i, t in enumerate(np.sort(rng.uniform(0, 1_200, 3_000)))
    ]
    batches = [make_batch(Dataset.AUTH, rows[i : i + 150]) for i in range(0, len(rows), 150)]

    def findings(fold_min_rows: int) -> list[tuple[str, str, str, dict[str, Any], tuple[EventRef, ...], float]]:
        detector = CredentialStuffingDetector()
        detector._windows.fold_min_rows = detector._windows._fold_at = fold_min_rows
        out, folded = [], 0
        for batch in batches:
            out += detector.detect(batch)
            folded = max(folded, detector._windows.middle.height)
        out += detector.finalize()
        assert (folded > 0) == (fold_min_rows < 1_000)
        return [(f.key, f.title, f.explanation, f.details, f.evidence, f.confidence) for f in out]

    folded = findings(50)
    assert folded == findings(1_000_000)
    assert len(folded) == 2 and all("Evidence capped" in explanation for _, _, explanation, *_ in folded)
