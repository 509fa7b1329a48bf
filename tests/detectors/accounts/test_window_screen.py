"""Screening windows a batch opens and closes (``window_screen``): groups a screen turns down are
never held, and everything the kept groups are judged on (counts, successes seen, evidence
sides, folding) is what it was when every group was held."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, TumblingWindows
from watchhouse.detectors.accounts.window_screen import ClosingGroups

US = 1_000_000
T0 = 1_772_000_000 * US
KIT = "kit/1.0"


def _day() -> pl.DataFrame:
    """Three hours in one batch: a kit failing from many addresses all along, and 40 other
    fingerprints failing a few times each per 10 minutes next to their successes, so that each
    window holds 41 failing keys (the evidence sides shrink with that count)."""
    rng = np.random.default_rng(3)
    n = 12_000
    key = np.where(rng.random(n) < 0.4, KIT, np.array([f"agent/{i % 40}" for i in range(n)]))
    rows = pl.DataFrame(
        {
            "ts": T0 + np.sort(rng.integers(0, 3 * 3_600 * US, n)),
            "path": "auth.jsonl",
            "line": np.arange(1, n + 1),
            "offset": None,
            "key": key,
            "ip": [f"86.0.{i % 13}.{i % 239}" for i in rng.integers(0, 100_000, n)],
            "user": [f"combo-{i % 997}" for i in rng.integers(0, 100_000, n)],
            "outcome": np.where(rng.random(n) < 0.2, "success", "failure"),
            "reason": np.where(rng.random(n) < 0.3, "unknown_user", "bad_password"),
        },
        schema=INPUT_SCHEMA,
    )
    return rows


def _closing() -> pl.Expr:
    """The windows the batch opens and closes: they end before its watermark minus the horizon."""
    passing_before = int(_day()["ts"].max()) - (60 + 600 + 600) * US  # type: ignore[arg-type]
    return pl.col("win") < passing_before


def _kit_only(groups: ClosingGroups) -> npt.NDArray[np.bool_]:
    """A screen that keeps the closing groups with the most failures (the kit's) only."""
    return groups.failures > 50


def _released(screen: object, fold_min_rows: int) -> pl.DataFrame:
    windows = TumblingWindows(
        window=600 * US,
        lateness=60 * US,
        promote_at=3,
        horizon=600 * US,
        fold_head=30,
        fold_tail=20,
        fold_min_rows=fold_min_rows,
        fold_budget=41 * 50 * 2 // 5,  # 41 failing keys a window: the sides scale to 0.4
        screen=screen,  # type: ignore[arg-type]
    )
    parts = list(windows.update(_day())) + list(windows.flush())
    return pl.concat(parts, how="diagonal_relaxed")


def test_screened_out_keys_are_never_held_but_still_shrink_the_evidence_sides() -> None:
    for fold_min_rows in (100_000, 500):  # judged whole, and folded while held
        everything = _released(None, fold_min_rows)
        screened = _released(_kit_only, fold_min_rows)
        closing = _closing()
        assert screened.filter(closing)["key"].unique().to_list() == [KIT]
        kit = everything.filter(pl.col("key") == KIT)
        assert screened.filter(~closing)["key"].n_unique() == everything.filter(~closing)["key"].n_unique()
        columns = sorted(kit.columns)
        order = ["win", "key", "seq", "user"]
        assert (
            screened.filter(pl.col("key") == KIT)
            .select(columns)
            .sort(order, nulls_last=True)
            .equals(kit.select(columns).sort(order, nulls_last=True))
        )
        # the sides are those of 41 keys a window (0.4 x 30, and 10 at least), not of the kit alone
        sides = screened.filter(closing & pl.col("evidence_head").is_not_null())
        assert sides["evidence_head"].unique().to_list() == [12]
        assert sides["evidence_tail"].unique().to_list() == [10]
        if fold_min_rows == 500:
            assert screened["seq"].null_count() > 0  # folded while held, by the same sides


def test_a_screen_sees_what_the_judges_would_count() -> None:
    seen: list[ClosingGroups] = []

    def spy(groups: ClosingGroups) -> npt.NDArray[np.bool_]:
        seen.append(groups)
        return np.ones(groups.count, dtype=bool)

    everything = _released(spy, 100_000)
    (groups,) = seen
    fail = pl.col("outcome") == "failure"
    closed = everything.filter(_closing())
    expected = (
        closed.group_by("win", "key")
        .agg(
            failures=fail.sum(),
            successes=pl.col("successes_seen").first(),
            accounts=pl.col("user").filter(fail).n_unique(),
            sources=pl.col("ip").filter(fail).n_unique(),
        )
        .sort("failures", "successes", "accounts", "sources")
    )
    closing = groups.closing & (groups.failures > 0)
    got = pl.DataFrame(
        {
            "failures": groups.failures[closing],
            "successes": groups.successes[closing],
            "accounts": groups.distinct("user", groups.closing)[closing],
            "sources": groups.distinct("ip", groups.closing)[closing],
        }
    ).sort("failures", "successes", "accounts", "sources")
    assert got.height == expected.height > 40
    assert got.equals(expected.select(got.columns).cast(got.schema))


def test_a_batch_whose_closing_windows_hold_nothing_still_releases_older_ones() -> None:
    """Regression: a batch that closes a window where no key reaches ``promote_at`` (so nothing
    of it is held or asked) and releases an older window held since an earlier batch."""

    def login(t: float, key: str, outcome: str = "failure") -> dict[str, object]:
        return {
            "ts": T0 + int(t * US),
            "path": "sshd.log",
            "line": int(t),
            "offset": None,
            "key": key,
            "ip": key,
            "user": f"u{int(t)}",
            "outcome": outcome,
            "reason": None,
        }

    windows = TumblingWindows(window=600 * US, lateness=60 * US, promote_at=3, horizon=600 * US, screen=_kit_only)
    first = pl.DataFrame([login(t, "10.0.0.1") for t in range(0, 100, 20)] + [login(90, "10.0.0.1", "success")])
    assert list(windows.update(first.cast(INPUT_SCHEMA))) == []  # type: ignore[arg-type]
    later = pl.DataFrame([login(2_000, "10.0.0.2"), login(2_100, "10.0.0.3"), login(5_000, "10.0.0.4")])
    (released,) = windows.update(later.cast(INPUT_SCHEMA))  # type: ignore[arg-type]
    assert released["key"].unique().to_list() == ["10.0.0.1"] and released.height == 6
    assert released["successes_seen"].to_list() == [1] * 6
