"""Measure ``web.attack_patterns`` against public ground truth: CRS regression tests, HttpParamsDataset.

Two corpora, two questions:

* the OWASP CRS regression suite (go-ftw YAML, flattened to ``derived/crs_requests.jsonl``) asks
  "of the requests CRS's authors wrote to trigger a rule, how many do we flag?" per attack family,
  and "do we leave the benign ``999999`` requests alone?" (37 in the suite here; the issue counted
  36). Requests are replayed as full ``http`` events (headers as JSON text, body content), exactly
  what a JSON request log carries.
  Response-side tests (``RESPONSE-95x``) need a server's answer we never see; they are counted
  apart and left out of the overall figure.
* HttpParamsDataset asks "of labelled parameter values, how many of each attack class do we flag,
  and how many ordinary values?". Each value is sent as ``/search?q=<value>``. About 40% of its
  path-traversal values are fuzzing templates with an unfilled ``{file}`` placeholder (or bare runs
  of ``/``, ``./``); both the raw rate and the rate with ``{file}`` filled in are reported.

The loaders and scorers are plain functions so the CLI stays thin and tests can call them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import orjson
import polars as pl

from watchhouse.core.detector import Detector
from watchhouse.core.events import Dataset, EventBatch, field_names

#: CRS rule-id hundreds -> the family name we report (CRS's own file names say the same).
CRS_FAMILIES: dict[str, str] = {
    "911": "method enforcement",
    "913": "scanner detection",
    "920": "protocol enforcement",
    "921": "protocol attack / smuggling",
    "922": "multipart attack",
    "930": "LFI / path traversal",
    "931": "RFI",
    "932": "RCE / command injection",
    "933": "PHP injection",
    "934": "generic (Node, SSRF, template, ...)",
    "941": "XSS",
    "942": "SQL injection",
    "943": "session fixation",
    "944": "Java / Log4Shell",
    "949": "blocking evaluation",
    "999": "common exceptions (benign)",
}
BENIGN_RULE = 999999
_PATH = "crs-tests/derived/crs_requests.jsonl"
#: replayed requests get timestamps one second apart from here, so time windows behave
REPLAY_START = datetime(2026, 1, 1, tzinfo=UTC)

DetectorFactory = Callable[[], Detector]


@dataclass(frozen=True)
class CrsCase:
    """One CRS regression test stage as a request."""

    id: str
    rule_id: int
    family: str
    label: str  # fire | no_fire | status_only
    response_side: bool
    row: dict[str, Any]


def crs_family(rule_id: int) -> str:
    prefix = str(rule_id)[:3]
    if prefix.startswith("95") or prefix in {"959", "980"}:
        return "response side"
    return CRS_FAMILIES.get(prefix, f"{prefix}xxx")


def _requests_file(path: Path) -> Path:
    """Accept the corpus folder, its ``derived`` folder or the JSONL file itself."""
    for candidate in (path, path / "derived" / "crs_requests.jsonl", path / "crs_requests.jsonl"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no crs_requests.jsonl under {path} (expected {_PATH})")


def load_crs(path: Path) -> list[CrsCase]:
    """The flattened CRS tests as ``http`` rows; line numbers are the JSONL's, for evidence."""
    source = _requests_file(path)
    cases: list[CrsCase] = []
    for number, line in enumerate(source.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        test = orjson.loads(line)
        method, uri, version, headers, data = as_sent(test)
        lower = {str(k).lower(): v for k, v in headers.items()}
        row = {
            "@timestamp": REPLAY_START + timedelta(seconds=number),
            "log.file.path": str(source),
            "log.file.line": number,
            "source.ip": "192.0.2.1",
            "http.request.method": method,
            "url.original": uri,
            "http.version": version.removeprefix("HTTP/"),
            "user_agent.original": _text(lower.get("user-agent")),
            "http.request.referrer": _text(lower.get("referer")),
            "http.request.headers": orjson.dumps(headers).decode() if headers else None,
            "http.request.body.content": data if isinstance(data, str) and data else None,
        }
        rule_id = int(test["rule_id"])
        cases.append(
            CrsCase(
                id=str(test["id"]),
                rule_id=rule_id,
                family=crs_family(rule_id),
                label=str(test["label"]),
                response_side=bool(test.get("response_side")) or str(test.get("family", "")).startswith("RESPONSE"),
                row=row,
            )
        )
    return cases


#: go-ftw sends a Content-Length for these methods even without a body (its own regex, unanchored in the middle)
_BODY_METHODS = re.compile(r"^POST|PUT|PATCH|DELETE$")
_FORM = "application/x-www-form-urlencoded"
#: what Go's ``url.QueryUnescape`` would change or refuse: a ``+``, or any ``%`` escape, valid or not
_ESCAPED_OR_BAD = re.compile(r"[+%]")


def as_sent(test: dict[str, Any]) -> tuple[str, str, str, dict[str, Any], str | None]:
    """Method, URI, version, headers and body of a CRS test as go-ftw puts it on the wire.

    Why: the YAML is not the request. With ``autocomplete_headers`` (the default) go-ftw adds
    ``Content-Type: application/x-www-form-urlencoded`` to any request with data that names none,
    URL-encodes each ``key=value`` of form data that is not already escaped, and adds
    ``Content-Length`` and ``Connection: close``; ``encoded_request`` tests send raw bytes instead,
    request line and headers included. Replaying the YAML fields as they stand flagged a thousand
    "fire" tests for lacking a Content-Type they do carry, and showed form values unencoded.
    """
    raw = test.get("raw_request_decoded")
    if test.get("encoded_request") and isinstance(raw, str) and raw:
        return _parse_raw(raw)
    method = str(test.get("method") or "GET")
    headers: dict[str, Any] = dict(test.get("headers") or {})
    data = test.get("data") if isinstance(test.get("data"), str) and test.get("data") else None
    names = {str(k).lower(): str(k) for k in headers}
    if data is not None and test.get("autocomplete_headers", True):
        if "content-type" not in names:
            headers["Content-Type"] = _FORM
            names["content-type"] = "Content-Type"
        if headers[names["content-type"]] == _FORM and not _ESCAPED_OR_BAD.search(data):
            data = "&".join(_form_token(token) for token in data.split("&"))
        if str(headers[names["content-type"]]).startswith("multipart/form-data;"):
            data = data.replace("\n", "\r\n")
    if test.get("autocomplete_headers", True):
        if "connection" not in names:
            headers["Connection"] = "close"
        if (data or _BODY_METHODS.search(method)) and "content-length" not in names:
            headers["Content-Length"] = str(len((data or "").encode()))
    return method, str(test.get("uri") or "/"), str(test.get("version") or "HTTP/1.1"), headers, data


def _form_token(token: str) -> str:
    name, sep, value = token.partition("=")
    return quote_plus(name, safe="") + sep + quote_plus(value, safe="") if sep else quote_plus(token, safe="")


def _parse_raw(raw: str) -> tuple[str, str, str, dict[str, Any], str | None]:
    head, _, body = raw.partition("\r\n\r\n")
    request_line, *lines = head.split("\r\n")
    method, _, rest = request_line.partition(" ")
    uri, _, version = rest.rpartition(" ") if rest.count(" ") else (rest, "", "HTTP/1.1")
    headers: dict[str, Any] = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in headers:
            previous = headers[name]
            headers[name] = [*previous, value.strip()] if isinstance(previous, list) else [previous, value.strip()]
        else:
            headers[name] = value.strip()
    return method or "GET", uri or "/", version or "HTTP/1.1", headers, body or None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _batch(rows: Sequence[dict[str, Any]]) -> EventBatch:
    names = field_names(Dataset.HTTP)
    columns: dict[str, list[Any]] = {name: [row.get(name) for row in rows] for name in names}
    return EventBatch.from_columns(Dataset.HTTP, columns)


def flagged_rows(detector: Detector, rows: Sequence[dict[str, Any]], batch_size: int = 4096) -> set[int]:
    """Indices of rows the detector raised a finding for (rows must carry unique line numbers)."""
    line_to_index = {row["log.file.line"]: i for i, row in enumerate(rows)}
    flagged: set[int] = set()
    for start in range(0, len(rows), batch_size):
        for finding in detector.detect(_batch(rows[start : start + batch_size])):
            for ref in finding.evidence:
                if ref.line in line_to_index:
                    flagged.add(line_to_index[ref.line])
    for finding in detector.finalize():
        for ref in finding.evidence:
            if ref.line in line_to_index:
                flagged.add(line_to_index[ref.line])
    return flagged


@dataclass
class Rate:
    hit: int = 0
    total: int = 0

    @property
    def share(self) -> float:
        return self.hit / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"hit": self.hit, "total": self.total, "share": round(self.share, 4)}


@dataclass
class CrsReport:
    """Fire tests flagged per family, benign tests left alone, response-side tests apart."""

    fire: dict[str, Rate] = field(default_factory=dict)
    overall: Rate = field(default_factory=Rate)
    benign: Rate = field(default_factory=Rate)  # hit = benign tests we flagged
    benign_flagged_ids: list[str] = field(default_factory=list)
    response_side_fire: int = 0
    missed_ids: list[str] = field(default_factory=list)
    #: missed fire tests per family, counted by where the request carries its payload (:func:`payload_location`)
    missed_by_location: dict[str, Counter[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fire_by_family": {k: v.to_dict() for k, v in sorted(self.fire.items())},
            "missed_by_location": {k: dict(v.most_common()) for k, v in sorted(self.missed_by_location.items())},
            "fire_overall": self.overall.to_dict(),
            "benign_999999": {
                "flagged": self.benign.hit,
                "total": self.benign.total,
                "left_alone_share": round(1 - self.benign.share, 4) if self.benign.total else 1.0,
                "flagged_ids": self.benign_flagged_ids,
            },
            "response_side_fire_tests_not_inspected": self.response_side_fire,
        }


def evaluate_crs(cases: Sequence[CrsCase], make_detector: DetectorFactory) -> CrsReport:
    """Replay the request-side fire tests and the benign 999999 tests through a fresh detector."""
    report = CrsReport()
    chosen = [c for c in cases if not c.response_side and (c.label == "fire" or c.rule_id == BENIGN_RULE)]
    report.response_side_fire = sum(1 for c in cases if c.response_side and c.label == "fire")
    flagged = flagged_rows(make_detector(), [c.row for c in chosen])
    for index, case in enumerate(chosen):
        hit = index in flagged
        if case.rule_id == BENIGN_RULE:
            report.benign.total += 1
            if hit:
                report.benign.hit += 1
                report.benign_flagged_ids.append(case.id)
            continue
        rate = report.fire.setdefault(case.family, Rate())
        rate.total += 1
        report.overall.total += 1
        if hit:
            rate.hit += 1
            report.overall.hit += 1
        else:
            report.missed_ids.append(case.id)
            report.missed_by_location.setdefault(case.family, Counter())[payload_location(case.row)] += 1
    return report


#: header names every replayed request carries; anything else is where a header payload would sit
_ORDINARY_HEADERS = frozenset({"host", "accept", "content-type", "content-length", "connection", "user-agent"})


def payload_location(row: dict[str, Any]) -> str:
    """Where a CRS test request carries what makes it an attack, for the breakdown of misses.

    Why: a miss is fixed in different places depending on this. A query or form value is the
    rule pack's business; a raw (non-form) body, a JSON body, a cookie or another header may need
    the request to be cut into parts differently; "protocol only" means nothing is in a value at all
    (a method, a missing or malformed header) and only a request-policy check can see it.
    """
    url = str(row.get("url.original") or "/")
    path, _, query = url.partition("?")
    body = row.get("http.request.body.content")
    headers = orjson.loads(row["http.request.headers"]) if row.get("http.request.headers") else {}
    names = {str(k).lower() for k in headers}
    agent = str(row.get("user_agent.original") or "")
    if query:
        return "query"
    if body:
        text = str(body).lstrip()
        if text[:1] in "{[":
            return "json body"
        if text.startswith("<"):
            return "xml body"
        if "multipart" in str(headers.get("Content-Type", headers.get("content-type", ""))).lower():
            return "multipart body"
        head = text.partition("&")[0]
        return "form body" if "=" in head and head.partition("=")[0].replace("_", "").isalnum() else "raw body"
    if "cookie" in names:
        return "cookie"
    if row.get("http.request.referrer") or (agent and "OWASP CRS test agent" not in agent):
        return "user agent / referer"
    if names - _ORDINARY_HEADERS:
        return "other header"
    if path not in ("/", "/get", "/post"):
        return "path"
    return "protocol only"


# -- HttpParamsDataset ----------------------------------------------------------------------------

PARAMS_FILE = "payload_full.csv"
FILE_PLACEHOLDER = "{file}"
FILLED_FILE = "etc/passwd"


@dataclass
class ParamsReport:
    by_class: dict[str, Rate] = field(default_factory=dict)
    traversal_filled: Rate = field(default_factory=Rate)

    @property
    def norm_fp(self) -> float:
        return self.by_class["norm"].share if "norm" in self.by_class else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "detection_by_class": {k: v.to_dict() for k, v in sorted(self.by_class.items()) if k != "norm"},
            "norm_false_positives": self.by_class.get("norm", Rate()).to_dict(),
            "path_traversal_with_file_filled": self.traversal_filled.to_dict(),
        }


def load_params(path: Path) -> tuple[list[str], list[str]]:
    """Payloads and their ``attack_type`` labels from the folder or a CSV file."""
    source = path / PARAMS_FILE if path.is_dir() else path
    frame = pl.read_csv(source, schema_overrides={"payload": pl.String, "attack_type": pl.String})
    return frame["payload"].fill_null("").to_list(), frame["attack_type"].to_list()


def _param_rows(payloads: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "@timestamp": REPLAY_START + timedelta(seconds=i),
            "log.file.path": "httpparamsdataset",
            "log.file.line": i + 1,
            "source.ip": "198.51.100.1",
            "http.request.method": "GET",
            "url.original": "/search?q=" + quote_plus(p),
        }
        for i, p in enumerate(payloads)
    ]


def evaluate_params(payloads: Sequence[str], labels: Sequence[str], make_detector: DetectorFactory) -> ParamsReport:
    report = ParamsReport()
    flagged = flagged_rows(make_detector(), _param_rows(payloads))
    totals = Counter(labels)
    hits = Counter(labels[i] for i in flagged)
    report.by_class = {label: Rate(hits[label], totals[label]) for label in sorted(totals)}
    traversal = [
        p.replace(FILE_PLACEHOLDER, FILLED_FILE)
        for p, lab in zip(payloads, labels, strict=True)
        if lab == "path-traversal"
    ]
    if traversal:
        filled = flagged_rows(make_detector(), _param_rows(traversal))
        report.traversal_filled = Rate(len(filled), len(traversal))
    return report
