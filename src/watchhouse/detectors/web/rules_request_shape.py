"""Request-policy checks on the shape of a request: version, encodings, header grammars, parameter layout.

Like :mod:`.policy` (whose ``WH-POL`` series these continue), these judge a whole request rather
than a value, and only run where a request record has headers. Each is written from the RFC that
defines the grammar it checks (cited per check): what a browser or an HTTP library can never send
is either a hand-made request or an attempt to make two parsers disagree (CWE-444, CAPEC-33).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import unquote_to_bytes

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, PolicyRule, Target

_P = AttackClass.PROTOCOL

SHAPE_RULES: tuple[PolicyRule, ...] = (
    PolicyRule("WH-POL-027", _P, "Malformed or doubly encoded percent-escape in the query or form", 2, Severity.MEDIUM),
    PolicyRule("WH-POL-028", _P, "HTTP version outside 0.9, 1.0, 1.1, 2 and 3", 1, Severity.MEDIUM),
    PolicyRule("WH-POL-029", _P, "Charset parameter in the Accept header (EBCDIC response trick)", 2, Severity.MEDIUM),
    PolicyRule("WH-POL-030", _P, "Content-Encoding on a request without a body", 2, Severity.LOW),
    PolicyRule("WH-POL-031", _P, "Invalid UTF-8 in the query (overlong or truncated sequences)", 3, Severity.MEDIUM),
    PolicyRule("WH-POL-032", _P, "Query byte outside printable ASCII, or a literal '%'", 3, Severity.LOW),
    PolicyRule("WH-POL-033", _P, "Cache-Control, Accept-Encoding or Sec-* header outside its grammar", 2, Severity.LOW),
    PolicyRule("WH-POL-034", _P, "Parameter repeated, or array parameter name with text after ']'", 3, Severity.LOW),
    PolicyRule("WH-POL-035", _P, "Array parameter name, or query character outside a strict set", 4, Severity.LOW),
    PolicyRule("WH-POL-036", _P, "POST, PUT or PATCH with neither Content-Length nor chunked body", 3, Severity.LOW),
)

_Found = Iterator[tuple[str, Target, str | None, str]]
#: "%" before a letter or digit that starts no escape ("%1G", "%w20", "%7%6F"); a bare percent sign
#: before "&", a space or the end ("width=100%") is a sloppy link, not an attack ("%u" escapes: WH-POL-016)
_BAD_ESCAPE = re.compile(r"%(?:[g-tv-zG-TV-Z]|[0-9a-fA-F](?:[^0-9a-fA-F&\s+]|$))")
#: "%25" followed by the escape of a letter or digit: a second encoding nobody needs (CAPEC-120)
_DOUBLE_ALNUM = re.compile(r"%25(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])")
_VERSIONS = frozenset({"0.9", "1.0", "1.1", "2", "2.0", "3", "3.0"})
#: request directives of Cache-Control (RFC 9111 section 5.2.1), with or without an argument
_CACHE_DIRECTIVE = re.compile(
    r"^\s*(?:max-age=\d{1,10}|max-stale(?:=\d{1,10})?|min-fresh=\d{1,10}|no-cache|no-store|no-transform|"
    r"only-if-cached|stale-if-error=\d{1,10})\s*$",
    re.IGNORECASE,
)
#: content codings of the IANA registry (RFC 9110 section 8.4.1) plus q-values
_CODING = re.compile(
    r"^\s*(?:gzip|x-gzip|deflate|br|zstd|compress|x-compress|identity|dcb|dcz|exi|pack200-gzip|aes128gcm|\*)"
    r"\s*(?:;\s*q\s*=\s*[01](?:\.\d{0,3})?\s*)?$",
    re.IGNORECASE,
)
#: structured-field booleans of the Fetch Metadata and client-hint headers that hold one
_BOOLEAN_HEADERS = frozenset({"sec-fetch-user", "sec-ch-ua-mobile"})
_BOOLEAN = re.compile(r"^\?[01]$")
#: a query byte outside printable ASCII, or a literal "%" (WH-POL-032)
_OUTSIDE_PRINTABLE = re.compile(rb"[^\x20-\x24\x26-\x7e]")
_STRICT_QUERY_VALUE = re.compile(r"^[\w.,:/@=+*-]*$")
_ACCEPT_CHARSET = re.compile(r";\s*charset\s*=", re.IGNORECASE)
#: an array parameter name with text after its "]" ("a[]x=1")
_AFTER_BRACKET = re.compile(r"\][^\[=]")
#: every header these checks read by name (the request policy's screen keeps exactly the read ones)
SHAPE_HEADERS = frozenset(
    {"accept", "content-encoding", "content-length", "transfer-encoding", "cache-control", "accept-encoding"}
    | _BOOLEAN_HEADERS
)


def shape_checks(
    method: str, url: str, body: str, version: str | None, headers: Mapping[str, Sequence[str]], has_record: bool
) -> _Found:
    """Every shape finding of one request; header checks only where a header record exists."""
    query = url.partition("?")[2].partition("#")[0]
    form = body if body and "=" in body.partition("&")[0] else ""
    for where, text in ((Target.QUERY, query), (Target.BODY, form)):
        if text and "%" in text and (_BAD_ESCAPE.search(text) or _DOUBLE_ALNUM.search(text)):
            yield "WH-POL-027", where, None, text
    # the rest only where a request record exists: an access-log row reaches these checks only when
    # something else flagged it, and a check must not depend on that
    if not has_record:
        return
    yield from _query_bytes(query)
    yield from _parameters(query)
    if version is not None and version.strip().upper().removeprefix("HTTP/") not in _VERSIONS:
        yield "WH-POL-028", Target.PATH, "version", version or "(empty)"
    accept = ", ".join(headers.get("accept", []))
    if _ACCEPT_CHARSET.search(accept):
        yield "WH-POL-029", Target.HEADERS, "accept", accept
    if headers.get("content-encoding") and not body:
        yield "WH-POL-030", Target.HEADERS, "content-encoding", ", ".join(headers["content-encoding"])
    yield from _grammars(headers)
    if method in ("POST", "PUT", "PATCH") and "content-length" not in headers and "transfer-encoding" not in headers:
        yield "WH-POL-036", Target.HEADERS, "content-length", "(none)"


def _query_bytes(query: str) -> _Found:
    if not query:
        return
    raw = unquote_to_bytes(query.replace("+", " "))
    if not raw.isascii():  # (ASCII is valid UTF-8)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            yield "WH-POL-031", Target.QUERY, None, query
    if _OUTSIDE_PRINTABLE.search(raw):
        yield "WH-POL-032", Target.QUERY, None, query


def _parameters(query: str) -> _Found:
    if not query:
        return
    names = [piece.partition("=")[0] for piece in query.split("&") if piece]
    if len(names) != len(set(names)) or any(_AFTER_BRACKET.search(n) for n in names):
        yield "WH-POL-034", Target.QUERY, None, query
    if any("[" in n for n in names) or not all(
        _STRICT_QUERY_VALUE.match(_byte_text(piece.partition("=")[2])) for piece in query.split("&")
    ):
        yield "WH-POL-035", Target.QUERY, None, query


def _byte_text(value: str) -> str:
    """A query value unquoted to bytes, one character per byte (``+`` is a space)."""
    if "%" not in value and value.isascii():  # what unquoting would give, without building bytes
        return value.replace("+", " ")
    return unquote_to_bytes(value.replace("+", " ")).decode("latin-1")


def _grammars(headers: Mapping[str, Sequence[str]]) -> _Found:
    for value in headers.get("cache-control", []):
        if not all(_CACHE_DIRECTIVE.match(d) for d in value.split(",")):
            yield "WH-POL-033", Target.HEADERS, "cache-control", value
    for value in headers.get("accept-encoding", []):
        if value.strip() and not all(_CODING.match(c) for c in value.split(",")):
            yield "WH-POL-033", Target.HEADERS, "accept-encoding", value
    for name in _BOOLEAN_HEADERS & headers.keys():
        for value in headers[name]:
            if not _BOOLEAN.match(value.strip()):
                yield "WH-POL-033", Target.HEADERS, name, value
