"""The event clock against a plain, row-by-row statement of its rule: a row is admitted unless
it is older than the largest earlier time of its own file minus the lateness; batching and
restarts change nothing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows

US = 1_000_000
LATENESS = 60 * US


def _rows(seed: int, n: int = 3_000) -> pl.DataFrame:
    """Three files read interleaved, times jittered by up to 45 s, a few rows without a
    time or a file (such rows are numbered but never admitted / fall in the file "")."""
    rng = np.random.default_rng(seed)
    ts = 1_772_000_000 * US + np.arange(n) * US + rng.integers(-45 * US, 45 * US, n)
    files = rng.choice(["auth.jsonl", "auth.jsonl.1", "web/auth.jsonl"], n, p=[0.6, 0.3, 0.1])
    return pl.DataFrame(
        {
            "ts": [None if rng.random() < 0.01 else int(t) for t in ts],
            "path": [None if rng.random() < 0.01 else str(f) for f in files],
            "line": np.arange(1, n + 1),
        },
        schema={"ts": pl.Int64, "path": pl.String, "line": pl.Int64},
    )


def _reference(rows: pl.DataFrame) -> list[int]:
    """Admitted lines, decided one row at a time."""
    top: dict[str, int] = {}
    out = []
    for ts, path, line in rows.iter_rows():
        path = path or ""
        if ts is not None and (path not in top or ts >= top[path] - LATENESS):
            out.append(line)
        if ts is not None:
            top[path] = max(top.get(path, ts), ts)
    return out


@pytest.mark.parametrize("batch", [1, 7, 250, 3_000])
def test_admission_follows_the_rule_whatever_the_batching(batch: int) -> None:
    rows = _rows(seed=batch)
    clock = EventClock(LATENESS)
    admitted = [clock.admit(rows.slice(i, batch)) for i in range(0, rows.height, batch)]
    got = pl.concat(admitted)
    assert got["line"].to_list() == _reference(rows)
    # every row is numbered in stream order, admitted or not
    assert got["seq"].to_list() == [line - 1 for line in got["line"].to_list()]
    assert clock.seq == rows.height
    assert got["path"].null_count() == 0
    late = rows.height - got.height
    assert 0 < late < rows.height // 2  # the jitter makes some rows late, not most


def test_a_restart_keeps_each_files_clock() -> None:
    rows = _rows(seed=3)
    clock = EventClock(LATENESS)
    first = clock.admit(rows.slice(0, 1_000))
    again = EventClock(LATENESS)
    again.load_json(clock.to_json())
    rest = again.admit(rows.slice(1_000))
    assert pl.concat([first, rest])["line"].to_list() == _reference(rows)
    assert set(again.watermarks) == {"", "auth.jsonl", "auth.jsonl.1", "web/auth.jsonl"}


def test_a_batch_without_times_admits_nothing_and_moves_no_clock() -> None:
    clock = EventClock(LATENESS)
    empty = pl.DataFrame({"ts": [None, None], "path": ["a", "a"]}, schema={"ts": pl.Int64, "path": pl.String})
    assert clock.admit(empty).height == 0 and clock.watermarks == {} and clock.seq == 2


@pytest.mark.parametrize("files", [["a.log"], ["a.log", "b.log"]])
def test_held_rows_go_when_their_files_watermark_passes_them_and_groups_go_whole(files: list[str]) -> None:
    schema = {"path": pl.String(), "due": pl.Int64(), "win": pl.Int64()}
    held = HeldRows(schema, group="win")
    # window 0 is due in every file; window 10's row in the last file is not yet
    held.add(
        pl.DataFrame(
            {
                "path": files * 2,
                "due": [5] * len(files) + [15] * len(files),
                "win": [0] * len(files) + [10] * len(files),
            },
            schema=schema,
        )
    )
    held.add(pl.DataFrame({"path": [files[-1]], "due": [25], "win": [10]}, schema=schema))
    marks = {path: 20 for path in files} | {"never-seen.log": 99}
    released = held.release(marks)
    assert released["win"].to_list() == [0] * len(files) and held.height == len(files) + 1
    marks[files[-1]] = 30
    assert sorted(held.release(marks)["due"].to_list()) == [15] * len(files) + [25] and held.height == 0


@pytest.mark.parametrize("batch", [1, 250, 3_000])
def test_admission_decides_what_admit_does_without_building_the_rows(batch: int) -> None:
    """``admission`` (the windows number and filter the rows themselves) and ``admit`` agree on
    the numbering and on every row, batch after batch, files, missing times and files included."""
    rows = _rows(seed=7)
    by_admit, by_admission = EventClock(LATENESS), EventClock(LATENESS)
    for start in range(0, rows.height, batch):
        part = rows.slice(start, batch)
        admitted = by_admit.admit(part)
        first, keep = by_admission.admission(part)
        numbered = part.with_columns(seq=pl.int_range(first, first + part.height, dtype=pl.Int64))
        expected = numbered if keep is None else numbered.filter(pl.Series(keep))
        assert admitted.select("seq", "line").equals(expected.select("seq", "line"))
        assert by_admission.max_seen == by_admit.max_seen and by_admission.seq == by_admit.seq
    assert by_admit.seq == rows.height
