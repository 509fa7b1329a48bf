"""The request policy's shortcuts skip only work whose answer they already know.

Cheap word tests stand before slow case-insensitive regexes, escape-free values skip unquoting,
and header texts are parsed and screened once: each must leave every verdict as the full work
would give it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from urllib.parse import unquote_to_bytes

import pytest

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import policy as policy_module
from watchhouse.detectors.web import rules_request_shape as shape
from watchhouse.detectors.web.policy import RequestPolicy
from watchhouse.testing.factories import make_batch

_BROWSER = {"Host": "shop.example", "User-Agent": "Mozilla/5.0", "Accept": "text/html"}

_TEXTS = [
    "jsessionid=74B0CB41",
    "JSESSIONID=74B0CB41",
    "PHPSESSID=abc",
    "\u017fid=1",  # a long s, which re folds onto "s"
    "connect.SID=s%3Aabc",
    "cfid=1&cftoken=2",
    "shiny-token=x",
    "user_Login_Token=abc",
    "q=shoes&page=2",
    "_METHOD=DELETE",
    "a=1&_method=PUT",
    "_m\u00e9thod=PUT",
    "caf\u00e9=1",
    "",
]


@pytest.mark.parametrize("text", _TEXTS)
def test_word_tests_pass_every_text_the_regexes_match(text: str) -> None:
    if policy_module._SESSION_PARAM.search(text):
        assert policy_module._may_hold(text, policy_module._SESSION_WORDS)
    if policy_module._METHOD_PARAM.search(text):
        assert policy_module._may_hold(text, ("_method=",))


def test_word_tests_turn_away_plain_ascii_only() -> None:
    assert not policy_module._may_hold("q=shoes&page=2", policy_module._SESSION_WORDS)
    assert policy_module._may_hold("caf\u00e9=1", policy_module._SESSION_WORDS)  # non-ASCII: the regex decides


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("/login?JSESSIONID=74B0CB41", "WH-POL-007"),
        ("/login?\u017fid=74B0CB41", "WH-POL-007"),
        ("/api/items?_METHOD=DELETE", "WH-POL-006"),
        ("/x?q=%uff1c", "WH-POL-016"),
        ("/x?q=%01", "WH-POL-017"),
        ("/x?q=%5cu0027", "WH-POL-023"),
        ("/x?q=\\u0027", "WH-POL-023"),
        ("/site.sql", "WH-POL-009"),
        ("/x?q=%1G", "WH-POL-027"),
    ],
)
def test_checks_behind_shortcuts_still_fire(url: str, rule: str) -> None:
    row = {"http.request.method": "GET", "url.original": url, "http.request.headers": json.dumps(_BROWSER)}
    assert rule in {hit.rule.id for hit in RequestPolicy(2).hits(row)}


@pytest.mark.parametrize(
    "value", ["abc", "a+b", "%41%42", "caf\u00e9", "caf%C3%A9", "%zz", "a%", "\u6f22+%20", "x=y", ""]
)
def test_query_values_read_as_bytes_as_unquoting_reads_them(value: str) -> None:
    assert shape._byte_text(value) == unquote_to_bytes(value.replace("+", " ")).decode("latin-1")


def test_printable_ascii_test_is_the_byte_range_test() -> None:
    for byte in range(256):
        outside = byte < 0x20 or byte > 0x7E or byte == 0x25
        assert bool(shape._OUTSIDE_PRINTABLE.search(bytes([byte]))) is outside, byte


@pytest.mark.parametrize(
    ("query", "rules"),
    [
        ("q=caf%C3%A9", {"WH-POL-032", "WH-POL-035"}),
        ("q=%C3%28", {"WH-POL-031", "WH-POL-032", "WH-POL-035"}),
        ("q=caf\u00e9", {"WH-POL-032", "WH-POL-035"}),
        ("q=shoes&page=2", set()),
        ("a=1&a=2", {"WH-POL-034"}),
    ],
)
def test_query_shape_checks_at_paranoia_four(query: str, rules: set[str]) -> None:
    row = {"http.request.method": "GET", "url.original": "/s?" + query, "http.request.headers": json.dumps(_BROWSER)}
    found = {hit.rule.id for hit in RequestPolicy(4).hits(row)}
    assert found & {"WH-POL-031", "WH-POL-032", "WH-POL-034", "WH-POL-035"} == rules


def test_parsed_header_texts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_module, "_parsed", OrderedDict())
    monkeypatch.setattr(policy_module, "PARSED_MAX_ENTRIES", 8)
    texts = [json.dumps({**_BROWSER, "Cookie": f"id={i}"}) for i in range(20)]
    for text in texts:
        assert policy_module._parse_headers(text)["cookie"] == [json.loads(text)["Cookie"]]
    assert list(policy_module._parsed) == texts[-8:]  # the oldest made way
    long = json.dumps({**_BROWSER, "Cookie": "x" * (policy_module.PARSED_MAX_CHARS + 1)})
    assert policy_module._parse_headers(long)["host"] == ["shop.example"]
    assert long not in policy_module._parsed
    assert policy_module._parse_headers("not json") == {}


def test_screen_remembered_per_header_text_keeps_its_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated header texts in a batch and across batches get the verdict the first one got."""
    monkeypatch.setattr(policy_module, "_screened_headers", OrderedDict())
    sets = [
        {},
        {"Host": "192.0.2.10"},  # WH-POL-013 at PL2
        {"X-Note": "a\r\nb"},  # WH-POL-024, decided by the header alone
        {"Cookie": "$Version=1; id=2"},  # WH-POL-025
        {"Cookie": "id=3"},
    ]
    rows = [
        {"http.request.method": "GET", "url.original": "/", "http.request.headers": json.dumps({**_BROWSER, **extra})}
        for extra in sets
    ]
    policy = RequestPolicy(2)
    frame = make_batch(Dataset.HTTP, rows * 3).to_polars()
    expected = [bool(policy.hits(row)) for row in rows] * 3
    assert expected[:5] == [False, True, True, True, False]
    assert policy.mask(frame).to_list() == expected
    assert policy.mask(frame).to_list() == expected  # now from the remembered screens
    assert policy_module._screened_headers[rows[2]["http.request.headers"]] is policy_module._FIRES
