"""The travel table (:class:`.LastLogins`) against a plain dict of each account's last login.

Why a reference: the table keeps numbers in sorted arrays and the names by reference into the
batches they came from, gathering them into one frame when too many batches are held; a slip in
that bookkeeping (a row pointing into the wrong batch after a gather, an entry replaced by an
older login) shows only on some mixes of repeats, expiry and batch counts, which hypothesis makes.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.accounts.last_logins import NAME_SCHEMA, LastLogins
from watchhouse.detectors.accounts.sketches import hash_keys

USERS = ("p-alice", "p-bob", "p-carol", "p-dave", "p-erin")
COUNTRIES = ("DE", "FR", "BR")
#: per batch: logins (account, time, country) and then an expiry horizon (None: none)
batches_strategy = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(USERS), st.integers(0, 60), st.sampled_from(COUNTRIES)), max_size=8),
        st.one_of(st.none(), st.integers(0, 60)),
    ),
    max_size=14,
)


def merge(table: LastLogins, logins: list[tuple[str, int, str]], batch: int) -> None:
    """Each account's last login of ``logins`` (the detector merges one per account)."""
    frame = pl.DataFrame(
        {
            "user": [u for u, _, _ in logins],
            "country": [c for _, _, c in logins],
            "ip": [f"10.0.{batch}.{i}" for i in range(len(logins))],
            "path": [f"auth-{batch}.jsonl"] * len(logins),
            "line": [i + 1 for i in range(len(logins))],
            "offset": [100 * i for i in range(len(logins))],
        },
        schema=NAME_SCHEMA,
    )
    users = hash_keys(frame["user"])
    last_row = {int(u): i for i, u in enumerate(users)}
    accounts = np.array(sorted(last_row), dtype=np.uint64)
    rows = np.array([last_row[int(u)] for u in accounts], dtype=np.int64)
    ts = np.array([logins[r][1] for r in rows], dtype=np.int64)
    table.merge(accounts, ts, hash_keys(frame["country"])[rows], frame, rows)


@settings(max_examples=80, deadline=None)
@given(batches_strategy, st.integers(1, 3), st.booleans())
def test_last_logins_match_a_dict_of_last_logins(
    batches: list[tuple[list[tuple[str, int, str]], int | None]], most: int, tight: bool
) -> None:
    """Per account: the latest login merged (a later batch's wins a tie), forgotten once before
    the horizon; names and hashes stay right through gathers and a checkpoint."""
    table = LastLogins()
    table.MAX_GENERATIONS, table.SLACK_ROWS = most, 0 if tight else 100  # gather often
    expected: dict[str, tuple[int, str, str]] = {}
    for batch, (logins, horizon) in enumerate(batches):
        merge(table, logins, batch)
        latest: dict[str, tuple[int, str, str]] = {}
        for i, (user, t, country) in enumerate(logins):
            latest[user] = (t, country, f"10.0.{batch}.{i}")
        for user, login in latest.items():
            if user not in expected or login[0] >= expected[user][0]:
                expected[user] = login
        if horizon is not None:
            table.expire(horizon)
            expected = {u: login for u, login in expected.items() if login[0] >= horizon}
        if batch % 3 == 2:  # and through a checkpoint now and then
            table = LastLogins.from_json(json.loads(json.dumps(table.to_json())))
            table.MAX_GENERATIONS, table.SLACK_ROWS = most, 0 if tight else 100
        assert len(table._frames) <= most
        if tight:  # the generations hold at most four rows per entry
            assert sum(frame.height for frame in table._frames.values()) <= 4 * len(table)
    at, found = table.find(hash_keys(pl.Series(USERS)))
    for user, i, known in zip(USERS, at.tolist(), found.tolist(), strict=True):
        assert known == (user in expected), user
        if known:
            t, country, ip = expected[user]
            batch, place = (int(part) for part in ip.split(".")[2:])  # where the login stands in its file
            assert table.row(i) == {
                "user": user,
                "prev_ts": t,
                "prev_country": country,
                "prev_ip": ip,
                "prev_path": f"auth-{batch}.jsonl",
                "prev_line": place + 1,
                "prev_offset": 100 * place,
            }
            assert table.countries[i] == hash_keys(pl.Series([country]))[0]
    saved = table.to_json()
    assert saved["user"] == sorted(expected)
    assert saved["prev_ts"] == [expected[u][0] for u in sorted(expected)]


def test_a_checkpoint_written_before_places_were_kept_restores_with_none() -> None:
    """Checkpoints of the travel table once held names only; restored, their logins still hop
    (the countries are there) and cite no line, rather than failing to restore."""
    old: dict[str, list[object]] = {
        "user": ["p-alice"],
        "prev_ts": [5],
        "prev_country": ["DE"],
        "prev_ip": ["79.192.0.5"],
    }
    table = LastLogins.from_json(old)
    assert table.row(0) == {
        **{key: values[0] for key, values in old.items()},
        "prev_path": None,
        "prev_line": None,
        "prev_offset": None,
    }
