"""Per-request matching: cut a request into inspectable parts, decode each, run the rules.

This is the exact half of the detector and only sees rows the vectorised prefilter let
through; matching itself is vectorised again over all parts of a batch (:class:`Matcher`).
Query strings are split by hand rather than with ``urllib.parse.parse_qsl`` (whose
``keep_blank_values`` semantics we keep) because ``parse_qsl`` percent-decodes once on its own,
and the decoding steps must be recorded by :mod:`.decoding` for the explanation.
"""

from __future__ import annotations

import functools
import operator
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import compress
from typing import NamedTuple

import orjson
import polars as pl

from watchhouse._native import webdecode as native_webdecode
from watchhouse.detectors.web.decoding import (
    NO_BASE64,
    Decoded,
    base64_view,
    decode,
    decode_tables,
    shell_view,
    sql_view,
    url_decode,
)
from watchhouse.detectors.web.engines import (
    ColumnScanner,
    EngineName,
    PatternSet,
    any_matches,
    column_scanner,
    pattern_set,
    resolve_engine,
)
from watchhouse.detectors.web.header_record import header_fields
from watchhouse.detectors.web.memory import remember
from watchhouse.detectors.web.rules import PolicyRule, Rule, RuleSet, Target, View
from watchhouse.detectors.web.token_checks import TokenChecks

# Names that look like ordinary parameter names; anything else is inspected as a value too,
# because a payload without '=' ("?id=1&<script>...") lands in the name position.
_PLAIN_NAME = re.compile(r"^[\w.\-\[\]%]{0,64}$")
# names made of name characters that still carry something: prototype pollution
# (``__proto__[admin]=1``), an encoded space, line break or "=" (a payload or a second parameter
# hidden in the name), and ORM lookups an API may pass straight to a query (``name__regex=``)
_SUSPICIOUS_NAME = re.compile(
    r"__proto__|constructor|%(?:20|09|0a|0d|3d)|__i?(?:startswith|endswith|regex|contains|exact|search)\b",
    re.IGNORECASE,
)
_FORM_BODY = re.compile(r"^[\w.\-\[\]%]{1,64}=")


class Part(NamedTuple):
    """One value to inspect and where it sits in the request.

    A named tuple rather than a frozen dataclass: a full request is cut into about eight parts and
    a frozen dataclass costs twice as much to build (one ``object.__setattr__`` per field). The hot
    paths below build it from a whole tuple (``_part``), every field given in order.
    """

    target: Target
    name: str | None  # raw parameter or header name; None for whole-value targets
    raw: str
    plus_as_space: bool = False
    is_name: bool = False  # the value inspected is the parameter's name itself


class Hit(NamedTuple):
    """A rule (or a request-policy check) that fired on a part, with the decoded text it fired on."""

    rule: Rule | PolicyRule
    part: Part
    decoded: Decoded
    start: int
    end: int


#: ``Hit((rule, part, decoded, start, end))`` and ``Part((target, name, raw, plus_as_space, is_name))``
#: without the keyword-handling constructors (a third of their cost): a batch makes tens of thousands
_hit = Hit._make
_part = Part._make


def _split_form(text: str) -> Iterator[tuple[str, str, bool]]:
    """``a=1&b&c=`` -> (a, 1, True), (b, '', False), (c, '', True); blank values kept."""
    for piece in text.split("&"):
        if piece:
            name, sep, value = piece.partition("=")
            yield name, value, bool(sep)


def display_name(raw: str | None) -> str | None:
    """A parameter name as shown to people: percent-decoded (decoded lazily, only for hits)."""
    if raw is None:
        return None
    if len(raw) > _REMEMBERED_NAME_CHARS:  # a smuggled payload, not a name: not worth keeping
        return _decoded_name(raw)
    return _remembered_name(raw)


def _decoded_name(raw: str) -> str:
    return url_decode(Decoded(raw), plus_as_space=True).text[:64]


#: every finding names its parameters and a few names (q, id, search) recur: short ones are
#: remembered, at most 4,096 of them (about 1 MiB)
_REMEMBERED_NAME_CHARS = 256
_remembered_name = functools.lru_cache(maxsize=4096)(_decoded_name)


def inspect_name(name: str) -> bool:
    """Whether a parameter, cookie or JSON key name is inspected as a value too.

    Odd-looking names always are; so are plain ones of 8+ characters that are dotted (a class name,
    ``com.opensymphony.xwork2=``) or mix letter cases (perhaps base64, ``cnVudGltZQ=``): payloads are
    smuggled in names because many filters read only values.
    """
    if not _PLAIN_NAME.match(name) or _SUSPICIOUS_NAME.search(name):
        return True
    return len(name) >= 8 and ("." in name or name.lower() != name != name.upper())


def _form_parts(target: Target, text: str) -> Iterator[Part]:
    for name, value, has_value in _split_form(text):
        if has_value and value:
            yield _part((target, name, value, True, False))
        if inspect_name(name):
            yield _part((target, name, name, True, True))


def request_parts(
    url: str | None,
    body: str | None,
    referrer: str | None,
    user_agent: str | None,
    headers: str | None,
) -> list[Part]:
    """Every inspectable value of one request, in a stable order."""
    parts: list[Part] = []
    if url:
        path, _, query = url.partition("?")
        query = query.partition("#")[0]
        parts.append(_part((Target.PATH, None, path, False, False)))
        if query:
            if "=" in query:
                parts.extend(_form_parts(Target.QUERY, query))
            else:  # a parameterless payload: "/page?<script>..." or "/x.php?' or 1=1--"
                parts.append(_part((Target.QUERY, None, query, True, False)))
    if body:
        if _FORM_BODY.match(body):
            parts.extend(_form_parts(Target.BODY, body))
        elif body[:1] in "{[":
            parts.append(_part((Target.BODY, None, body, False, False)))
            parts.extend(_json_parts(body))
        else:  # text/plain and odd bodies: clients form-encode them too, so "+" is read as a space
            parts.append(_part((Target.BODY, None, body, True, False)))
    if referrer and referrer != "-":
        parts.append(_part((Target.REFERRER, None, referrer, False, False)))
    if user_agent and user_agent != "-":
        parts.append(_part((Target.USER_AGENT, None, user_agent, False, False)))
    if headers:
        parts.extend(_header_parts(headers))
    return parts


#: header texts whose parts are remembered, and the longest text worth remembering (at most about
#: 8 MiB of text): a client sends the same header set (its agent, Accept lines, session cookie) on
#: every request of its visit
HEADER_PARTS_MAX_ENTRIES = 2_048
HEADER_PARTS_MAX_CHARS = 4_096
_header_parts_of: OrderedDict[str, tuple[Part, ...]] = OrderedDict()


def _header_parts(headers: str) -> tuple[Part, ...]:
    """The parts of a header record (a JSON object), remembered per distinct text."""
    known = _header_parts_of.get(headers)
    if known is None:
        known = tuple(_split_headers(headers))
        if len(headers) <= HEADER_PARTS_MAX_CHARS:
            remember(_header_parts_of, headers, known, HEADER_PARTS_MAX_ENTRIES)
    return known


def _json_parts(body: str) -> Iterator[Part]:
    """Keys and string values of a JSON body, each inspected alone (as fields of a form are).

    The whole body is inspected too; single values matter for anchored rules and keep one
    field's quotes from pairing with another's.
    """
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    stack: list[tuple[str | None, object]] = [(None, parsed)]
    seen = 0
    while stack and seen < _MAX_JSON_VALUES:
        name, node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for key, value in node.items():
                if inspect_name(str(key)):
                    yield Part(Target.BODY, str(key), str(key), is_name=True)
                stack.append((str(key), value))
        elif isinstance(node, list):
            stack.extend((name, item) for item in node)
        elif isinstance(node, str) and node:
            yield Part(Target.BODY, name, node)


#: headers whose names and values are the client's own business; any other name is inspected too
_KNOWN_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "accept-language",
        "accept-charset",
        "connection",
        "content-type",
        "content-length",
        "cookie",
        "referer",
        "origin",
        "cache-control",
        "pragma",
        "upgrade",
        "upgrade-insecure-requests",
        "authorization",
        "if-modified-since",
        "if-none-match",
        "te",
        "dnt",
        "x-forwarded-for",
        "x-real-ip",
        "x-requested-with",
        "keep-alive",
        "proxy-connection",
        "range",
    }
)
_MAX_JSON_VALUES = 256


def _split_headers(headers: str) -> Iterator[Part]:
    fields = header_fields(headers)
    if fields is None:
        yield Part(Target.HEADERS, None, headers)
        return
    for name, values in fields:
        lower = name.lower()
        if lower not in _KNOWN_HEADERS and not lower.startswith(("sec-", "x-")):
            yield Part(Target.HEADERS, lower, name, is_name=True)
        for one in values:
            yield Part(Target.HEADERS, lower, one)
            if lower == "cookie":  # each cookie's name and value, like form fields
                for piece in one.split(";"):
                    cname, _, cvalue = piece.strip().partition("=")
                    if cvalue:
                        yield Part(Target.HEADERS, f"cookie:{cname}", cvalue)
                    if cname and inspect_name(cname):
                        yield Part(Target.HEADERS, f"cookie:{cname}", cname, is_name=True)


#: distinct values whose results are remembered, and the longest value worth remembering
CACHE_MAX_ENTRIES = 20_000
CACHE_MAX_VALUE_CHARS = 512

_Found = tuple[Rule | PolicyRule, Decoded, int, int]  # a hit without the part it was found in
#: a found hit's place in the rule set: hits of a part are handed out in rule order
_rank: Callable[[tuple[int, _Found]], int] = operator.itemgetter(0)
#: one view's rules, their places in the rule set, their database, every kept part's decoding in the
#: view and what the database found in each
_ViewAnswers = tuple[tuple[Rule, ...], tuple[int, ...], PatternSet, list[Decoded], list[list[tuple[int, int]]]]


#: a part's cache key (target, form decoding, raw text), taken in C: a batch has tens of thousands of parts
_cache_key: Callable[[Part], tuple[Target, bool, str]] = operator.itemgetter(0, 3, 2)


@dataclass(frozen=True, slots=True)
class _Decodings:
    base: list[Decoded]
    sql: list[Decoded]
    shell: list[Decoded]
    b64: list[Decoded]

    def of(self, view: View, k: int) -> Decoded:
        return self.column(view)[k]

    def column(self, view: View) -> list[Decoded]:
        """Every kept part's decoding in one view."""
        if view is View.BASE:
            return self.base
        if view is View.SQL:
            return self.sql
        return self.shell if view is View.SHELL else self.b64


def _decode_all(parts: list[Part], with_base64: bool) -> _Decodings:
    """Every part's four views; the compiled twin where it is built (:mod:`watchhouse._native._webdecode`)."""
    if native_webdecode is not None:
        return _Decodings(*native_webdecode.decode_views(parts, with_base64, _DECODE_TABLES))
    return _decode_all_reference(parts, with_base64)


def _decode_all_reference(parts: list[Part], with_base64: bool) -> _Decodings:
    out = _Decodings([], [], [], [])
    for part in parts:
        base = decode(part.raw, plus_as_space=part.plus_as_space)
        out.base.append(base)
        out.sql.append(sql_view(base))
        out.shell.append(shell_view(base))
        out.b64.append(base64_view(part.raw, plus_as_space=part.plus_as_space) if with_base64 else NO_BASE64)
    return out


_DECODE_TABLES = decode_tables()


class Matcher:
    """Runs a rule set over many parts at once.

    Three passes: the prefilter's symptom pattern on raw values drops clean parts (``page=2``
    beside ``q=o'brien``); the survivors are decoded into their views; the rules run on those.
    With the Hyperscan engine each view's rules are one precompiled database, asked about all of a
    batch's values at once (:meth:`.PatternSet.matching_many`: one joined scan finds the values
    worth scanning alone); with the Polars engine one combined regex per (target, view) group
    finds the values that match anything and only those are run through each rule. Both report
    the same hits.
    """

    def __init__(
        self,
        rules: RuleSet,
        symptoms: dict[Target, str] | None,
        engine: EngineName | str = EngineName.AUTO,
        checks: TokenChecks | None = None,
    ) -> None:
        """:param checks: tokenizer checks run on the same gated, decoded parts (none by default)."""
        self.rules = rules
        self.checks = checks
        self.symptoms = symptoms
        self.engine = resolve_engine(engine)
        self._order = {rule.id: i for i, rule in enumerate(rules)}
        self._cache: OrderedDict[tuple[Target, bool, str], tuple[_Found, ...]] = OrderedDict()
        self._with_base64 = any(rule.view is View.BASE64 for rule in rules)
        self._symptom_scanners = (
            {target: column_scanner(pattern, self.engine) for target, pattern in symptoms.items()}
            if symptoms is not None
            else None
        )
        if self.engine is EngineName.HYPERSCAN:
            self._views = {view: tuple(r for r in rules if r.view is view) for view in View}
            self._sets = {view: pattern_set(tuple(r.pattern for r in members)) for view, members in self._views.items()}
            self._ranks = {view: tuple(self._order[r.id] for r in members) for view, members in self._views.items()}
            self._view_targets = {target: tuple(group.view for group in rules.groups(target)) for target in Target}
            self._view_readers = {
                view: frozenset(t for t, read in self._view_targets.items() if view in read) for view in View
            }
            return
        quick = pl.lit(False)
        for target in Target:
            for group in rules.groups(target):
                matches = pl.col(group.view.value).str.contains("(?s)" + group.engine_pattern)
                quick = quick | ((pl.col("target") == target.value) & matches)
        self._quick = quick.fill_null(False)
        self._extract = [
            pl.when(pl.col("target").is_in(sorted(t.value for t in rule.targets)))
            .then(pl.col(rule.view.value).str.extract(f"(?s)({rule.engine_pattern})", 1))
            .otherwise(pl.lit(None, dtype=pl.String))
            .alias(rule.id)
            for rule in rules
        ]

    def match(self, parts: list[Part]) -> list[tuple[int, Hit]]:
        """``(index into parts, hit)`` for every rule firing on a part, in part then rule order.

        Results are remembered per distinct value (target, form decoding, raw text): traffic
        repeats itself (the same user agents, search terms and, in a campaign, the same payload
        on many URLs), and in the simulated day only one candidate value in ten was new. What a
        value matches depends on nothing else, so the cache cannot change a result; it is
        bounded in entries and in the length of the values it keeps.
        """
        if not parts:
            return []
        keys = list(map(_cache_key, parts))
        found: list[tuple[_Found, ...] | None] = list(map(self._cache.get, keys))
        if None in found:
            # each distinct new value is matched once, however often this batch repeats it (a Host
            # header, a session cookie): any part carrying it stands for the others, as what a value
            # matches depends on its key alone (taken in C: a cold batch has tens of thousands of parts)
            missing = [result is None for result in found]
            todo = dict(zip(compress(keys, missing), compress(parts, missing), strict=True))
            fresh = dict(zip(todo, self._match_uncached(list(todo.values())), strict=True))
            for key, result in fresh.items():
                if len(key[2]) <= CACHE_MAX_VALUE_CHARS:
                    remember(self._cache, key, result, CACHE_MAX_ENTRIES)
            found = [fresh[key] if result is None else result for key, result in zip(keys, found, strict=True)]
        out: list[tuple[int, Hit]] = []
        for i in compress(range(len(parts)), found):
            part = parts[i]
            out += [(i, _hit((rule, part, decoded, start, end))) for rule, decoded, start, end in found[i] or ()]
        return out

    def _match_uncached(self, parts: list[Part]) -> list[tuple[_Found, ...]]:
        results: list[list[_Found]] = [[] for _ in parts]
        keep = self._with_symptoms(parts)
        if keep:
            kept = [parts[i] for i in keep]
            views = _decode_all(kept, self._with_base64)
            matched = (
                self._match_hyperscan(kept, views)
                if self.engine is EngineName.HYPERSCAN
                else self._match_polars(kept, views)
            )
            for k, found in matched:
                results[keep[k]].append(found)
            if self.checks is not None:  # after the signatures, engine-independent
                for k, part in enumerate(kept):
                    results[keep[k]].extend(self.checks.check(part.target, views.base[k]))
        return [tuple(r) for r in results]

    def _with_symptoms(self, parts: list[Part]) -> list[int]:
        """Indices of the parts showing their target's symptom, in order.

        Parts are grouped by scanner, not by target: the path, query, body and referrer share the
        URL pattern, and one scan of all their values costs less than four (a value's verdict
        depends on the value alone, see :func:`.isolate_rows`).
        """
        if self._symptom_scanners is None:
            return list(range(len(parts)))
        scanners = self._symptom_scanners
        by_scanner: dict[int, tuple[ColumnScanner, list[int]]] = {}
        for i, part in enumerate(parts):
            scanner = scanners.get(part.target)
            if scanner is not None:
                by_scanner.setdefault(id(scanner), (scanner, []))[1].append(i)
        keep: list[int] = []
        for scanner, indices in by_scanner.values():
            flagged = any_matches(scanner, [parts[i].raw for i in indices])
            keep.extend(indices[j] for j in flagged)
        return sorted(keep)

    def _match_hyperscan(self, kept: list[Part], views: _Decodings) -> list[tuple[int, _Found]]:
        # per view, every kept part's decoding whose target reads that view, asked about at once
        asked: list[_ViewAnswers] = []
        for view, database in self._sets.items():
            readers = self._view_readers[view]
            decodings = views.column(view)
            found = database.matching_many(
                [decoded.text for decoded in decodings]
                if len(readers) == len(Target)
                else [decodings[k].text if part.target in readers else "" for k, part in enumerate(kept)]
            )
            asked.append((self._views[view], self._ranks[view], database, decodings, found))
        out: list[tuple[int, _Found]] = []
        for k, part in enumerate(kept):
            # (a target that does not read a view was asked about "", which matches nothing)
            hits: list[tuple[int, _Found]] = []
            target = part.target
            for members, ranks, database, decodings, found in asked:
                matches = found[k]
                if not matches:
                    continue
                decoded = decodings[k]
                for index, end in matches:
                    rule = members[index]
                    if target in rule.targets:
                        start, stop = database.span(index, decoded.text, end)
                        hits.append((ranks[index], (rule, decoded, start, stop)))
            if len(hits) > 1:
                hits.sort(key=_rank)  # in rule order (ranks are distinct)
            out.extend((k, hit) for _, hit in hits)
        return out

    def _match_polars(self, kept: list[Part], views: _Decodings) -> list[tuple[int, _Found]]:
        frame = pl.DataFrame(
            {
                "k": list(range(len(kept))),
                "target": [p.target.value for p in kept],
                "base": [d.text for d in views.base],
                "sql": [d.text for d in views.sql],
                "shell": [d.text for d in views.shell],
                "base64": [d.text for d in views.b64],
            },
            schema={
                "k": pl.Int64,
                "target": pl.String,
                "base": pl.String,
                "sql": pl.String,
                "shell": pl.String,
                "base64": pl.String,
            },
        )
        matched = frame.filter(self._quick)
        if matched.is_empty():
            return []
        out: list[tuple[int, _Found]] = []
        rules = self.rules.rules
        for row in matched.select([pl.col("k"), *self._extract]).iter_rows():
            k = row[0]
            for rule, text in zip(rules, row[1:], strict=True):
                if text:
                    decoded = views.of(rule.view, k)
                    start = max(decoded.text.find(text), 0)
                    out.append((k, (rule, decoded, start, start + len(text))))
        return out
