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
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import numpy as np
import polars as pl

from watchhouse.core.digits import ascii_digits
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.decoding import Decoded
from watchhouse.detectors.web.engines import EngineName, column_scanner, resolve_engine
from watchhouse.detectors.web.header_record import header_fields
from watchhouse.detectors.web.matching import Hit, Part
from watchhouse.detectors.web.memory import remember
from watchhouse.detectors.web.rules import AttackClass, PolicyRule, Target
from watchhouse.detectors.web.rules_request_shape import SHAPE_HEADERS, SHAPE_RULES, shape_checks

_P = AttackClass.PROTOCOL
_V = TypeVar("_V")

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
    r"[\w.-]{0,30}(?:session|sessid|session[_.-]token|login_token)|[\w-]{0,30}session[_-]?id|"
    # Sails, Koa, CakePHP, Zend, R Shiny and ColdFusion defaults (framework documentation)
    r"sails\.sid|koa[.:]sess(?:\.sig)?|cakephp|zend_session_id|shiny-token|cfsid)\"?\s?[=:]",
    re.IGNORECASE,
)
#: every name :data:`_SESSION_PARAM` accepts holds one of these (a cheap test before that slow regex)
_SESSION_WORDS = ("sess", "sid", "cfid", "cftoken", "login_token", "cakephp", "shiny-token")
#: file extensions of editor/backup copies, database dumps and private keys: never served on purpose.
#: (.log, .conf, .ini stay out: sites publish sample configuration and logs, as real access logs show.)
_RESTRICTED_EXTENSION = re.compile(
    r"\.(?:bak|backup|old|orig|save|swp|swo|sql|db|sqlite3?|mdb|dbf|key|pem|pwd|pass|rdb)$|"
    # editor backups ("index.php~"), also with PATH_INFO behind them ("index.php~/foo")
    r"\.\w{1,8}~(?:/|$)",
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
    PolicyRule(
        "WH-POL-003",
        _P,
        "Obsolete Request-Range header (Apache range DoS, CVE-2011-3192)",
        1,
        Severity.MEDIUM,
        crime=CrimeCode.SYSTEM_INTERFERENCE,
    ),
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
    PolicyRule(
        "WH-POL-014", _P, "GET or HEAD request carrying a body (smuggling, cache poisoning)", 2, Severity.MEDIUM
    ),
    PolicyRule(
        "WH-POL-015",
        _P,
        "Range header with many or inverted ranges (Apache range DoS, CVE-2011-3192)",
        2,
        Severity.MEDIUM,
        crime=CrimeCode.SYSTEM_INTERFERENCE,
    ),
    PolicyRule("WH-POL-016", _P, "Full-width %uFFxx encoding in the URL (IIS Unicode bypass)", 1, Severity.MEDIUM),
    PolicyRule("WH-POL-017", _P, "Control character (%01-%1F, %7F) in the URL", 2, Severity.MEDIUM),
    PolicyRule(
        "WH-POL-018", _P, "Malformed Content-Type, or one naming a second media type in a parameter", 1, Severity.MEDIUM
    ),
    PolicyRule("WH-POL-019", _P, "Empty Host header, or one with characters no host name has", 1, Severity.MEDIUM),
    # hygiene notices: scripts, API clients and partial header logs lack these, so alone they are paranoia 3
    PolicyRule("WH-POL-020", _P, "Host or User-Agent missing, or an empty User-Agent or Accept", 3, Severity.LOW),
    PolicyRule("WH-POL-021", _P, "Request body without a Content-Type", 3, Severity.LOW),
    PolicyRule(
        "WH-POL-022", _P, "Over-long Accept-Encoding, parameter name, or too many parameters", 2, Severity.MEDIUM
    ),
    PolicyRule(
        "WH-POL-023", _P, "Unicode escape (\\uXXXX) in a query or form value (filter bypass)", 2, Severity.MEDIUM
    ),
    PolicyRule(
        "WH-POL-024", _P, "CR or LF inside a header value (header injection, response splitting)", 1, Severity.HIGH
    ),
    PolicyRule(
        "WH-POL-025", _P, "Cookie header with the obsolete $Version attribute (cookie smuggling)", 1, Severity.MEDIUM
    ),
    PolicyRule(
        "WH-POL-026",
        AttackClass.VULN_PATH,
        "Upload file name naming a server-side script behind trailing dots or spaces",
        1,
        Severity.HIGH,
    ),
    *SHAPE_RULES,
)
_BY_ID = {rule.id: rule for rule in POLICY_RULES}


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    body: str
    referrer: str
    headers: Mapping[str, Sequence[str]]
    has_header_record: bool = False
    version: str | None = None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        if not values:
            return None
        return values[0] if len(values) == 1 else ", ".join(values)


_NO_HEADERS: Mapping[str, Sequence[str]] = {}
#: header texts whose parsed form is remembered, and the longest text worth remembering (at most
#: about 8 MiB of text): a client sends one header set on every request of its session, and a
#: flagged row's header text is read by the screen (:meth:`RequestPolicy._screen`) and by the checks
PARSED_MAX_ENTRIES = 2_048
PARSED_MAX_CHARS = 4_096
_parsed: OrderedDict[str, Mapping[str, Sequence[str]]] = OrderedDict()


def _parse_headers(text: str | None) -> Mapping[str, Sequence[str]]:
    """Header names lower-cased, each with its values; shared between callers, so read-only."""
    if not text:
        return _NO_HEADERS
    known = _parsed.get(text)
    if known is not None:
        return known
    out: dict[str, list[str]] = {}
    for name, values in header_fields(text) or ():
        out.setdefault(name.lower(), []).extend(values)
    return _remember(_parsed, text, out, PARSED_MAX_ENTRIES, PARSED_MAX_CHARS)


def _may_hold(text: str, words: tuple[str, ...]) -> bool:
    """False only where none of ``words`` (lower case) occurs in ``text`` in any letter case.

    Why: a case-insensitive regex that needs one of these words costs microseconds per search even
    where the text cannot match; this test costs a fraction of that. Non-ASCII text always passes,
    because ``re`` folds some non-ASCII letters onto ASCII ones ("\u017f" matches "s") and
    :meth:`str.lower` does not.
    """
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)


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
        self._enabled = frozenset(rule.id for rule in self.rules)
        self._query_shape = bool(self._enabled & _QUERY_SHAPE_RULES)
        self._screened: OrderedDict[tuple[Any, ...], bool] = OrderedDict()

    def mask(self, frame: pl.DataFrame, symptoms: pl.DataFrame | None = None) -> pl.Series:
        """True for every row :meth:`hits` may find something in; only these need the Python checks.

        Why: a full-request log has a header record on every row, and running every check on every
        row cost more than the rest of detection together (70 us a request). Most requests break no
        policy, and what can make one break it shows in a column symptom (:func:`policy_mask`) or
        in the headers and the few request facts the header checks read (:meth:`_header_rows`).
        ``symptoms``: the column symptoms' flags where the prefilter found them (see :func:`policy_mask`).
        """
        mask = policy_mask(frame, self.allowed_methods, symptoms)
        headers = frame["http.request.headers"]
        if headers.null_count() < frame.height:
            mask = mask | self._header_rows(frame)
        return mask.alias("policy")

    def hits(self, row: dict[str, Any]) -> list[Hit]:
        request = _Request(
            method=str(row.get("http.request.method") or "GET").upper(),
            url=str(row.get("url.original") or ""),
            body=str(row.get("http.request.body.content") or ""),
            referrer=str(row.get("http.request.referrer") or ""),
            headers=_parse_headers(row.get("http.request.headers")),
            has_header_record=bool(row.get("http.request.headers")),
            version=row.get("http.version"),
        )
        out: list[Hit] = []
        for rule_id, target, name, evidence in self._findings(request):
            text = evidence[:200]
            part = Part(target, name, text)
            out.append(Hit(_BY_ID[rule_id], part, Decoded(text), 0, len(text)))
        return out

    def _findings(self, request: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
        for check in _CHECKS:
            for found in check(self, request):
                if found[0] in self._enabled:
                    yield found

    def _header_rows(self, frame: pl.DataFrame) -> pl.Series:
        """True for rows with a header record whose headers may make a check fire (:meth:`_screen`).

        From paranoia 3 on, the query checks that need a header record (WH-POL-031/032/034/035)
        take every such row with a query as well.
        """
        headers = frame["http.request.headers"]
        present = headers.is_not_null() & (headers.str.len_bytes() > 0)
        at = present.arg_true()
        found = np.zeros(frame.height, dtype=bool)
        if at.len():
            rows = frame[at].select(
                "http.request.headers",
                pl.col("http.request.method").fill_null("GET").str.to_uppercase(),
                pl.col("http.request.body.content").str.len_bytes().fill_null(0) > 0,
                "http.version",
            )
            # a batch repeats header sets: each distinct one is screened once, its verdict joined back
            distinct = rows.unique(maintain_order=True)
            verdicts = [self._screen(*key) for key in distinct.iter_rows()]
            if any(verdicts):
                flagged = distinct.filter(pl.Series(verdicts, dtype=pl.Boolean))
                within = rows.with_row_index("_row").join(flagged, on=rows.columns, how="semi", nulls_equal=True)
                found[at.to_numpy()[within["_row"].to_numpy()]] = True
        out = pl.Series("headers", found)
        if self._query_shape:
            out = out | (present & frame["url.original"].str.contains("?", literal=True)).fill_null(False)
        return out

    def _screen(self, text: str, method: str, has_body: bool, version: str | None) -> bool:
        """Whether any check fires on a request with these headers, method, version and body presence.

        Exact, not a guess: the checks themselves run, on a request that keeps everything a header
        check reads (headers read by name, whether a body exists) and nothing the column symptoms
        already answer for (URL, body text, referrer). Cookies, agents, referrers and body lengths
        make nearly every header set unique, so they are reduced to what the checks can tell apart
        before the verdict is remembered: one verdict then serves every request from the same client
        software (the memory is bounded).
        """
        reduced = _screened_headers.get(text)
        if reduced is None:
            reduced = _remember(_screened_headers, text, _screen_headers(text), PARSED_MAX_ENTRIES, PARSED_MAX_CHARS)
        if reduced is _FIRES:
            return True
        key = (method, has_body, version, reduced)
        verdict = self._screened.get(key)
        if verdict is None:
            request = _Request(method, "", "x" if has_body else "", "", dict(reduced), True, version)
            verdict = next(self._findings(request), None) is not None
            remember(self._screened, key, verdict, SCREEN_CACHE_MAX_ENTRIES)
        return verdict


_ScreenedHeaders = tuple[tuple[str, tuple[str, ...]], ...]
#: a header record in which a header alone makes a check fire
_FIRES: _ScreenedHeaders = (("", ()),)
#: per header text, what :meth:`RequestPolicy._screen` keeps of it (the same bounds as :data:`_parsed`)
_screened_headers: OrderedDict[str, _ScreenedHeaders] = OrderedDict()


def _screen_headers(text: str) -> _ScreenedHeaders:
    """The headers some check reads by name, each reduced (:func:`_reduced`), sorted by name; or
    :data:`_FIRES` where a CR or LF in any value (WH-POL-024) or a Cookie's ``$Version``
    (WH-POL-025) decides alone."""
    reduced: list[tuple[str, tuple[str, ...]]] = []
    for name, values in _parse_headers(text).items():
        if any("\r" in value or "\n" in value for value in values):
            return _FIRES  # WH-POL-024, in any header
        if name == "cookie" and any(v.lstrip().lower().startswith("$version") for v in values):
            return _FIRES  # WH-POL-025
        if name in _READ_BY_NAME:
            reduced.append((name, _reduced(name, values)))
    return tuple(sorted(reduced))


def _remember(memory: OrderedDict[str, _V], text: str, value: _V, max_entries: int, max_chars: int) -> _V:
    """``value``, kept in ``memory`` under ``text`` (:func:`.memory.remember`) unless the text is
    longer than ``max_chars``."""
    if len(text) <= max_chars:
        remember(memory, text, value, max_entries)
    return value


def _methods(policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if r.method not in REGISTERED_METHODS:
        yield "WH-POL-001", Target.PATH, "method", r.method
    elif r.method not in policy.allowed_methods:
        yield "WH-POL-002", Target.PATH, "method", r.method


#: "application/vnd.api+json" counts as "application/json" (RFC 6839 structured syntax suffixes)
_STRUCTURED_SUFFIX = re.compile(r"/[\w.-]{1,60}\+(json|xml)$")
_CHARSET = re.compile(r"charset\s?=\s?[\"']?([^\s;,\"']{0,40})", re.IGNORECASE)


def _content(policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if "request-range" in r.headers:
        yield "WH-POL-003", Target.HEADERS, "request-range", r.header("request-range") or ""
    content_type = r.header("content-type")
    if content_type is None:
        return
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media and media not in policy.allowed_content_types:
        base = _STRUCTURED_SUFFIX.sub(r"/\1", media)
        if base not in policy.allowed_content_types:
            yield "WH-POL-004", Target.HEADERS, "content-type", content_type
    charsets = _CHARSET.findall(params) if params else []
    if len(charsets) > 1 or any(c.lower() not in policy.allowed_charsets for c in charsets):
        yield "WH-POL-005", Target.HEADERS, "content-type", content_type


def _override(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    query = r.url.partition("?")[2]
    for where, text in ((Target.QUERY, query), (Target.BODY, r.body)):
        if text and _may_hold(text, ("_method=",)) and _METHOD_PARAM.search(text):
            yield "WH-POL-006", where, "_method", text
    for name in _OVERRIDE_HEADERS & r.headers.keys():
        yield "WH-POL-006", Target.HEADERS, name, r.header(name) or ""


def _session(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    query = r.url.partition("?")[2]
    for where, text in ((Target.QUERY, query), (Target.BODY, r.body)):
        found = _SESSION_PARAM.search(text) if text and _may_hold(text, _SESSION_WORDS) else None
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
    elif len(set(lengths)) > 1 or not all(map(_is_length, lengths)):
        yield "WH-POL-008", Target.HEADERS, "content-length", ", ".join(lengths)


def _paths_and_headers(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    path = unquote(r.url.partition("?")[0].partition("#")[0])
    if "." in path and _RESTRICTED_EXTENSION.search(path):  # (each of its branches starts with a dot)
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


#: "bytes=a-b, c-d, ..." (RFC 9110 section 14.1.1); the suffix form "-n" has no start
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
#: more ranges than any media player or download manager asks for (Apache's own limit is 200, CVE-2011-3192)
MAX_RANGES = 5
#: a Content-Type parameter is "token=token" or "token=quoted-string" (RFC 9110 section 8.3.1)
_CT_PARAM = re.compile(r"""^\s*[\w!#$&^.+-]{1,64}=(?:"[^"]{0,200}"|[^\s;",]{1,200})\s*$""")
_MEDIA_TYPE = re.compile(r"^\s*\"?\s*[a-z]{2,20}/[\w.+-]{1,80}\s*\"?\s*$", re.IGNORECASE)
#: a host name, IPv4 or bracketed IPv6 literal, optional port (RFC 9110 section 7.2)
_HOST_VALUE = re.compile(r"^(?:[\w.-]{1,253}|\[[0-9a-fA-F:.]{2,45}\])(?::\d{1,5})?$")
_FULL_WIDTH = re.compile(r"%u[fF]{2}[0-9a-fA-F]{2}")
_CONTROL = re.compile(r"%(?:0[1-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")
#: limits above anything a form or API sends (CRS suggests the same orders of magnitude)
MAX_ACCEPT_ENCODING = 100
MAX_PARAM_NAME = 100
MAX_PARAMS = 255


def _body_and_range(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if r.body and r.method in ("GET", "HEAD"):
        yield "WH-POL-014", Target.BODY, None, r.body
    ranges = r.header("range")
    if ranges:
        unit, _, specs = ranges.partition("=")
        if unit.strip().lower() != "bytes":  # "Range: 1-2": no unit, so no server can honour it
            yield "WH-POL-015", Target.HEADERS, "range", ranges
            return
        parts = specs.split(",")
        inverted = False
        for spec in parts:
            m = _RANGE_SPEC.match(spec)
            if m and m[1] and m[2] and int(m[2]) < int(m[1]):
                inverted = True
        if len(parts) > MAX_RANGES or inverted:
            yield "WH-POL-015", Target.HEADERS, "range", ranges


def _encodings(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if "%" in r.url:  # both are escapes
        if _FULL_WIDTH.search(r.url):
            yield "WH-POL-016", Target.PATH, None, r.url
        if _CONTROL.search(r.url):
            yield "WH-POL-017", Target.PATH, None, r.url
    query = r.url.partition("?")[2]
    form = r.body if r.body and "=" in r.body.partition("&")[0] else ""
    for where, text in ((Target.QUERY, query), (Target.BODY, form)):
        # unquoting yields a backslash only from a backslash or an escape
        if text and ("\\" in text or "%" in text) and _UNICODE_ESCAPE.search(unquote(text)):
            yield "WH-POL-023", where, None, text


def _content_type_shape(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    content_type = r.header("content-type")
    if not content_type:
        if r.body and r.has_header_record:
            yield "WH-POL-021", Target.HEADERS, "content-type", "(none)"
        return
    params = content_type.split(";")[1:]
    for param in params:
        value = param.partition("=")[2]
        # boundary="application/json": a parser that reads the parameter sees another body type
        if not _CT_PARAM.match(param) or _MEDIA_TYPE.match(value):
            yield "WH-POL-018", Target.HEADERS, "content-type", content_type
            return


def _required_headers(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    if not r.has_header_record:  # access logs record no headers: nothing to judge
        return
    host = r.header("host")
    if host is not None and (not host.strip() or not _HOST_VALUE.match(host.strip())):
        yield "WH-POL-019", Target.HEADERS, "host", host or "(empty)"
    agent, accept = r.header("user-agent"), r.headers.get("accept")
    # (HTTP/1.0 may omit Host and this check does not ask for the version: one reason it is PL3 only)
    missing = agent is None or host is None
    if missing or not (agent or "").strip() or (accept is not None and not "".join(accept).strip()):
        yield "WH-POL-020", Target.HEADERS, "user-agent", agent or "(none)"
    encoding = r.header("accept-encoding")
    if encoding and len(encoding) > MAX_ACCEPT_ENCODING:
        yield "WH-POL-022", Target.HEADERS, "accept-encoding", encoding


def _parameters(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    query = r.url.partition("?")[2].partition("#")[0]
    if not query:
        return
    pairs = query.split("&")
    if len(pairs) > MAX_PARAMS or any(len(p.partition("=")[0]) > MAX_PARAM_NAME for p in pairs):
        yield "WH-POL-022", Target.QUERY, None, query


#: headers that carry an upload's file name (AJAX uploaders, WebDAV clients)
_FILENAME_HEADERS = frozenset(
    {"x-filename", "x-file-name", "x_filename", "x.filename", "filename", "x-upload-filename"}
)
#: script extensions a server may execute; "a.php...", "a.php5 ", "a. phtml" are stored as scripts where the
#: file system or the upload handler trims trailing dots and spaces (CWE-434)
_SCRIPT_NAME = re.compile(
    r"\.\s?(?:php\d{0,3}|phtml|phpt|phps|phar|pht|jspx?|aspx?|cer|asa|shtml)\d{0,5}[\s.]{0,40}$", re.IGNORECASE
)


def _header_injection(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    # RFC 9110 section 5.5: field values never contain CR or LF (obsolete line folding is rejected)
    for name, values in r.headers.items():
        for value in values:
            if "\r" in value or "\n" in value:
                yield "WH-POL-024", Target.HEADERS, name, value
            if name == "cookie" and value.lstrip().lower().startswith("$version"):
                yield "WH-POL-025", Target.HEADERS, name, value
            if name in _FILENAME_HEADERS and _SCRIPT_NAME.search(value):
                yield "WH-POL-026", Target.HEADERS, name, value


def _shape(_policy: RequestPolicy, r: _Request) -> Iterator[tuple[str, Target, str | None, str]]:
    yield from shape_checks(r.method, r.url, r.body, r.version, r.headers, r.has_header_record)


_CHECKS: tuple[_Check, ...] = (
    _methods,
    _content,
    _override,
    _session,
    _smuggling,
    _paths_and_headers,
    _body_and_range,
    _encodings,
    _content_type_shape,
    _required_headers,
    _parameters,
    _header_injection,
    _shape,
)


# -- which rows the checks need to see ------------------------------------------------------------

#: parameter names of session ids as :data:`_SESSION_PARAM` spells them, cut down to a part every one holds
#: ("sess", "sid", ...) and followed, within the few characters its suffix and quote may take, by "=" or ":"
_SESSION_SYMPTOM = r"(?:sess|sid|cfid|cftoken|login_token|cakephp|shiny-token)[^&=:]{0,20}[=:]"
#: what :func:`urllib.parse.unquote` may turn into a backslash (WH-POL-023) and a malformed or doubly
#: encoded escape (WH-POL-027; the escape's next character may be any but a hex digit, "&" or "+")
_ESCAPE_SYMPTOMS = r"\\|%5c|%(?:[g-tv-z]|[0-9a-f](?:[^0-9a-f&+]|$))|%25(?:3[0-9]|[46][1-9a-f]|[57][0-9a])"
#: what a URL must show for a check of its path or query to fire: NUL (WH-POL-012), a session id or
#: ``_method`` parameter (WH-POL-006/007), a restricted extension, also where the path spells a letter,
#: dot or "~" as an escape (WH-POL-009 decodes the path first), full-width and control escapes
#: (WH-POL-016/017), WH-POL-023/027 escapes (WH-POL-022's limits are counted in :func:`policy_mask`)
_URL_SYMPTOM = (
    r"(?i)%00|\x00|\?.*" + _SESSION_SYMPTOM + r"|_method=|"
    r"(?:\.|%2e)(?:bak|backup|old|orig|save|swp|swo|sql|db|sqlite3?|mdb|dbf|key|pem|pwd|pass|rdb)(?:[?#\n]|$|%0a)|"
    r"(?:\.|%2e)[^/?#]{0,24}(?:~|%7e)|^[^?#]*%(?:3[0-9]|[46][1-9a-f]|[57][0-9a])|"
    r"%u[f]{2}[0-9a-f]{2}|%(?:0[1-8bcef]|1[0-9a-f]|7f)|" + _ESCAPE_SYMPTOMS
)
#: a parameter name longer than WH-POL-022 allows: after "?" or "&", more characters than that before "=", "&", "#"
_LONG_NAME = "[?&][^=&#]{" + str(MAX_PARAM_NAME + 1) + "}"
#: the same for a body, whose checks look for ``_method`` and session ids (WH-POL-006/007) and, in a
#: form, WH-POL-023/027 escapes
_BODY_SYMPTOM = r"(?i)_method=|" + _SESSION_SYMPTOM + "|" + _ESCAPE_SYMPTOMS
#: checks of the query that run on every request with a header record from paranoia 3 on
_QUERY_SHAPE_RULES = frozenset({"WH-POL-031", "WH-POL-032", "WH-POL-034", "WH-POL-035"})
#: header names some check reads by name (any other header matters only through a CR or LF in its value,
#: WH-POL-024, or a Cookie's ``$Version``, WH-POL-025, which the header screen looks at directly);
#: Referer is read only beside a session id in the URL or body, which the URL and body symptoms catch
_READ_BY_NAME = frozenset(
    {"request-range", "content-type", "host", "content-length", "transfer-encoding", "connection", "range"}
    | {"user-agent", "accept", "accept-encoding"}
    | _RESTRICTED_HEADERS
    | _OVERRIDE_HEADERS
    | SHAPE_HEADERS
    | _FILENAME_HEADERS
)
#: distinct header sets whose screen verdict a policy remembers (their texts are short)
SCREEN_CACHE_MAX_ENTRIES = 4_096


#: ``(flag name, column, symptom)`` of the column symptoms, which the prefilter may scan alongside its
#: own patterns (:func:`.prefilter.column_flags`) and hand to :meth:`RequestPolicy.mask`
COLUMN_SYMPTOMS: tuple[tuple[str, str, str], ...] = (
    ("_policy:url", "url.original", _URL_SYMPTOM),
    ("_policy:body", "http.request.body.content", _BODY_SYMPTOM),
    ("_policy:referrer", "http.request.referrer", r"(?i)%00|\x00"),
)


def policy_mask(
    frame: pl.DataFrame, allowed_methods: frozenset[str], symptoms: pl.DataFrame | None = None
) -> pl.Series:
    """True for rows whose method, URL, body or referrer shows something a policy check may flag.

    Column symptoms run through the same cached engines as the prefilter (a Polars regex would be
    rebuilt per batch), unless ``symptoms`` already holds their flags (:data:`COLUMN_SYMPTOMS`).
    A header record is judged by :meth:`RequestPolicy.mask`, which adds its rows.
    """
    engine = resolve_engine(EngineName.AUTO)
    methods = frame["http.request.method"]
    # judged per distinct method, folded as the checks fold it: a log holds a handful of them
    unserved = [m for m in methods.unique().drop_nulls().to_list() if m.upper() not in allowed_methods]
    mask = methods.is_in(unserved).fill_null(False) if unserved else pl.Series(np.zeros(frame.height, dtype=bool))
    for name, column, pattern in COLUMN_SYMPTOMS:
        if symptoms is not None:
            mask = mask | symptoms[name]
        elif frame[column].null_count() < frame.height:
            mask = mask | column_scanner(pattern, engine).flags(frame[column])
    mask = mask | _over_limits(frame["url.original"])
    body = frame["http.request.body.content"]
    if body.null_count() < frame.height:  # WH-POL-014 needs no header record
        mask = mask | (body.is_not_null() & methods.str.to_uppercase().is_in(["GET", "HEAD"])).fill_null(False)
    return mask.alias("policy")


def _over_limits(urls: pl.Series) -> pl.Series:
    """True for URLs with more parameters, or a longer parameter name, than WH-POL-022 allows.

    Only URLs longer than the name limit can break either limit, and few are: the rest are not
    searched. (As a Hyperscan pattern, the long name's bounded repeat of a UTF-8 class is "too large".)
    """
    over = np.zeros(urls.len(), dtype=bool)
    at = (urls.str.len_bytes() > MAX_PARAM_NAME).fill_null(False).arg_true()
    if at.len():
        long = urls.gather(at)
        found = (long.str.count_matches("&", literal=True) >= MAX_PARAMS) | long.str.contains(_LONG_NAME)
        over[at.to_numpy()] = found.fill_null(False).to_numpy()
    return pl.Series(urls.name, over)


def _is_length(value: str) -> bool:
    """A well-formed Content-Length (RFC 9110: ASCII digits; blanks around are the reader's).

    Why not ``str.isdigit`` alone: it holds for "²" and digits of other scripts, which no server
    reads as a length; such a header went unflagged by WH-POL-008 (a smuggling sign).
    """
    return ascii_digits(value.strip())


def _reduced(name: str, values: Sequence[str]) -> tuple[str, ...]:
    """``values`` with what no check tells apart made alike (see :meth:`RequestPolicy._screen`).

    A User-Agent only counts as empty or not (WH-POL-020); Content-Length values only as well-formed
    and equal, or not (WH-POL-008): the length of each body would otherwise make every POST unique.
    Two values or more join to a non-empty text, so only single values need their emptiness kept.
    """
    if name == "user-agent":
        return tuple("x" if value.strip() else value for value in values)
    if name == "content-length" and len(set(values)) == 1 and _is_length(values[0]):
        return ("0",)
    return tuple(values)
