"""The takeover detector's account history: hashed entries must answer exactly like the string
table they replaced (seen before or not, known account or not, expiry, the country names)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.accounts.history import AccountHistory, _groups
from watchhouse.detectors.accounts.history_tables import REFS, ComboTable, CountedKeys
from watchhouse.detectors.accounts.sketches import hash_keys

US = 1_000_000
DAY = 86_400 * US


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 1000)), max_size=80), st.integers(0, 1000))
def test_combo_table_keeps_the_latest_time_of_each_combination(pairs: list[tuple[int, int]], horizon: int) -> None:
    """Touched or inserted in several calls, in any order: each combination keeps its largest time
    and its references; expiry drops exactly those whose largest time is before the horizon and
    hands back their references."""
    table, latest = ComboTable(), dict[int, int]()  # key -> largest time
    for start in range(0, len(pairs), 7):  # several batches, as a scan adds them
        chunk: dict[int, int] = {}
        for key, t in pairs[start : start + 7]:
            chunk[key] = max(chunk.get(key, t), t)
        keys = np.array(sorted(chunk), dtype=np.uint64)
        seen = np.array([chunk[k] for k in sorted(chunk)], dtype=np.int64)
        known = table.touch(keys, seen)
        assert known.tolist() == [int(k) in latest for k in keys]
        refs = np.repeat(keys[~known, None], REFS, axis=1) * np.arange(1, REFS + 1, dtype=np.uint64)[None, :]
        refs = refs.astype(np.uint64)
        table.insert(keys[~known], seen[~known], refs, np.ones(refs.shape, dtype=bool))
        for key, t in chunk.items():
            latest[key] = max(latest.get(key, t), t)
    assert table.keys.tolist() == sorted(latest)
    assert dict(zip(table.keys.tolist(), table.seen.tolist(), strict=True)) == latest
    assert (table.refs == table.keys[:, None] * np.arange(1, REFS + 1, dtype=np.uint64)).all()
    gone = table.expire(horizon)
    dead = sorted(k for k, t in latest.items() if t < horizon)
    assert table.keys.tolist() == sorted(k for k, t in latest.items() if t >= horizon)
    assert (gone is None) == (not dead)
    if gone is not None:
        assert sorted(gone[0][:, 0].tolist()) == dead and gone[1].all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), max_size=10), max_size=8))
def test_counted_keys_forget_a_key_when_its_last_holder_goes(batches: list[list[int]]) -> None:
    """Each batch adds its keys (repeats count twice), then takes back the previous batch's:
    a key is present exactly while its count, as a plain counter keeps it, is positive."""
    table, counter, previous = CountedKeys(), Counter[int](), np.zeros(0, dtype=np.uint64)
    for batch in batches:
        keys = np.array(batch, dtype=np.uint64)
        unique, counts = np.unique(keys, return_counts=True)
        known = table.merge(unique, counts.astype(np.int64))
        assert known.tolist() == [counter[int(k)] > 0 for k in unique]
        counter.update(batch)
        table.release(previous)
        counter.subtract(previous.tolist())
        previous = keys
        assert table.keys.tolist() == sorted(k for k, n in counter.items() if n > 0)
        assert table.counts.tolist() == [counter[k] for k in table.keys.tolist()]


def logins(rows: list[tuple[str, str | None, str | None, str | None, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"user": pl.String, "device": pl.String, "country": pl.String, "asn": pl.String, "ts": pl.Int64},
        orient="row",
    )


def test_history_answers_per_account_and_kind_and_forgets_by_event_time() -> None:
    history = AccountHistory()
    seen = logins(
        [
            ("p-alice", "d-laptop", "DE", "3320", 0),
            ("p-alice", "d-phone", None, None, 2 * DAY),
            ("p-bob", None, "FR", None, 5 * DAY),
        ]
    )
    history.add(seen, hash_keys(seen["user"]), ("device", "country", "asn"))
    users = hash_keys(pl.Series(["p-alice", "p-alice", "p-bob", "p-carol"]))
    assert history.known_users(users).tolist() == [True, True, True, False]
    # the same value under another kind, or for another account, is not "seen before"
    asked = pl.Series(["d-laptop", "DE", "DE", "DE"])
    assert history.seen_before(users, "device", asked).tolist() == [True, False, False, False]
    assert history.seen_before(users, "country", asked).tolist() == [False, True, False, False]
    assert history.countries("p-alice") == ["DE"] and history.countries("p-carol") == []
    history.expire(DAY)  # alice's laptop, Germany and AS3320 were last seen before it
    assert history.seen_before(users[:1], "device", pl.Series(["d-laptop"])).tolist() == [False]
    assert history.known_users(users).tolist() == [True, True, True, False]  # her phone keeps her known
    assert history.countries("p-alice") == [] and history.countries("p-bob") == ["FR"]
    history.expire(3 * DAY)
    assert history.known_users(users).tolist() == [False, False, True, False]
    assert len(history) == 1


def test_history_survives_a_json_round_trip() -> None:
    history = AccountHistory()
    seen = logins([("p-alice", "d-laptop", "DE", "3320", 0), ("p-bob", "d-x", "FR", None, 10)])
    history.add(seen, hash_keys(seen["user"]), ("device", "country", "asn"))
    restored = AccountHistory()
    restored.load_json(json.loads(json.dumps(history.to_json())))
    users = hash_keys(pl.Series(["p-alice", "p-bob"]))
    assert restored.seen_before(users, "asn", pl.Series(["3320", "3320"])).tolist() == [True, False]
    assert restored.known_users(users).tolist() == [True, True]
    assert restored.countries("p-bob") == ["FR"] and len(restored) == len(history) == 5


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([4, 5, 6, 7, 1 << 63, (1 << 63) + 1, 2**64 - 1]), max_size=40))
def test_groups_runs_equal_keys_together_in_position_order(values: list[int]) -> None:
    """``_groups`` packs each key's top bits with its position; keys that agree in those bits but
    differ below (4 to 7 among four keys, 2**63 and 2**63 + 1) must still fall in runs of their own."""
    keys = np.array(values, dtype=np.uint64)
    order, starts = _groups(keys)
    runs = np.split(order, starts[1:]) if keys.size else []
    assert sorted(keys[run[0]] for run in runs) == sorted(set(values))
    for run in runs:
        assert (keys[run] == keys[run[0]]).all() and run.tolist() == sorted(run.tolist())
    assert sorted(order.tolist()) == list(range(keys.size))
