"""Decoding steps and the rule pack: each step, idempotence, totality, portability, linear time."""

from __future__ import annotations

import re
import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.web import decoding
from watchhouse.detectors.web.decoding import (
    Decoded,
    base64_view,
    collapse_whitespace,
    decode,
    html_decode,
    shell_view,
    sql_view,
    url_decode,
)
from watchhouse.detectors.web.rules import Rule, RuleSet, ascii_pattern, default_rules, repetition_risk

RULES = default_rules()


@pytest.mark.parametrize(
    ("raw", "plus", "text", "step"),
    [
        ("%27%20or%201%3D1", False, "' or 1=1", "url_decode"),
        ("%2527", False, "'", "url_decode"),
        ("%u003cscript", False, "<script", "percent_u"),
        ("..%c0%af..%c0%afetc", False, "../../etc", "overlong_utf8"),
        ("a+b", True, "a b", "plus_as_space"),
        ("&lt;img&gt; &#39; &#x3c;", False, "<img> ' <", "html_entities"),
        ("＜ｓｃｒｉｐｔ＞", False, "<script>", "nfkc"),
        ("a%00b", False, "ab", "null_bytes"),
        ("UNION", False, "union", "lowercase"),
    ],
)
def test_each_decoding_step(raw: str, plus: bool, text: str, step: str) -> None:
    out = decode(raw, plus_as_space=plus)
    assert out.text == text
    assert step in out.steps


def test_plus_only_in_queries_and_only_once() -> None:
    assert decode("a+b").text == "a+b"
    assert decode("a%2Bb", plus_as_space=True).text == "a+b"


def test_steps_are_recorded_only_when_they_change_something() -> None:
    assert decode("plain") == Decoded("plain", ())
    assert decode("Plain").steps == ("lowercase",)
    assert decode("%252e", plus_as_space=False).steps == ("url_decode", "url_decode")


def test_sql_view_removes_comments_and_keeps_versioned_content() -> None:
    out = sql_view(decode("1/*!50000UNION*//**/SELECT/**/1"))
    assert out.text == "1 union select 1"
    assert "sql_versioned_comments" in out.steps and "sql_comments" in out.steps


def test_shell_view_undoes_quote_splitting_and_ifs() -> None:
    assert shell_view(decode("c'a't${IFS}/etc/passwd")).text == "cat /etc/passwd"
    assert shell_view(decode('w"h"o"am"i')).text == "whoami"
    assert shell_view(decode("c\\at /etc/hosts")).text == "cat /etc/hosts"


_ESCAPES = st.text(alphabet="aZ9+/=%25cCeE0fF1 \t\u00a0\u2003\x1c'\"$\\", max_size=40)


@settings(max_examples=400, deadline=None)
@given(_ESCAPES, st.booleans(), _ESCAPES, st.booleans())
def test_base64_view_is_the_same_after_any_other_decoding(first: str, plus: bool, raw: str, raw_plus: bool) -> None:
    """The base and base64 views share one percent-decoding per value; another value's never leaks in."""
    decode(first, plus_as_space=plus)
    after_other = (base64_view(raw, plus_as_space=raw_plus), decode(raw, plus_as_space=raw_plus))
    decode(raw, plus_as_space=not raw_plus)  # the same text under the other form decoding
    after_same_text = (base64_view(raw, plus_as_space=raw_plus), decode(raw, plus_as_space=raw_plus))
    decoding._last_url = ("", False, Decoded(""))
    fresh = base64_view(raw, plus_as_space=raw_plus)
    decoding._last_url = ("", False, Decoded(""))
    assert after_other == after_same_text == (fresh, decode(raw, plus_as_space=raw_plus))


_BASE64ISH = st.text(alphabet="abcXYZ019+/=_-%2F ", max_size=60)


@settings(max_examples=400, deadline=None)
@given(_BASE64ISH)
def test_base64_view_skips_single_case_text_as_its_tokens_would(text: str) -> None:
    """A value in one letter case cannot hold a mixed-case token, so base64_view returns at once; the
    same value with a short mixed-case word added (no token itself) takes the token loop and agrees."""
    for single in (text.lower(), text.upper()):
        assert base64_view(single) == base64_view(single + " Zz") == Decoded("")
    decoded = base64_view("cmd=Y2F0IC9ldGMvcGFzc3dk")  # "cat /etc/passwd", and its one-case spellings
    assert "cat /etc/passwd" in decoded.text and decoded.steps == ("base64", "lowercase")
    assert base64_view("cmd=y2f0ic9ldgmvcgfzc3dk").text == base64_view("CMD=Y2F0IC9LDGMVCGFZC3DK").text == ""


@settings(max_examples=400, deadline=None)
@given(_ESCAPES)
def test_shortcuts_agree_with_the_regexes(text: str) -> None:
    """collapse_whitespace's printable shortcut and the overlong pre-check change no result."""
    assert collapse_whitespace(Decoded(text)).text == re.sub(r"\s+", " ", text).strip()
    overlong = re.compile(r"%c0%af|%e0%80%af|%c0%2f|%c1%9c|%c1%1c|%c1%af|%c0%5c|%c0%ae|%e0%80%ae", re.IGNORECASE)
    assert decoding._replace_overlong(text + "%C0%AF") == overlong.sub(
        lambda m: decoding._OVERLONG_MAP[m.group(0).lower()], text + "%C0%AF"
    )
    assert decoding._replace_overlong(text) == overlong.sub(lambda m: decoding._OVERLONG_MAP[m.group(0).lower()], text)


def test_url_decoding_stops_after_max_passes() -> None:
    deep = "%" + "25" * 10 + "27"
    assert decode(deep).text.startswith("%")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decoding_never_raises(text: str) -> None:
    for plus in (False, True):
        base = decode(text, plus_as_space=plus)
        sql_view(base)
        shell_view(base)
        html_decode(Decoded(text))
        url_decode(Decoded(text), plus_as_space=plus)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="%&+")))
def test_decoding_is_stable_without_escapes(text: str) -> None:
    """Without %-escapes or entities left to undo, a second decode changes nothing."""
    once = decode(text).text
    assert decode(once).text == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc%2527<>&#;x0123456789'\"/.*!"))
def test_decoding_reaches_a_fixed_point_on_short_escapes(text: str) -> None:
    once = decode(text).text
    twice = decode(once).text
    assert decode(twice).text == twice or len(text) > 40


def test_every_rule_compiles_in_both_engines() -> None:
    probe = pl.Series(["x"])
    for rule in RULES:
        assert isinstance(rule.regex, re.Pattern)
        probe.str.contains("(?s)" + rule.engine_pattern)  # raises on a pattern Rust rejects


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="must look like"):
        Rule("SQLI-1", RULES.rules[0].attack_class, "t", "x")
    with pytest.raises(ValueError, match="not portable"):
        Rule("WH-SQLI-999", RULES.rules[0].attack_class, "t", r"(?<=a)b")
    # refused when the rule is made, though Python compiles the pattern only on first use
    for broken in (r"union(select", r"a{2,1}", r"[z-a]", r"x**"):
        with pytest.raises(ValueError, match="bad regex"):
            Rule("WH-SQLI-999", RULES.rules[0].attack_class, "t", broken)
    with pytest.raises(ValueError, match="duplicate"):
        RuleSet([RULES.rules[0], RULES.rules[0]])


def test_ascii_pattern_rewrites_classes() -> None:
    assert ascii_pattern(r"\bx[\w-]\d\s") == r"(?-u:\b)x[0-9a-z_-][0-9][\t\n\x0B\f\r ]"
    assert ascii_pattern(r"[^\s]") == r"[^\t\n\x0B\f\r ]"


ADVERSARIAL = [
    "a" * 20_000,
    "'" * 20_000,
    "<" * 20_000,
    "." * 20_000,
    "../" * 7_000,
    "%" * 20_000,
    "'" + ")" * 20_000,
    "<a " + "x" * 20_000,
    "; " * 10_000,
    "1 or " * 4_000,
    "(select " * 2_500,
    "/*" * 10_000,
]


def test_no_rule_nests_repeats_that_could_backtrack() -> None:
    """The structural guarantee: no rule multiplies repeats beyond the limit (checked at load too)."""
    assert [rule.id for rule in RULES if repetition_risk(rule.pattern)] == []
    assert repetition_risk(r"(a+)+") and repetition_risk(r"(?:x{1,64}){3,}") and repetition_risk(r"(?:(?:ab)*c)*")
    assert repetition_risk(r"(?:x{1,30}){3}") is None and repetition_risk(r"union\s+select") is None
    with pytest.raises(ValueError, match="backtrack"):
        Rule("WH-SQLI-998", RULES.rules[0].attack_class, "t", r"(?:'\s*)+or")


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:8]))
def test_no_rule_backtracks_catastrophically(text: str) -> None:
    """Each rule on a 20 KB hostile input, in both engines, far from catastrophic.

    The guarantee is structural (linear-time engines; :func:`repetition_risk` for Python ``re``,
    which recovers matched text); the budgets here are loose on purpose, so a busy machine cannot
    fail them, while exponential backtracking would still blow through them by orders of magnitude.
    """
    series = pl.Series([text])
    for rule in RULES:
        start = time.perf_counter()
        series.str.contains("(?s)" + rule.engine_pattern)
        rust = time.perf_counter() - start
        start = time.perf_counter()
        rule.regex.search(text)
        python = time.perf_counter() - start
        assert rust < 1.0, f"{rule.id} took {rust:.3f}s in the vectorised engine"
        assert python < 5.0, f"{rule.id} took {python:.3f}s in Python re"
