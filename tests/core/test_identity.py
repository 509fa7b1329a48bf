from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.core.identity import Pseudonymizer, is_pseudonym

KEY = b"k" * 32


def test_same_key_same_pseudonym_other_key_other_pseudonym() -> None:
    a, b = Pseudonymizer(KEY), Pseudonymizer(b"z" * 32)
    assert a.pseudonym("alice") == a.pseudonym("alice")
    assert a.pseudonym("alice") != b.pseudonym("alice")
    assert "alice" not in a.pseudonym("alice")
    assert is_pseudonym(a.pseudonym("alice"))


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymizer(b"short")


@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=50))
def test_column_matches_scalar_and_keeps_nulls(values: list[str | None]) -> None:
    p = Pseudonymizer(KEY)
    out = p.column(pa.array(values, pa.string())).to_pylist()
    assert out == [None if v is None else p.pseudonym(v) for v in values]


def test_pseudonyms_are_not_hashed_twice() -> None:
    p = Pseudonymizer(KEY)
    once = p.pseudonym("bob")
    assert p.pseudonym(once) == once
