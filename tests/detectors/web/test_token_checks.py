"""Tokenizer checks (WH-SQLT / WH-XSST): lexers, fingerprints, verdicts, and their place in the detector."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.decoding import Decoded, decode
from watchhouse.detectors.web.fingerprints import _context_verdict, judge_sql, judge_xss
from watchhouse.detectors.web.rules import Target
from watchhouse.detectors.web.token_checks import TOKEN_RULES, TokenChecks
from watchhouse.detectors.web.tokenize_html import HtmlContext
from watchhouse.detectors.web.tokenize_html import _tokenize as _tokenize_html_reference
from watchhouse.detectors.web.tokenize_html import tokenize as tokenize_html
from watchhouse.detectors.web.tokenize_sql import Context, fingerprint, fold, tokenize
from watchhouse.testing.factories import make_batch

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns" / "token_checks.jsonl"
CASES = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


def _fp(text: str, context: Context = Context.NONE) -> str:
    return fingerprint(fold(tokenize(text, context)))


# -- SQL lexer -------------------------------------------------------------------------------------


def test_sql_token_classes() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("1 union select @@version, char(65) from t where a<>'x' -- c")]
    assert kinds == [
        ("n", "1"),
        ("U", "union"),
        ("E", "select"),
        ("v", "@@version"),
        (",", ","),
        ("f", "char"),
        ("(", "("),
        ("n", "65"),
        (")", ")"),
        ("k", "from"),
        ("b", "t"),
        ("k", "where"),
        ("b", "a"),
        ("o", "<>"),
        ("s", "'x'"),
        ("c", "-- c"),
    ]


def test_quote_context_closes_the_applications_literal() -> None:
    assert _fp("1' or '1'='1", Context.SINGLE) == "s&sos"
    assert _fp('admin")--', Context.DOUBLE) == "s)c"
    assert _fp("no quote here", Context.SINGLE) == "s"  # nothing closes the literal: one string
    assert _fp("o''brien'x", Context.SINGLE) == "sb"  # a doubled quote escapes, the next one closes


def test_folding_merges_repeats_signs_and_concatenation() -> None:
    assert _fp("-1 or 1 = = 1") == "n&non"
    assert _fp("'a' 'b'") == "s"
    assert _fp("1 and not 2") == "n&n"
    assert _fp("((select") == "(E"


def test_comments_inside_are_noise_and_at_the_end_a_token() -> None:
    assert _fp("1/**/union/**/select") == "nUE"
    assert _fp("1 /*!50000union*/ select") == "nUE"
    assert _fp("1 or 1=1#") == "n&nonc"


@pytest.mark.parametrize(
    "value",
    ["1' or '1'='1", "-1 union all select 1,2--", "1;drop table users", "admin'--", "1) and sleep(5)", "(select 1)"],
)
def test_sql_injections_are_judged(value: str) -> None:
    assert judge_sql(value) is not None


@pytest.mark.parametrize(
    "value",
    ["o'brien", "1442431887503330", "c/ caridad s/n", "3 rooms, 2 baths", "rock 'n' roll", "john@example.org", "-3"],
)
def test_ordinary_values_are_not(value: str) -> None:
    assert judge_sql(value) is None


def test_sql_verdict_explains_fingerprint_and_tokens() -> None:
    verdict = judge_sql("x' or 2>1#")
    assert verdict is not None
    text = verdict.describe()
    assert verdict.fingerprint in text and "context single" in text and "&:or" in text


# -- HTML lexer ------------------------------------------------------------------------------------


def test_html_tags_and_attributes() -> None:
    (tag,) = tokenize_html("<img src=\"a.png\" onerror=alert(1) alt='x'>")
    assert tag.name == "img" and tag.complete and not tag.closing
    assert tag.attributes == (("src", "a.png"), ("onerror", "alert(1)"), ("alt", "x"))
    assert [t.name for t in tokenize_html("<scr<script>ipt>")] == ["scr", "script"]


def test_attribute_context_lets_a_value_add_attributes() -> None:
    (tag,) = tokenize_html('" autofocus onfocus="go()', HtmlContext.ATTR_DOUBLE)
    assert [name for name, _ in tag.attributes] == ["a", "autofocus", "onfocus"]
    verdict = judge_xss('" autofocus onfocus="go()')
    assert verdict is not None and verdict.check == "event"


def test_xss_checks_rank_and_markup_switch() -> None:
    assert judge_xss("<svg/onload=alert(1)>").check == "event"  # type: ignore[union-attr]
    assert judge_xss("<iframe src=//x>").check == "element"  # type: ignore[union-attr]
    assert judge_xss("<div title=x>hi</div>").check == "markup"  # type: ignore[union-attr]
    assert judge_xss("<div title=x>hi</div>", markup=False) is None
    assert judge_xss("3 < 4 and 5 > 2") is None


# -- totality and speed ----------------------------------------------------------------------------

_ALPHABET = st.sampled_from([*"'\"`()<>=;,-#/*!@$.: \t\n\\x1aoOr", "union", "select", "<a ", "on", "/*!"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join) | st.text(max_size=200))
def test_lexers_never_raise(text: str) -> None:
    for context in Context:
        fold(tokenize(text, context))
    for html_context in HtmlContext:
        tokenize_html(text, html_context)
    judge_sql(text.lower())
    judge_xss(text.lower())


_TAGLESS = st.lists(
    st.sampled_from([*"'\"`()>=;,-#/*!@$.: \t\n\\x1aoOr", "script", "a ", "onerror", "/x", "javascript:"]), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(_TAGLESS.map("".join) | st.text(max_size=200).map(lambda text: text.replace("<", "")))
def test_page_text_without_a_tag_opener_holds_no_tag(text: str) -> None:
    """Why judge_xss reads a value without "<" only in attribute contexts: as page text, where no
    synthetic tag is prefixed, nothing opens a tag (compiled lexer and reference alike)."""
    text = text.lower()
    assert tokenize_html(text, HtmlContext.TEXT) == []
    assert _tokenize_html_reference(text) == []
    for markup in (True, False):
        assert _context_verdict(text, HtmlContext.TEXT, markup) is None


def test_hostile_values_stay_fast() -> None:
    for value in ("'" * 20_000, "(" * 20_000, "<a " * 7_000, "/*" * 10_000, "a=" * 10_000):
        began = time.perf_counter()
        TokenChecks(4).check(Target.QUERY, Decoded(value))
        assert time.perf_counter() - began < 0.5


# -- in the detector -------------------------------------------------------------------------------


def _findings(value: str, paranoia: int) -> list[str]:
    batch = make_batch(Dataset.HTTP, [{"source.ip": "203.0.113.9", "url.original": "/s?q=" + quote(value)}])
    return [rule for f in WebAttackDetector(paranoia_level=paranoia).detect(batch) for rule in f.details["rules"]]


def test_every_token_rule_has_a_positive_and_a_near_miss() -> None:
    for rule in TOKEN_RULES:
        kinds = {case["kind"] for case in CASES if case["label"] == rule.id}
        assert kinds == {"positive", "near_miss"}, rule.id


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "positive"], ids=lambda c: c["label"])
def test_positive_fires_its_check(case: dict[str, str]) -> None:
    rule = next(r for r in TOKEN_RULES if r.id == case["label"])
    assert case["label"] in _findings(case["value"], max(2, rule.paranoia)), case["why"]


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "near_miss"], ids=lambda c: c["label"])
def test_near_miss_escapes_its_check_at_paranoia_4(case: dict[str, str]) -> None:
    assert case["label"] not in _findings(case["value"], 4), case["why"]


def test_paranoia_gates_token_rules() -> None:
    assert "WH-XSST-005" not in _findings('<a href="http://server.example/">x</a>', 1)
    assert set(TokenChecks(1).rules) == {r.id for r in TOKEN_RULES if r.paranoia == 1}


def test_explanation_shows_the_fingerprint() -> None:
    batch = make_batch(Dataset.HTTP, [{"source.ip": "203.0.113.9", "url.original": "/s?q=x%27%20oR%202%3E1%23"}])
    (finding,) = WebAttackDetector().detect(batch)
    assert "WH-SQLT-001" in finding.details["rules"]
    assert "fingerprint s&non" in finding.explanation and "context single" in finding.explanation


def test_checks_read_the_decoded_base_view() -> None:
    hits = TokenChecks(2).check(Target.QUERY, decode("%2527%20or%201%3D1--"))
    assert [rule.id for rule, *_ in hits] == ["WH-SQLT-001"]
