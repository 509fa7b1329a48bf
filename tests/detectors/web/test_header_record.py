"""One parse of a header record serves both its readers: matching's parts and the policy's lookups."""

from __future__ import annotations

from collections import OrderedDict

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.detectors.web import header_record, matching, policy
from watchhouse.detectors.web.header_record import header_fields
from watchhouse.detectors.web.matching import request_parts
from watchhouse.detectors.web.policy import RequestPolicy
from watchhouse.detectors.web.rules import Target


@pytest.fixture
def fresh_memories(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name in ((header_record, "_fields_of"), (matching, "_header_parts_of"), (policy, "_parsed")):
        monkeypatch.setattr(module, name, OrderedDict())


def test_fields_keep_order_names_as_sent_and_text_values() -> None:
    text = '{"Host":"a.example","X-Num":7,"Accept":["text/html",null,"*/*"],"Empty":null,"Flag":true}'
    assert header_fields(text) == (
        ("Host", ("a.example",)),
        ("X-Num", ("7",)),
        ("Accept", ("text/html", "*/*")),  # a header sent twice; the null is no value
        ("Empty", ()),
        ("Flag", ("True",)),
    )


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"Host: a"', "{", "null"])
def test_a_text_that_is_not_an_object_has_no_fields(text: str) -> None:
    assert header_fields(text) is None
    # matching then inspects it whole, and the policy reads no header from it
    assert [(p.target, p.name, p.raw) for p in request_parts(None, None, None, None, text)] == [
        (Target.HEADERS, None, text)
    ]
    assert policy._parse_headers(text) == {}


def test_a_header_text_is_parsed_once_for_both_readers(fresh_memories: None, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_loads = orjson.loads

    def counting_loads(text: str | bytes) -> object:
        parsed.append(str(text))
        return real_loads(text)

    monkeypatch.setattr(orjson, "loads", counting_loads)
    headers = '{"Host":"shop.example","Content-Type":"text/x-unknown","Request-Range":"bytes=0-1"}'
    parts = request_parts("/a", None, None, None, headers)
    assert {p.name for p in parts if p.target is Target.HEADERS} == {"host", "content-type", "request-range"}
    found = {hit.rule.id for hit in RequestPolicy(4).hits({"http.request.headers": headers, "url.original": "/a"})}
    assert "WH-POL-003" in found  # Request-Range, read by name from the shared parse
    assert parsed == [headers]


def test_the_memory_is_bounded(fresh_memories: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header_record, "FIELDS_MAX_ENTRIES", 3)
    texts = [f'{{"Host":"h{i}.example"}}' for i in range(5)]
    for text in texts:
        header_fields(text)
    assert list(header_record._fields_of) == texts[-3:]
    long = '{"Cookie":"' + "x" * header_record.FIELDS_MAX_CHARS + '"}'
    assert header_fields(long) == (("Cookie", ("x" * header_record.FIELDS_MAX_CHARS,)),)
    assert long not in header_record._fields_of


_json_values = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=8))


@given(st.dictionaries(st.text(max_size=8), st.one_of(_json_values, st.lists(_json_values, max_size=3)), max_size=5))
def test_both_readers_see_what_the_record_says(record: dict[str, object]) -> None:
    """Against a plain reading of the object: parts carry each non-null value's text under the
    lower-cased name, and the policy's lookup gathers a name's values in any letter case."""
    text = orjson.dumps(record).decode()
    expected = [
        (name, str(v))
        for name, value in record.items()
        for v in (value if isinstance(value, list) else [value])
        if v is not None
    ]
    values = [(p.name, p.raw) for p in request_parts(None, None, None, None, text) if not p.is_name]
    assert [pair for pair in values if not (pair[0] or "").startswith("cookie:")] == [
        (name.lower(), v) for name, v in expected
    ]
    lookup = policy._parse_headers(text)
    for name, v in expected:
        assert v in lookup[name.lower()]
