"""The compiled twins (``watchhouse._native._weblex``) against the pure-Python reference.

Why differential: the Python lexers and decoders are the specification (their regular expressions
say what a token, a tag, an escape is); the compiled scanners re-implement them one code point at
a time, so any
difference in a character class, an alternative's order or a backtracking step shows up as a
different token list here. Inputs are random strings over the lexers' own alphabet (quotes,
comments, operators, keywords, tag openers), arbitrary Unicode including lone surrogates, NUL and
the characters ``re.IGNORECASE`` folds specially, values far past the lexing limits, and the CRS and
HttpParamsDataset payloads. Skipped where the kernels are not built (the reference then runs).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchhouse._native import PURE_PYTHON_ENV, pure_python_forced
from watchhouse.detectors.web import fingerprints
from watchhouse.detectors.web import tokenize_html as html
from watchhouse.detectors.web import tokenize_sql as sql
from watchhouse.detectors.web.decoding import _shell_unbreak_reference, _unquote_reference, decode
from watchhouse.detectors.web.evaluation import load_params
from watchhouse.detectors.web.fingerprints import _AS_IS_FIRST, judge_sql, judge_xss

try:
    from watchhouse._native import _weblex as weblex
except ModuleNotFoundError:  # what pytest.importorskip skips on
    pytest.skip("compiled kernels not built (pure Python runs)", allow_module_level=True)

HtmlTag = tuple[str, bool, tuple[tuple[str, str], ...], bool]

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"

_PIECES = [
    *"'\"`()[]<>=;,-#/*!@$.:%?&|^~+ \t\n\r\x0b\x0c\x1c\x1f\x00\xa0\\_xXbBeE019aAfF",
    *"\u212a\u0130\u0131\u017f\u0660\u0967\u00e9\u2028\u3000\ud800\udfff",  # folded by re, digits, spaces, surrogates
    *["union", "select", "or", "and", "not", "like", "from", "char", "concat", "null", "sleep", "Select"],
    *["/*", "*/", "/*!", "/*!50000", "--", "%00", ";\x00", "0x", "0b", "1e", "1.", ".5", "e+", "@@", "->>", "<=>"],
    *["<", "</", "<a ", "<img ", "<script", "</script>", "<svg/onload=", "<!--", "<![CDATA[", "<!doctype", "<?"],
    *["on", "onerror", "onx", "href", "src", "=", "='", '="', "=`", "javascript:", "style", ">", "</title>"],
    *["<x ", "<body>", "<div title=x>", "expression(", "java\tscript:alert(1)", "data:text/html,", "<iframe", "alert("],
    *["%", "%2", "%27", "%c3%a9", "%e2%82", "%ff", "%C0%AF", "%u0041", "%%41", "$@", "$1", "''", '""', "c'a't"],
]
_LEXER_TEXT = st.lists(st.sampled_from(_PIECES), max_size=50).map("".join)
_ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=120)


def _sql_reference(text: str, context: sql.Context, first: frozenset[str] | None) -> list[tuple[str, str]] | None:
    tokens = sql._leading_tokens(text, context, first)
    return None if tokens is None else [tuple(token) for token in tokens]  # type: ignore[misc]


def _sql_compiled(text: str, context: sql.Context, first: frozenset[str] | None) -> list[tuple[str, str]] | None:
    return weblex.sql_leading(text[: sql.MAX_LEX_CHARS], sql._QUOTE.get(context, ""), first, sql._WORD_KINDS)


def _html_reference(text: str, context: html.HtmlContext) -> list[tuple[object, ...]]:
    return [tuple(tag) for tag in html._tokenize(html._PREFIX[context] + text[: html.MAX_LEX_CHARS])]


def _html_compiled(text: str, context: html.HtmlContext) -> list[HtmlTag] | None:
    return weblex.html_tags(html._PREFIX[context] + text[: html.MAX_LEX_CHARS], html.MAX_TAGS)


def _lexer_of(module: ModuleType) -> object:
    """The compiled lexers ``module`` calls: its ``weblex``, imported from :mod:`watchhouse._native`
    (None where the pure-Python reference runs)."""
    return vars(module)["weblex"]


def _judge_xss_with(module: object, text: str, markup: bool) -> fingerprints.XssVerdict | None:
    """judge_xss with the compiled lexer and judge set to ``module`` (None: the pure-Python reference)."""
    with patch.object(fingerprints, "weblex", module), patch.object(html, "weblex", module):
        return judge_xss(text, markup=markup)


def assert_twins(text: str) -> None:
    """Same SQL tokens in every context (with and without a first-class filter), same HTML tags,
    same XSS verdicts, same percent-decoding and shell unbreaking."""
    assert weblex.unquote(text) == _unquote_reference(text)
    assert weblex.shell_unbreak(text) == _shell_unbreak_reference(text)
    for context in sql.Context:
        for first in (None, _AS_IS_FIRST, frozenset()):
            assert _sql_compiled(text, context, first) == _sql_reference(text, context, first), (text, context, first)
    for html_context in html.HtmlContext:
        compiled = _html_compiled(text, html_context)
        if compiled is not None:  # None: a non-ASCII tag name start, left to re's case folding
            assert compiled == _html_reference(text, html_context), (text, html_context)
    for markup in (True, False):
        assert _judge_xss_with(weblex, text, markup) == _judge_xss_with(None, text, markup), (text, markup)


@settings(max_examples=1500, deadline=None)
@given(_LEXER_TEXT)
@example("1.5e+3x 1.e5 12.a 0x1fg 0b102 .5e 1e+ 9$ \u0661\u0662.\u0663")
@example("[abc] [a b] [" + "x" * 64 + "] [" + "x" * 65 + "] `q")
@example("'it''s' 'a\\'b' 'open \\")
@example("<a b = 'c' d=\"e\" f=`g` h=i/j k =>l <x/onload=y></x> <!-- --> <?x <!DOCTYPE html> <![CDATA[")
@example("</ a> </> <\u212a onload=x> <\u017fvg> <\u0130mg> <\u00e9> <!\u212aoctype")
@example("%41%4 %zz %%41 %c3%a9\u00e9%a9 %ff %e2%82%ac%u0041")
@example("c'a't w\\hoami ''x\"\" a\"'b $@x x$1y x$@ '\"'\"")
def test_twins_on_lexer_alphabet(text: str) -> None:
    assert_twins(text)
    assert_twins(text.lower())


@settings(max_examples=1500, deadline=None)
@given(_ANY_TEXT)
def test_twins_on_any_unicode(text: str) -> None:
    assert_twins(text)


@pytest.mark.parametrize(
    "text",
    [
        "'" * 5_000,
        "1 or " * 2_000,
        "/*" * 3_000,
        "<a " * 3_000 + ">",
        "<x " + "a=b " * 100 + ">",
        "(" * 5_000,
        "x" * 10_000 + "' or 1=1",
        "\x00" * 3_000 + "union select",
    ],
    ids=lambda text: f"{text[:8]!r}x{len(text)}",
)
def test_twins_past_the_lexing_limits(text: str) -> None:
    assert_twins(text)


def test_public_api_uses_the_compiled_twins() -> None:
    """Where built and not switched off, the lexers' public functions run the compiled code."""
    if pure_python_forced():
        pytest.skip(f"{PURE_PYTHON_ENV} is set")
    assert _lexer_of(sql) is weblex and _lexer_of(html) is weblex and _lexer_of(fingerprints) is weblex
    verdict = judge_sql("1' or '1'='1")
    assert verdict is not None and verdict.fingerprint == "s&sos"
    assert [t.name for t in html.tokenize("<scr<script>ipt>")] == ["scr", "script"]
    assert decode("%2527%20or%201%3D1").text == "' or 1=1"


def test_pure_python_switch() -> None:
    """``WATCHHOUSE_PURE_PYTHON=1`` makes a fresh interpreter run the reference even though it is built."""
    code = "from watchhouse.detectors.web import tokenize_sql; print(tokenize_sql.weblex is None)"
    out = subprocess.run(
        [sys.executable, "-c", code], env={PURE_PYTHON_ENV: "1"}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def _corpus_values() -> list[str]:
    values: list[str] = []
    params = CORPORA / "web" / "httpparamsdataset"
    if params.is_dir():
        values.extend(load_params(params)[0])
    crs = CORPORA / "crs-tests" / "derived" / "crs_requests.jsonl"
    if crs.is_file():
        for line in crs.read_text().splitlines():
            request = json.loads(line)
            values.append(request.get("uri") or "")
            values.extend(str(v) for v in (request.get("headers") or {}).values())
            if isinstance(request.get("data"), str):
                values.append(request["data"])
    return values


@pytest.mark.corpus
@pytest.mark.slow
def test_twins_on_the_corpora() -> None:
    """Every HttpParamsDataset payload and CRS request value, raw and decoded as the detector reads it."""
    values = _corpus_values()
    if not values:
        pytest.skip("../shared/corpora is absent")
    for value in values:
        decoded = decode(value).text
        assert_twins(decoded)
        assert_twins(value)
    # and the verdicts the detector reports, through the public functions
    flagged = sum(judge_sql(decode(v).text) is not None or judge_xss(decode(v).text) is not None for v in values)
    assert flagged > len(values) // 10  # the corpora are mostly attacks: the twins must still see them
