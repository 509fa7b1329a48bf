"""The compiled decoding twin (``watchhouse._native._webdecode``) against the pure-Python reference.

Why differential: :mod:`watchhouse.detectors.web.decoding` is the specification of the four views a
request part is read in; the twin decides in C whether each step has anything to do (is there an
escape, an entity, a shell quote, a doubled space, a mixed-case base64 run) and writes two steps
out itself (collapsing whitespace, decoding base64 tokens), so a test it gets wrong, or a step it
writes differently, shows up here as a different view or a different list of steps. Inputs are
random strings over the decoders' own alphabet (escapes, entities, comments, shell tricks, base64
runs), arbitrary Unicode including lone surrogates and every kind of whitespace, values past the
decoding limit, and the CRS and HttpParamsDataset payloads. Skipped where the kernel is not built.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchhouse.detectors.web.decoding import MAX_VALUE_CHARS, NO_BASE64, decode_tables
from watchhouse.detectors.web.evaluation import load_params
from watchhouse.detectors.web.matching import Part, _decode_all_reference, request_parts
from watchhouse.detectors.web.rules import Target

try:
    from watchhouse._native import _webdecode as webdecode
except ModuleNotFoundError:  # what pytest.importorskip skips on
    pytest.skip("compiled kernels not built (pure Python runs)", allow_module_level=True)

CORPORA = Path(__file__).resolve().parents[3].parent / "shared" / "corpora"

_PIECES = [
    *"%uU+&#;\\$^'\"`/*!=-_ \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\x00{}()<>|.0123456789abcdefABCDEFxXzZ",
    *"\u212a\u0130\u0131\u017f\u00df\u00e9\u2028\u2029\u3000\u200b\uff1c\uff53\ud800\udfff\U0001d400",
    *["%2", "%25", "%27", "%2527", "%252527", "%c0%af", "%C0%AE", "%e0%80%af", "%E0%80%AE", "%c1%9c", "%u0027"],
    *["%uD800", "%uFF1C", "%u002", "%zz", "%%41", "%00", "%0a", "%0d%0a", "%e2%80%a8", "%ff%fe", "%c3%a9"],
    *["&lt;", "&#60;", "&#x3c;", "&#X3C", "&amp;lt;", "&quot;", "&apos", "&#0;", "&#99999999;", "&notin;"],
    *["\\u0027", "\\u007b", "\\uD83D", "\\u00", "$\\u007bjndi:", "/**/", "/*!50000", "*/", "un/**/ion", "SEL/**/ECT"],
    *["${IFS}", "$IFS$9", "$ifs", "w^h^o", "c'a't", 'n"e"t', "\\w", "$@", "$1", "''", '""', "  ", "\t\t"],
    *["cGFzc3dk", "L2V0Yy9wYXNzd2Q=", "PHNjcmlwdD4=", "YWxlcnQoMSk", "SGVsbG8gV29ybGQ", "abcdefgh", "ABCDEFGH"],
    *["a-b_c+d/eFgH", "QUJDREVGR0hJSktM==", "aGVsbG8=====", "Zm9v-YmFy_YmF6", "TWFu", "0123456789aB"],
]
_DECODER_TEXT = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)
_ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=120)
_TEXT = st.one_of(_DECODER_TEXT, _ANY_TEXT)


def _parts(raws: list[tuple[str, bool]]) -> list[Part]:
    return [Part(Target.QUERY, "q", raw, plus) for raw, plus in raws]


def _assert_same_views(parts: list[Part]) -> None:
    for with_base64 in (True, False):
        twin = webdecode.decode_views(parts, with_base64, decode_tables())
        reference = _decode_all_reference(parts, with_base64)
        views = (reference.base, reference.sql, reference.shell, reference.b64)
        for name, got, expected in zip(("base", "sql", "shell", "base64"), twin, views, strict=True):
            assert got == expected, f"{name} view differs"
            # the same named tuples, so that hits and explanations read them alike
            assert all(type(view) is type(want) for view, want in zip(got, expected, strict=True))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(_TEXT, st.booleans()), max_size=8))
@example([("%2527%20or%201=1--", True), ("&lt;script&gt;", False), ("", True), ("+", True)])
@example([("w^h^o^a^m^i; c'a't /etc/pa''sswd", False), ("${IFS}cat$IFS$9/etc/passwd", True)])
@example([("UN/**/ION SEL/**/ECT /*!50000 pass*/ from   users", False), ("\u3000\u2028a\x1c b\x85", False)])
@example([("data=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==&x=cGFzc3dk", True), ("Zm9v-YmFy_YmF6", False)])
def test_the_twin_gives_the_references_four_views(raws: list[tuple[str, bool]]) -> None:
    _assert_same_views(_parts(raws))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_PIECES), st.integers(min_value=MAX_VALUE_CHARS - 8, max_value=MAX_VALUE_CHARS + 8))
def test_values_past_the_decoding_limit_are_cut_alike(piece: str, length: int) -> None:
    raw = (piece * (length // max(1, len(piece)) + 1))[:length]
    _assert_same_views(_parts([(raw, True), ("%41" * (length // 3 + 1), False)]))


def test_base64_tokens_past_the_eighth_and_alignments_are_read_alike() -> None:
    plain = " ".join(f"abcdefgh{i}" for i in range(8))  # eight tokens without mixed case come first
    parts = _parts(
        [
            (plain + " cGFzc3dkOnJvb3Q=", False),  # a ninth token is not looked at
            ("xcGFzc3dkOnJvb3Q " + plain, False),
            ("QUJDREVGR0g", False),  # eleven characters: alignments 0-3 all leave 8+
            ("QUJDREVGR0", False),  # ten: alignments 0-2
        ]
    )
    _assert_same_views(parts)
    b64 = webdecode.decode_views(parts, True, decode_tables())[3]
    assert b64[0].text == "" and "passwd" in b64[1].text and b64[2].steps == ("base64", "lowercase")


def test_no_base64_view_is_made_where_no_rule_reads_it() -> None:
    b64 = webdecode.decode_views(_parts([("cGFzc3dkOnJvb3Q=", False)]), False, decode_tables())[3]
    assert b64 == [NO_BASE64] and b64[0] is NO_BASE64


def test_a_part_without_a_text_or_not_a_part_is_refused_not_read() -> None:
    with pytest.raises(TypeError, match="str"):
        webdecode.decode_views([Part(Target.QUERY, "q", None)], True, decode_tables())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a Part"):
        webdecode.decode_views(["%27"], True, decode_tables())  # type: ignore[list-item]


def _corpus_parts() -> list[Part]:
    crs = CORPORA / "crs-tests" / "derived" / "crs_requests.jsonl"
    params = CORPORA / "web" / "httpparamsdataset"
    if not crs.is_file() or not params.is_dir():
        pytest.skip(f"corpora not found under {CORPORA} (../shared/corpora beside the repository)")
    parts: list[Part] = []
    for line in crs.read_text(encoding="utf-8").splitlines():
        test = json.loads(line)
        data, headers = test.get("data"), test.get("headers")
        parts += request_parts(
            str(test.get("uri") or "/"),
            data if isinstance(data, str) else None,
            None,
            None,
            json.dumps(headers) if isinstance(headers, dict) else None,
        )
    payloads, _ = load_params(params)
    parts += [Part(Target.QUERY, "q", payload, True) for payload in payloads]
    return parts


def test_the_crs_and_httpparams_payloads_are_decoded_alike() -> None:
    parts = _corpus_parts()
    assert len(parts) > 20_000
    _assert_same_views(parts)
