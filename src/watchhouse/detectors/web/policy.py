"""Request policy: code checks on the request record, for what a regex over one value cannot judge.

Signatures (:mod:`.rules`) look for attack payloads inside values. Some protocol abuse has no
payload: a method the platform does not serve, a ``Content-Type`` nobody posts, an obsolete
``Request-Range`` header, ``Content-Length`` beside ``Transfer-Encoding``, a session id offered
in a link from another site. Those are judgements over the whole request (method, header set,
header relations), written here as small functions with their own rule ids (``WH-POL-nnn``),
paranoia levels and severities, so they score, gate and explain exactly like signature hits.

Cost: :func:`policy_mask` is vectorised (Polars) and only its rows reach the Python checks. An
access log carries neither headers nor body, so there only the method, the path's extension,
NUL bytes and session-id parameters are looked at, all in one pass of the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import polars as pl

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.decoding import Decoded
from watchhouse.detectors.web.engines import EngineName, column_scanner, resolve_engine
from watchhouse.detectors.web.matching import Hit, Part
from watchhouse.detectors.web.rules import AttackClass, PolicyRule, Target

_P = AttackClass.PROTOCOL

#: methods of the HTTP (RFC 9110, RFC 5789) and WebDAV (RFC 4918) registries: anything else is invented
REGISTERED_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
    | {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"}
)
#: methods an ordinary web platform and its REST API serve; others (TRACE, CONNECT, WebDAV) are flagged at PL2
DEFAULT_ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: media types clients post to web applications; ``+json`` / ``+xml`` suffixes (RFC 6839) count as their base
DEFAULT_ALLOWED_CONTENT_TYPES = frozenset(
    {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/related",
        "text/xml",
        "application/xml",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "application/graphql",
        "application/x-ndjson",
        "application/csp-report",
    }
)
DEFAULT_ALLOWED_CHARSETS = frozenset({"utf-8", "utf8", "iso-8859-1", "iso-8859-15", "windows-1252", "us-ascii"})
#: parameter names that carry a session id (Java, PHP, ASP.NET, Laravel, Express, ColdFusion)
_SESSION_PARAM = re.compile(
    r"(?:^|[?&;{,\s\"])(jsessionid|phpsessid|asp\.net_sessionid|aspsessionid\w{0,12}|connect\.sid|cfid|cftoken|sid|"
    r"[\w.-]{0,30}(?:session|sessid|session[_.-]token|login_token))\"?\s?[=:]",
    re.IGNORECASE,
)
#: file extensions of editor/backup copies, database dumps and private keys: never served on purpose.
#: (.log, .conf, .ini stay out: sites publish sample configuration and logs, as real access logs show.)
_RESTRICTED_EXTENSION = re.compile(
    r"\.(?:bak|backup|old|orig|save|swp|swo|sql|db|sqlite3?|mdb|dbf|key|pem|pwd|pass)$",
    re.IGNORECASE,
)
#: request headers with no business on a public site: httpoxy (CVE-2016-5385), WebDAV locks, a
#: client-sent Content-Range, IIS ``Translate: f`` source disclosure
_RESTRICTED_HEADERS = frozenset({"proxy", "lock-token", "content-range", "if", "translate"})
_OVERRIDE_HEADERS = frozenset({"x-http-method-override", "x-http-method", "x-method-override"})
_METHOD_PARAM = re.compile(r"(?:^|&)_method=", re.IGNORECASE)
_IP_HOST = re.compile(r"^\[?[0-9a-f:.]{2,45}\]?(?::\d{1,5})?$", re.IGNORECASE)

POLICY_RULES: tuple[PolicyRule, ...] = (
    PolicyRule("WH-POL-001", _P, "Method outside the HTTP and WebDAV registries", 1, Severity.HIGH),
    PolicyRule("WH-POL-002", _P, "Method the platform does not serve (TRACE, CONNECT, WebDAV)", 2, Severity.MEDIUM),
    PolicyRule("WH-POL-003", _P, "Obsolete Request-Range header (Apache range DoS, CVE-2011-3192)", 1, Severity.MEDIUM),
    PolicyRule("WH-POL-004", _P, "Request Content-Type outside the allowed media types", 1, Severity.MEDIUM),
    PolicyRule("WH-POL-005", _P, "Request charset outside the allowed character sets", 1, Severity.MEDIUM),
    PolicyRule(
        "WH-POL-006", _P, "Method override by parameter or header (_method, X-HTTP-Method-Override)", 2, Severity.MEDIUM
    ),
    PolicyRule(
        "WH-POL-007",
        AttackClass.SESSION,
        "Session id offered in a link without or from another site (fixation)",
        1,
        Severity.HIGH,
    ),
    PolicyRule(
        "WH-POL-008",
        _P,
        "Content-Length with Transfer-Encoding, or a malformed one (request smuggling)",
        1,
        Severity.HIGH,
    ),
    PolicyRule("WH-POL-009", _P, "Request for a backup copy, database dump or private key file", 1, Severity.MEDIUM),
    PolicyRule(
        "WH-POL-010", _P, "Restricted request header (httpoxy Proxy, WebDAV lock, Content-Range)", 1, Severity.MEDIUM
    ),
    PolicyRule("WH-POL-011", _P, "Connection header repeating or contradicting its options", 1, Severity.LOW),
    PolicyRule("WH-POL-012", _P, "NUL byte in the URL or Referer", 1, Severity.HIGH),
    PolicyRule("WH-POL-013", _P, "Host header is a bare IP address (automated client, not a browser)", 2, Severity.LOW),
)
_BY_ID = {rule.id: rule for rule in POLICY_RULES}

#: what a row must show in each column for any check to apply (vectorised, case-insensitive)
_URL_SYMPTOM = (
    r"(?i)%00|(?:^|[?&;])(?:jsessionid|phpsessid|asp\.net_sessionid|aspsessionid\w{0,12}|connect\.sid|cfid|cftoken|sid|"
    r"_method|[\w.-]{0,30}(?:session|sessid|session[_.-]token|login_token))=|"
    r"\.(?:bak|backup|old|orig|save|swp|swo|sql|db|sqlite3?|mdb|dbf|key|pem|pwd|pass)(?:\?|#|$)"
)
_BODY_SYMPTOM = r"(?i)_method=|sessid|session|login_token|connect\.sid|cfid|cftoken|\bsid\b"


def policy_mask(frame: pl.DataFrame, allowed_methods: frozenset[str]) -> pl.Series:
    """True for rows some policy check may flag; the rest cost nothing more.

    Column symptoms run through the same cached engines as the prefilter (a Polars regex would be
    rebuilt per batch). Only rows with a header record are checked whole: access logs have none,
    and a Referer alone matters only with a NUL byte in it.
    """
    engine = resolve_engine(EngineName.AUTO)
    methods = frame["http.request.method"]
    mask = (~methods.str.to_uppercase().is_in(sorted(allowed_methods))).fill_null(False)
    for column, pattern in (
        ("url.original", _URL_SYMPTOM),
        ("http.request.body.content", _BODY_SYMPTOM),
        ("http.request.referrer", r"(?i)%00|\x00"),
    ):
        if frame[column].null_count() < frame.height:
            mask = mask | column_scanner(pattern, engine).flags(frame[column])
    headers = frame["http.request.headers"]
    if headers.null_count() < frame.height:
        mask = mask | headers.is_not_null()
    return mask.alias("policy")


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    body: str
    referrer: str
    headers: dict[str, list[str]]

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return ", ".join(values) if values else None


def _parse_headers(text: str | None) -> dict[str, list[str]]:
    if not text:
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    out: dict[str, list[str]] = {}
    for name, value in parsed.items():
        values = value if isinstance(value, list) else [value]
        out.setdefault(str(name).lower(), []).extend(str(v) for v in values if v is not None)
    return out


_Check = Callable[["RequestPolicy", _Request], Iterator[tuple[str, Target, str | None, str]]]


class RequestPolicy:
    """The configured checks; :meth:`hits` runs them on one request row.

    :param allowed_methods: served methods; others in the registries are WH-POL-002 (PL2).
    :param allowed_content_types: accepted request media types (WH-POL-004).
    :param allowed_charsets: accepted ``charset`` parameters (WH-POL-005).
    """

    def __init__(
        self,
        paranoia: int,
        *,
        allowed_methods: frozenset[str] = DEFAULT_ALLOWED_METHODS,
        allowed_content_types: frozenset[str] = DEFAULT_ALLOWED_CONTENT_TYPES,
        allowed_charsets: frozenset[str] = DEFAULT_ALLOWED_CHARSETS,
    ) -> None:
        self.paranoia = paranoia
        self.allowed_methods = frozenset(m.upper() for m in allowed_methods)
        self.allowed_content_types = frozenset(t.lower() for t in allowed_content_types)
        self.allowed_charsets = frozenset(c.lower() for c in allowed_charsets)
        self.rules = tuple(rule for rule in POLICY_RULES if rule.paranoia <= paranoia)

    def mask(self, frame: pl.DataFrame) -> pl.Series:
        return policy_mask(frame, self.allowed_methods)

    def hits(self, row: dict[str, Any]) -> list[Hit]:
        request = _Request(
            method=str(row.get("http.request.method") or "GET").upper(),
            url=str(row.get("url.original") or ""),
            body=str(row.get("http.request.body.content") or ""),
            referrer=str(row.get("http.request.referrer") or ""),
            headers=_parse_headers(row.get("http.request.headers")),
        )
        out: list[Hit] = []
        enabled = {rule.id for rule in self.rules}
        for check in _CHECKS:
            for rule_id, target, name, evidence in check(self, request):
                if rule_id in enabled:
                    text = evidence[:200]
                    part = Part(target, name, text)
                    out.append(Hit(_BY_ID[rule_id], part, Decoded(text), 0, len(text)))
        return out


def _methods(policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if r.method not in REGISTERED_METHODS:
        yield "WH-POL-001", Target.PATH, "method", r.method
    elif r.method not in policy.allowed_methods:
        yield "WH-POL-002", Target.PATH, "method", r.method


def _content(policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if "request-range" in r.headers:
        yield "WH-POL-003", Target.HEADERS, "request-range", r.header("request-range") or ""
    content_type = r.header("content-type")
    if content_type is None:
        return
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    base = re.sub(r"/[\w.-]{1,60}\+(json|xml)$", r"/\1", media)
    if media and media not in policy.allowed_content_types and base not in policy.allowed_content_types:
        yield "WH-POL-004", Target.HEADERS, "content-type", content_type
    charsets = re.findall(r"charset\s?=\s?[\"']?([^\s;,\"']{0,40})", params, re.IGNORECASE)
    if len(charsets) > 1 or any(c.lower() not in policy.allowed_charsets for c in charsets):
        yield "WH-POL-005", Target.HEADERS, "content-type", content_type


def _override(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    query = r.url.partition("?")[2]
    for where, text in ((Target.QUERY, query), (Target.BODY, r.body)):
        if text and _METHOD_PARAM.search(text):
            yield "WH-POL-006", where, "_method", text
    for name in _OVERRIDE_HEADERS & r.headers.keys():
        yield "WH-POL-006", Target.HEADERS, name, r.header(name) or ""


def _session(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    query = r.url.partition("?")[2]
    for where, text in ((Target.QUERY, query), (Target.BODY, r.body)):
        found = _SESSION_PARAM.search(text) if text else None
        if found is None:
            continue
        referrer = r.referrer if r.referrer not in ("", "-") else (r.header("referer") or "")
        host = (r.header("host") or "").split(":")[0].lower()
        ref_host = (urlsplit(referrer).hostname or "") if referrer else ""
        # a session id in a link is how fixation is delivered; one from our own pages is URL rewriting
        if not referrer or (host and ref_host and ref_host != host and not ref_host.endswith("." + host)):
            yield "WH-POL-007", where, found.group(1).lower(), text


def _smuggling(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    lengths = r.headers.get("content-length", [])
    encoding = r.header("transfer-encoding")
    if lengths and encoding is not None:
        yield "WH-POL-008", Target.HEADERS, "transfer-encoding", f"content-length {lengths[0]} + {encoding}"
    elif encoding is not None and encoding.strip().lower() not in ("chunked", "identity"):
        yield "WH-POL-008", Target.HEADERS, "transfer-encoding", encoding
    elif len(set(lengths)) > 1 or any(not v.strip().isdigit() for v in lengths):
        yield "WH-POL-008", Target.HEADERS, "content-length", ", ".join(lengths)


def _paths_and_headers(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    path = r.url.partition("?")[0].partition("#")[0]
    if _RESTRICTED_EXTENSION.search(path):
        yield "WH-POL-009", Target.PATH, None, path
    for name in sorted(_RESTRICTED_HEADERS & r.headers.keys()):
        yield "WH-POL-010", Target.HEADERS, name, r.header(name) or ""
    connection = r.header("connection")
    if connection:
        options = [o.strip().lower() for o in connection.split(",") if o.strip()]
        if len(options) != len(set(options)) or {"close", "keep-alive"} <= set(options):
            yield "WH-POL-011", Target.HEADERS, "connection", connection
    for where, text in ((Target.PATH, r.url), (Target.REFERRER, r.referrer)):
        if "%00" in text or "\x00" in text:
            yield "WH-POL-012", where, None, text
    host = r.header("host")
    if host and _IP_HOST.match(host.strip()) and any(c.isdigit() for c in host):
        yield "WH-POL-013", Target.HEADERS, "host", host


_CHECKS: tuple[_Check, ...] = (_methods, _content, _override, _session, _smuggling, _paths_and_headers)
