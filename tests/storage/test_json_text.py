"""The office's JSON columns are written by orjson (:func:`watchhouse.storage.engine.json_text`);
what they read back as must be what the standard library's text read back as, and what the
standard library refused is still refused."""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.storage.engine import json_text

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # past 64 bits too: left to the standard library
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text() | st.integers(), inner, max_size=4)
    ),  # integer keys: the standard library's way
    max_leaves=25,
)


@given(_VALUES)
def test_text_reads_back_as_the_standard_librarys_text_does(value: Any) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


class Level(enum.IntEnum):
    HIGH = 3


class Tag(str):
    """A str subclass (as a StrEnum's member is one): the standard library writes its text."""


def test_subclasses_wide_integers_and_other_keys_read_back_as_the_standard_librarys() -> None:
    for value in ({"level": Level.HIGH}, [Tag("x")], {"n": 2**70}, {1: "a"}, {"t": (1, Tag("y"))}):
        assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    assert json_text({"n": 2**70}) == json.dumps({"n": 2**70})  # orjson refuses: written by json.dumps


def test_what_the_standard_library_refuses_is_still_refused() -> None:
    with pytest.raises(TypeError):
        json_text({"at": datetime(2026, 1, 1, tzinfo=UTC)})


def test_a_nan_is_stored_as_null_not_as_a_token_that_is_not_json() -> None:
    assert json.dumps([math.nan]) == "[NaN]"  # what was written before, and PostgreSQL refuses
    assert json.loads(json_text([math.nan, math.inf, 1.5])) == [None, None, 1.5]


def test_text_is_compact_utf8() -> None:
    assert json_text({"q": "é\x00", "n": [1, 2]}) == '{"q":"é\\u0000","n":[1,2]}'
