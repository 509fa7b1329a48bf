"""The one-query hashing of a batch of logins (:meth:`.AccountHistory.hashed`) and the null-aware
comparison (``takeover._is``) against the per-column functions they replace.

Why: a history holds only hashes, kept for months and saved in checkpoints, so a hash that
drifted from :func:`.hash_keys` / :func:`.value_hashes` (another seed, text hashed as a number,
a number hashed as its text in a version 1 history) would make every known device look new;
the digests of the simulated day would show it only for the columns that day happens to hold.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.accounts.history import AccountHistory, value_hashes
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.takeover import _is

KINDS = ("device", "country", "asn")
text = st.one_of(st.none(), st.sampled_from(["dev-1", "dev-2", "", "DE", "FR", "ünï"]))
logins_strategy = st.lists(
    st.tuples(st.sampled_from(["p-alice", "p-bob", "x"]), text, text, st.one_of(st.none(), st.integers(0, 2**31))),
    max_size=30,
)


def frame(rows: list[tuple[str, str | None, str | None, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"user": pl.String(), "device": pl.String(), "country": pl.String(), "asn": pl.Int64()},
        orient="row",
    )


@settings(max_examples=60, deadline=None)
@given(logins_strategy, st.booleans())
def test_hashed_equals_the_per_column_hashes(
    rows: list[tuple[str, str | None, str | None, int | None]], text_numbers: bool
) -> None:
    logins = frame(rows)
    history = AccountHistory()
    history.numbers_as_text = text_numbers
    hashed = history.hashed(logins, KINDS)
    assert np.array_equal(hashed.users, hash_keys(logins["user"]))
    for kind in KINDS:
        expected = value_hashes(logins[kind], numbers_as_text=text_numbers)
        assert hashed.values[kind].dtype == np.uint64
        assert np.array_equal(hashed.values[kind], expected), kind
        assert hashed.present[kind].tolist() == logins[kind].is_not_null().to_list(), kind


def test_numbers_and_their_text_hash_apart() -> None:
    """The mode matters: an AS number hashed as a number differs from its text's hash (what a
    version 1 history holds), so the flag must reach the one query."""
    logins = frame([("p-alice", "dev-1", "DE", 3320)])
    history = AccountHistory()
    as_number = history.hashed(logins, KINDS).values["asn"]
    history.numbers_as_text = True
    as_text = history.hashed(logins, KINDS).values["asn"]
    assert as_number[0] != as_text[0]
    assert as_text[0] == hash_keys(["3320"])[0]


def test_observe_gives_the_same_answers_with_and_without_hashed() -> None:
    first = frame([("p-alice", "dev-1", "DE", 1), ("p-bob", None, "FR", None), ("p-alice", "dev-1", "DE", 1)])
    second = frame([("p-alice", "dev-2", "FR", 1), ("p-bob", "dev-9", "FR", 2), ("p-carol", "dev-1", None, 3)])
    plain, fast = AccountHistory(), AccountHistory()
    for batch, ts in ((first, 0), (second, 10)):
        batch = batch.with_columns(ts=pl.int_range(ts, ts + batch.height, dtype=pl.Int64))
        hashed = fast.hashed(batch, KINDS)
        want = plain.observe(batch, hash_keys(batch["user"]), KINDS)
        got = fast.observe(batch, hashed.users, KINDS, hashed=hashed)
        assert got.known.tolist() == want.known.tolist()
        for kind in KINDS:
            assert got.new[kind].tolist() == want.new[kind].tolist(), kind
        assert got.countries.equals(want.countries)
    assert second.height and plain.to_json() == fast.to_json()


@given(st.lists(st.one_of(st.none(), st.sampled_from(["login", "success", "failure", ""])), max_size=20))
def test_is_matches_a_null_filled_comparison(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    got = _is(series, "login")
    assert got.dtype == np.bool_
    assert got.tolist() == [value == "login" for value in values]
