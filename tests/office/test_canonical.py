"""Canonical JSON: the exact bytes that audit hashes and checkpoint signatures are computed over."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.office.canonical import MAX_SAFE_INTEGER, canonical_json


def test_sorted_keys_no_whitespace_utf8() -> None:
    value = {"b": [1, True, None], "a": {"z": "é", "y": -3}, "": "empty"}
    assert canonical_json(value) == '{"":"empty","a":{"y":-3,"z":"é"},"b":[1,true,null]}'.encode()


def test_string_escapes_follow_jcs() -> None:
    text = 'q"b\\s/\b\f\n\r\t\x00\x1f\x7f€'
    assert canonical_json(text) == b'"q\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\xe2\x82\xac"'


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16.
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ue000":1}'.encode()


@pytest.mark.parametrize(
    "bad",
    [1.5, MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1), {1: "x"}, b"bytes", "\ud800", {"k": {3.0}}],
)
def test_values_without_a_canonical_form_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)


#: lone surrogates ("Cs") have no canonical form (UTF-8 cannot encode them)
NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=NO_SURROGATES)),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=NO_SURROGATES), max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_canonical_form_is_json_and_a_fixed_point(value: Any) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded


bmp_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(max_codepoint=0xD7FF)),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=0xD7FF), max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(bmp_values)
def test_matches_an_independent_encoder_where_code_point_and_utf16_order_agree(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    assert canonical_json(value) == expected
