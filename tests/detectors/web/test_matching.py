"""Matcher and explanation details that the detector-level tests do not isolate."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import pytest

from watchhouse.detectors.web import matching
from watchhouse.detectors.web.engines import ColumnScanner, any_matches
from watchhouse.detectors.web.explain import SENSITIVE_NAME, redact_url
from watchhouse.detectors.web.matching import Matcher, Part, request_parts
from watchhouse.detectors.web.prefilter import part_symptoms
from watchhouse.detectors.web.rules import Target, default_rules
from watchhouse.detectors.web.token_checks import TokenChecks


def _matcher() -> Matcher:
    return Matcher(default_rules().at_paranoia(2), part_symptoms(2), checks=TokenChecks(2))


def test_a_value_repeated_within_a_batch_is_decoded_once_and_hit_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full requests repeat header values (Host, a session cookie, one payload sprayed over many
    parameters): each distinct value is decoded and matched once, every part carrying it gets the hits."""
    seen: list[tuple[Target, bool, str]] = []
    decode_all = matching._decode_all

    def spy(parts: list[Part], with_base64: bool) -> matching._Decodings:
        seen.extend((part.target, part.plus_as_space, part.raw) for part in parts)
        return decode_all(parts, with_base64)

    monkeypatch.setattr(matching, "_decode_all", spy)
    headers = '{"Host":"shop.example","Cookie":"sid=1%27%20or%201=1--"}'
    parts = [
        *request_parts("/a?q=1%27%20or%201=1--", None, None, "curl/8.5", headers),
        *request_parts("/b?id=1%27%20or%201=1--&page=2", None, None, "curl/8.5", headers),
    ]
    found = _matcher().match(parts)
    assert len(seen) == len(set(seen))  # nothing decoded twice
    assert (Target.QUERY, True, "1%27%20or%201=1--") in seen
    by_part: dict[int, set[str]] = {}
    for index, hit in found:
        assert hit.part is parts[index]
        by_part.setdefault(index, set()).add(hit.rule.id)
    payload_parts = [i for i, part in enumerate(parts) if part.raw == "1%27%20or%201=1--"]
    assert len(payload_parts) == 4  # two query parameters, two cookie values
    assert all(by_part.get(i) for i in payload_parts)
    assert len({frozenset(by_part[i]) for i in payload_parts if parts[i].target is Target.QUERY}) == 1
    fresh = _matcher().match([parts[payload_parts[-1]]])
    assert {hit.rule.id for _, hit in fresh} == by_part[payload_parts[-1]]


def test_the_symptom_gate_scans_once_per_pattern_and_keeps_what_each_value_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parts are gated with one scan per symptom pattern (the path, query, body and referrer share the
    URL's), and each part keeps the verdict its value gets scanned alone with its target's pattern."""
    matcher = _matcher()
    headers = '{"Host":"shop.example","X-Probe":"() { :; }; /bin/id","Cookie":"sid=abc"}'
    parts = [
        *request_parts(
            "/a/../../etc/passwd?q=shoes&id=1%27%20or%201=1--",
            "user=bob&note=<b>hi</b>",
            "https://ref.example/?x=1",
            "sqlmap/1.7",
            headers,
        ),
        *request_parts("/plain/page?page=2", None, "https://shop.example/", "Mozilla/5.0", '{"Host":"shop.example"}'),
    ]
    scanners = matcher._symptom_scanners
    assert scanners is not None
    alone = [i for i, part in enumerate(parts) if any_matches(scanners[part.target], [part.raw])]
    scans: list[int] = []

    def counting(scanner: ColumnScanner, values: Sequence[str]) -> list[int]:
        scans.append(len(values))
        return any_matches(scanner, values)

    monkeypatch.setattr(matching, "any_matches", counting)
    assert matcher._with_symptoms(parts) == alone
    assert 0 < len(alone) < len(parts)  # the payloads pass, "page=2" and the plain path do not
    assert len(scans) == len({id(scanners[part.target]) for part in parts}) == 3  # URL, agent, headers
    assert sum(scans) == len(parts)


@pytest.mark.parametrize(
    "url",
    [
        "/login?user=bob&password=hunter2",
        "/x?SessionID=abc123&q=1",
        "/pay?cc_num=4111111111111111",
        "/x?to\u212aen=abc123",  # KELVIN SIGN: a case-insensitive regex folds it onto "k"
        "/x;api-key=abc123",
        "/search?q=compass+pinboard",  # pieces of sensitive names inside values only
        "/plain/path?page=2",
    ],
)
def test_url_redaction_screen_agrees_with_the_sensitive_name_pattern(url: str) -> None:
    """The cheap screen in front of the redaction must never skip a URL the pattern would redact."""
    shown = redact_url(url, frozenset(), 200)
    if SENSITIVE_NAME.search(url) is None:
        assert shown == url
    names = [piece.split("=")[0] for piece in url.replace(";", "&").replace("?", "&").split("&")[1:]]
    for name in names:
        if SENSITIVE_NAME.search(name):
            assert f"{name}=[redacted]" in shown
        else:
            assert f"{name}=[redacted]" not in shown


def test_a_header_record_is_split_once_per_distinct_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client repeats its header record on every request: the parts come from the first split."""
    monkeypatch.setattr(matching, "_header_parts_of", OrderedDict())
    monkeypatch.setattr(matching, "HEADER_PARTS_MAX_ENTRIES", 4)
    headers = '{"Host":"shop.example","Foo":"1","Cookie":"sid=1%27%20or%201=1--; theme=dark"}'
    first = request_parts("/a", None, None, None, headers)
    assert [(p.target, p.name, p.raw, p.is_name) for p in first[1:]] == [
        (Target.HEADERS, "host", "shop.example", False),
        (Target.HEADERS, "foo", "Foo", True),  # an unknown header's name is inspected too
        (Target.HEADERS, "foo", "1", False),
        (Target.HEADERS, "cookie", "sid=1%27%20or%201=1--; theme=dark", False),
        (Target.HEADERS, "cookie:sid", "1%27%20or%201=1--", False),
        (Target.HEADERS, "cookie:theme", "dark", False),
    ]
    again = request_parts("/b", None, None, None, headers)
    assert again[0].raw == "/b"
    assert all(a is b for a, b in zip(again[1:], first[1:], strict=True))  # not split again
    assert "cookie:sid" in {hit.part.name for _, hit in _matcher().match(again)}  # and are matched as parts
    for i in range(6):  # bounded: the oldest texts make way
        request_parts("/", None, None, None, f'{{"Host":"h{i}.example"}}')
    assert len(matching._header_parts_of) == 4 and headers not in matching._header_parts_of
    long = '{"Cookie":"' + "x" * matching.HEADER_PARTS_MAX_CHARS + '"}'
    assert request_parts(None, None, None, None, long)[0].name == "cookie"
    assert long not in matching._header_parts_of
