"""``ascii_digits``: the test before ``int`` reads outside text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.core.digits import ascii_digits


@pytest.mark.parametrize("text", ["0", "42", "007", "9" * 40])
def test_ascii_digit_runs_pass(text: str) -> None:
    assert ascii_digits(text)


@pytest.mark.parametrize("text", ["", " 1", "1 ", "-1", "+1", "1_000", "1.0", "\u00b2", "4\u00b2", "\u0664", "\u2460"])
def test_signs_blanks_and_other_digit_signs_fail(text: str) -> None:
    """ "²" and "①" pass ``str.isdigit`` and "٤" passes ``str.isdecimal``: none is a number here."""
    assert not ascii_digits(text)


@given(st.text(max_size=12))
def test_what_passes_int_reads_as_its_ascii_digits(text: str) -> None:
    if ascii_digits(text):
        assert int(text) == sum(int(c) * 10**i for i, c in enumerate(reversed(text)))
        assert text.encode("ascii").isdigit()
