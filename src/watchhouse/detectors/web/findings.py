"""The web detector's findings of a batch, held as rows until read (:class:`WebFindingRows`).

Why: nearly every request of an attack-heavy batch is a finding, and in a campaign most repeat a
remembered verdict, so all a finding adds to its verdict are the row's own values: address, time,
line, method, URL, agent. Written as alerts, the verdict's part of each line (the rules, the hit
records, the anomaly score, the tags) is serialized once per verdict (:class:`Verdict` holds it)
and the row's values are put in between; the finding objects are made only for a reader that asks
for them (see :mod:`watchhouse.core.finding_rows`). The line is the one ``Alert.to_json`` writes for
the alert made from the finding, held to it byte for byte by ``tests/detectors/web/test_finding_rows.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from watchhouse._native import weblines as native_weblines
from watchhouse.core.alerts import evidence_records, instant_json
from watchhouse.core.finding_rows import FindingRows
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.explain import excerpt, redact_url
from watchhouse.detectors.web.rules import PolicyRule, Rule

_dumps = orjson.dumps


#: a verdict's parts of its alerts' lines: from the crime code to the title's key; the shared
#: details; the tags up to the id's key; then the title's class, the explanation's tail and the URL
#: as shown (None where each row shows its own), each escaped as inside a JSON string
LineParts = tuple[bytes, bytes, bytes, bytes, bytes, bytes | None]


class Verdict(NamedTuple):
    """A row's hits combined: the leading rule, severity, anomaly score and their explanation.

    A named tuple: it is built once per distinct request judged (a frozen dataclass sets each of
    its fields through ``object.__setattr__``), and never changed: rows judged alike share it.
    """

    lead: Rule | PolicyRule
    severity: Severity
    confidence: float
    score: int
    where: str
    records: tuple[dict[str, Any], ...]
    rule_ids: tuple[str, ...]
    classes: tuple[str, ...]
    attacked: frozenset[str]
    #: what every finding of this verdict says alike, worked out once (a campaign repeats a payload)
    crime_code: CrimeCode
    title_class: str
    tags: tuple[str, ...]
    explained: str  # the explanation's tail after the request line
    #: the URL as shown (redacted, cut), when the verdict's row key holds the URL: every row of the
    #: verdict then has that URL; None when the URL was not inspected and each row shows its own
    url_shown: str | None
    #: the verdict's parts of an alert's JSON line (:func:`line_parts`)
    line: LineParts


#: the positions of the verdict's fields the compiled line writer reads
_VERDICT_FIELDS = tuple(Verdict._fields.index(name) for name in ("line", "url_shown", "attacked"))


def line_parts(
    crime_code: CrimeCode,
    severity: Severity,
    confidence: float,
    details: dict[str, Any],
    tags: tuple[str, ...],
    texts: tuple[str, str, str | None],
) -> LineParts:
    """A verdict's parts of its alerts' lines, in ``Alert._record``'s layout: from the crime code to
    the title's key; the details a verdict decides (up to the method's key); the tags up to the id's
    key; then ``texts`` (the title's class, the explanation's tail, the URL as shown or None) escaped,
    without quotes, for the compiled writer, which puts the row's texts in between. ``details``:
    the details every finding of the verdict shares, in the findings' key order."""
    confidence_json = _dumps(confidence)
    head = _HEADS.get((crime_code, severity, confidence_json))
    if head is None:
        head = b"".join(
            [
                b',"crime_code":',
                _dumps(crime_code.value),
                b',"stage":',
                _dumps(Stage.ATTEMPTED.value),
                b',"severity":',
                _dumps(str(severity)),
                b',"confidence":',
                confidence_json,
                b',"title":',
            ]
        )
        if len(_HEADS) < _PARTS_MAX:
            _HEADS[(crime_code, severity, confidence_json)] = head
    tail = _TAILS.get(tags)
    if tail is None:
        tail = b'},"tags":' + _dumps(list(tags)) + b',"id":'
        if len(_TAILS) < _PARTS_MAX:
            _TAILS[tags] = tail
    title_class, explained, url_shown = texts
    title = _TITLES.get(title_class)
    if title is None:
        title = _dumps(title_class)[1:-1]
        if len(_TITLES) < _PARTS_MAX:
            _TITLES[title_class] = title
    return (
        head,
        _dumps(details)[:-1] + b',"method":',  # the row's values follow inside the same object
        tail,
        title,
        _dumps(explained)[1:-1],
        None if url_shown is None else _dumps(url_shown)[1:-1],
    )


#: parts many verdicts share (a handful of crime codes, severities, confidences, tag sets and
#: titles), each serialized once; bounded all the same
_HEADS: dict[tuple[CrimeCode, Severity, bytes], bytes] = {}
_TAILS: dict[tuple[str, ...], bytes] = {}
_TITLES: dict[str, bytes] = {}
_PARTS_MAX = 1_024


def verdict_details(
    rule_ids: tuple[str, ...],
    score: int,
    anomaly_threshold: int,
    paranoia_level: int,
    classes: tuple[str, ...],
    records: tuple[dict[str, Any], ...],
    *,
    copied: bool = True,
) -> dict[str, Any]:
    """The details every finding of a verdict has alike, in the findings' key order (the row's own
    follow: method, status, URL, agent). New containers on every call, the hit records copied: a
    finding's details are its own, and the verdict is shared. ``copied=False`` where the details
    are only serialized (:func:`line_parts`): the records as they are."""
    if copied:
        hits = []
        for record in records:
            hit = record.copy()
            hit["decoding_steps"] = record["decoding_steps"].copy()
            hits.append(hit)
    else:
        hits = list(records)
    first = hits[0]
    return {
        "rules": list(rule_ids),
        "anomaly_score": score,
        "anomaly_threshold": anomaly_threshold,
        "paranoia_level": paranoia_level,
        "classes": list(classes),
        "parameter": first["parameter"],
        "target": first["target"],
        "decoded_excerpt": first["decoded_excerpt"],
        "decoding_steps": first["decoding_steps"],
        "hits": hits,
    }


class WebFindingRows(FindingRows):
    """The findings of a batch's judged rows: one :class:`Verdict` and the row's values each."""

    def __init__(
        self,
        detector: str,
        verdicts: list[Verdict],
        columns: list[list[Any]],
        *,
        excerpt_chars: int,
        anomaly_threshold: int,
        paranoia_level: int,
    ) -> None:
        """``columns``: the rows' ``@timestamp`` (datetimes), path, line, offset, source address,
        method, URL, status and user agent, each a list in row order."""
        seen, paths, lines, offsets, ips, methods, urls, statuses, agents = columns
        keys = [f"{path}:{line}:{offset}" for path, line, offset in zip(paths, lines, offsets, strict=True)]
        super().__init__(detector, keys, [v.severity for v in verdicts], [v.crime_code for v in verdicts])
        self._verdicts = verdicts
        self._seen = seen
        self._ips = ips
        self._methods = methods
        self._urls = urls
        self._statuses = statuses
        self._agents = agents
        self._references = EventRef.many(paths, lines, offsets)  # built in C, a column at once
        self._limit = excerpt_chars
        self._threshold = anomaly_threshold
        self._paranoia = paranoia_level
        self._shown: dict[tuple[str, frozenset[str]], str] = {}  # URLs as shown, by URL and attacked names
        self._agents_shown: dict[str, str] = {}  # agents as shown
        self._stamps: dict[int, bytes] = {}  # instants as written, by the identity of their datetime
        self._paths_json: dict[str, bytes] = {}  # paths as written
        self._name = _dumps(detector)

    def _texts(self, index: int) -> tuple[str, str, str, str, str | None]:
        """The row's address (or "unknown"), URL as shown, title, explanation and agent as shown."""
        verdict = self._verdicts[index]
        ip = self._ips[index] or "unknown"
        method, url, status, agent = self._methods[index], self._urls[index], self._statuses[index], self._agents[index]
        url_shown = verdict.url_shown
        if url_shown is None:
            shown_key = (url or "", verdict.attacked)
            url_shown = self._shown.get(shown_key)
            if url_shown is None:
                url_shown = self._shown[shown_key] = redact_url(url or "", verdict.attacked, self._limit)
        status_text = f", answered {status}" if status is not None else ""
        explanation = f"{method or 'request'} {url_shown} from {ip}{status_text}{verdict.explained}"
        agent_shown = None
        if agent:
            agent_shown = self._agents_shown.get(agent)
            if agent_shown is None:
                agent_shown = self._agents_shown[agent] = excerpt(agent, 0, 0, self._limit)
        return ip, url_shown, f"{verdict.title_class} from {ip}", explanation, agent_shown

    def _make(self) -> list[Finding]:
        """The finding objects, as the detector made them before it held rows.

        A finding is made without the dataclass constructor, whose checks hold by construction:
        the confidence was checked when the verdict was judged, there is one evidence reference,
        and first and last seen are the same instant; a row without a timestamp takes the
        constructor and fails as it always did. Details are new for every finding (a verdict is
        shared between rows and must not change); findings of one address share its subject.
        """
        seen_column, methods, statuses, references = self._seen, self._methods, self._statuses, self._references
        subjects: dict[str, Subject] = {}
        findings: list[Finding] = []
        for index, verdict in enumerate(self._verdicts):
            ip, url_shown, title, explanation, agent_shown = self._texts(index)
            subject = subjects.get(ip)
            if subject is None:
                subject = subjects[ip] = Subject("source.ip", ip)
            details = verdict_details(
                verdict.rule_ids, verdict.score, self._threshold, self._paranoia, verdict.classes, verdict.records
            )
            details["method"] = methods[index]
            details["status_code"] = statuses[index]
            details["url_excerpt"] = url_shown
            if agent_shown is not None:
                details["user_agent_excerpt"] = agent_shown
            seen = seen_column[index]
            values = {
                "detector": self.detector,
                "key": self.keys[index],
                "crime_code": verdict.crime_code,
                "stage": Stage.ATTEMPTED,
                "severity": verdict.severity,
                "confidence": verdict.confidence,
                "title": title,
                "explanation": explanation,
                "subject": subject,
                "first_seen": seen,
                "last_seen": seen,
                "evidence": (references[index],),
                "details": details,
                "tags": verdict.tags,
            }
            if seen is None:
                findings.append(Finding(**values))
            else:
                finding = object.__new__(Finding)
                object.__setattr__(finding, "__dict__", values)  # frozen: fields are set past __setattr__
                findings.append(finding)
        return findings

    def alert_lines(self, indices: list[int], ids: list[str], version: str) -> bytes:
        """The lines from the verdicts' parts and the rows' values.

        Where the compiled writer is built (:mod:`watchhouse._native._weblines`), each line goes
        straight into one C buffer; :meth:`_alert_lines_reference` is what it is held to.
        """
        if native_weblines is None:
            return self._alert_lines_reference(indices, ids, version)
        written: bytes = native_weblines.alert_lines(
            indices,
            ids,
            self._name,
            _dumps(version),
            self._verdicts,
            _VERDICT_FIELDS,
            [self._seen, self._ips, self._methods, self._urls, self._statuses, self._agents],
            self.keys,
            self._references,
            self._shown,
            self._agents_shown,
            self._stamps,
            self._limit,
            redact_url,
            excerpt,
            instant_json,
            _dumps,
        )
        return written

    def _alert_lines_reference(self, indices: list[int], ids: list[str], version: str) -> bytes:
        """The lines from the verdicts' parts and the rows' values, in one loop over the rows.

        Values a batch repeats (addresses, methods, statuses, URLs and agents as shown, instants,
        paths) are serialized once per batch; an evidence reference with a line and an offset (a
        file read as a stream) is spelt here, any other by :func:`.evidence_records`.
        """
        dumps = _dumps
        name, version_json = self._name, dumps(version)
        verdicts, seen_column, keys, references = self._verdicts, self._seen, self.keys, self._references
        methods, statuses, texts = self._methods, self._statuses, self._texts
        stamps, paths = self._stamps, self._paths_json
        repeated: tuple[dict[Any, bytes], ...] = ({}, {}, {}, {}, {})  # ip, method, status, URL, agent
        ip_json, method_json, status_json, url_json, agent_json = repeated
        out: list[bytes] = []
        append = out.append
        for index, alert_id in zip(indices, ids, strict=True):
            head, shared, tail = verdicts[index].line[:3]  # (the escaped texts are the compiled writer's)
            ip, url_shown, title, explanation, agent_shown = texts(index)
            seen = seen_column[index]
            stamp = stamps.get(id(seen))  # rows of one instant share one datetime (see _instants)
            if stamp is None:
                stamp = stamps[id(seen)] = instant_json(seen)
            path, line, offset = reference = references[index]
            if line is not None and offset is not None:
                path_json = paths.get(path)
                if path_json is None:
                    path_json = paths[path] = dumps(path)
                evidence = b'[{"path":%b,"line":%d,"offset":%d}]' % (path_json, line, offset)
            else:
                evidence = dumps(evidence_records((reference,)))
            method, status = methods[index], statuses[index]
            line_parts = [
                b'{"detector":',
                name,
                b',"key":',
                dumps(keys[index]),
                head,
                dumps(title),
                b',"explanation":',
                dumps(explanation),
                b',"subject":{"kind":"source.ip","value":',
                ip_json.get(ip) or ip_json.setdefault(ip, dumps(ip)),
                b'},"first_seen":',
                stamp,
                b',"last_seen":',
                stamp,
                b',"evidence":',
                evidence,
                b',"details":',
                shared,
                method_json.get(method) or method_json.setdefault(method, dumps(method)),
                b',"status_code":',
                status_json.get(status) or status_json.setdefault(status, dumps(status)),
                b',"url_excerpt":',
                url_json.get(url_shown) or url_json.setdefault(url_shown, dumps(url_shown)),
            ]
            if agent_shown is not None:
                line_parts += [
                    b',"user_agent_excerpt":',
                    agent_json.get(agent_shown) or agent_json.setdefault(agent_shown, dumps(agent_shown)),
                ]
            line_parts += [tail, dumps(alert_id), b',"detector_version":', version_json, b"}\n"]
            # joined line by line: a batch's pieces held until one join measured twice as slow
            # (hundreds of thousands of small objects alive at once, outside the CPU caches)
            append(b"".join(line_parts))
        return b"".join(out)
