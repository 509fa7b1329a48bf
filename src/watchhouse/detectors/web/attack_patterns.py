"""``web.attack_patterns``: signature detection of web attacks in HTTP access logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.explain import attacked_names, describe, excerpt, redact_url
from watchhouse.detectors.web.matching import Hit, Matcher, Part, request_parts
from watchhouse.detectors.web.policy import (
    COLUMN_SYMPTOMS,
    DEFAULT_ALLOWED_CONTENT_TYPES,
    DEFAULT_ALLOWED_METHODS,
    RequestPolicy,
)
from watchhouse.detectors.web.rules import (
    CLASS_TITLE,
    PARANOIA_LEVELS,
    AttackClass,
    PolicyRule,
    Rule,
    RuleSet,
    default_rules,
)
from watchhouse.detectors.web.token_checks import TokenChecks

#: paranoia level and anomaly threshold used when the operator sets none (see ``__init__``)
DEFAULT_PARANOIA = 2
DEFAULT_THRESHOLD = 2

_COLUMNS = (
    TIMESTAMP_FIELD,
    PATH_FIELD,
    LINE_FIELD,
    OFFSET_FIELD,
    "source.ip",
    "http.request.method",
    "http.version",  # the request policy exempts HTTP/1.0 from rules about HTTP/1.1 headers
    prefilter.URL,
    "http.response.status_code",
    prefilter.REFERRER,
    prefilter.AGENT,
    prefilter.HEADERS,
    prefilter.BODY,
)
# where _finding reads a candidate row's values
_AT = {name: i for i, name in enumerate(_COLUMNS)}
_AT_TIMESTAMP, _AT_PATH, _AT_LINE, _AT_OFFSET = (
    _AT[c] for c in (TIMESTAMP_FIELD, PATH_FIELD, LINE_FIELD, OFFSET_FIELD)
)
_AT_IP, _AT_METHOD, _AT_STATUS = (_AT[c] for c in ("source.ip", "http.request.method", "http.response.status_code"))
_AT_URL, _AT_AGENT = _AT[prefilter.URL], _AT[prefilter.AGENT]
# request_parts() argument order
_PART_COLUMNS = (prefilter.URL, prefilter.BODY, prefilter.REFERRER, prefilter.AGENT, prefilter.HEADERS)
# per-column prefilter verdicts travel with each candidate row under these names
_FLAG_NAMES = {column: f"_flag:{column}" for column in prefilter.COLUMN_PATTERNS}
#: a row as the matcher sees it: the values of ``_PART_COLUMNS``, None where not flagged
_RowKey = tuple[str | None, ...]
#: distinct rows whose hits are remembered, and the most characters (the row's values plus the
#: decoded texts its hits keep) one entry may hold: at most about 40 MiB of text in all
ROW_CACHE_MAX_ENTRIES = 10_000
ROW_CACHE_MAX_CHARS = 4_096


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A row's hits combined: the leading rule, severity, anomaly score and their explanation."""

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
    title_class: str
    tags: tuple[str, ...]
    explained: str  # the explanation's tail after the request line


class WebAttackDetector(Detector):
    """Flags requests carrying SQL injection, XSS, path traversal or command injection payloads,
    and requests from vulnerability scanners.

    Why: these are the first steps of most intrusions into a web platform (Budapest Convention
    Art. 2 illegal access; Art. 4 for XSS, which plants script in other users' pages). One finding
    per attacked request, stage *attempted*: an access log cannot show whether the payload worked.

    How: a vectorised Polars prefilter (:mod:`.prefilter`) drops the vast majority of ordinary rows;
    survivors are split into parts (path, each parameter, body fields, headers, agent, referrer),
    decoded (:mod:`.decoding`) and matched against data-driven rules (:mod:`.rules`). Stateless,
    so batch boundaries and restarts never change results.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="web.attack_patterns",
        version="2",
        family=DetectorFamily.WEB,
        datasets=frozenset({Dataset.HTTP}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="SQL injection, XSS, path traversal, command injection and scanner requests in HTTP logs",
    )

    def __init__(
        self,
        *,
        rules: RuleSet | None = None,
        min_confidence: float = 0.5,
        min_severity: Severity = Severity.LOW,
        report_scanners: bool = True,
        use_prefilter: bool = True,
        excerpt_chars: int = 200,
        paranoia_level: int = DEFAULT_PARANOIA,
        anomaly_threshold: int = DEFAULT_THRESHOLD,
        request_policy: bool = True,
        allowed_methods: frozenset[str] = DEFAULT_ALLOWED_METHODS,
        allowed_content_types: frozenset[str] = DEFAULT_ALLOWED_CONTENT_TYPES,
    ) -> None:
        """
        :param rules: the rule pack; the built-in one by default.
        :param min_confidence: rule hits below this confidence are ignored.
        :param min_severity: findings below this severity are dropped (after combining hits).
        :param report_scanners: whether scanner-only requests (tool user agent or probe path,
            no payload) become findings at all; they are always LOW.
        :param use_prefilter: turn the vectorised prefilter off only to prove it loses nothing.
        :param excerpt_chars: length of decoded value excerpts in explanations.
        :param paranoia_level: 1-4 as in CRS; rules above this level do not run.
        :param anomaly_threshold: a request becomes a finding only when the anomaly points of the
            distinct rules it matched (critical 5, error 4, warning 3, notice 2) reach this; the
            default 2 reports every rule hit, 5 behaves like CRS's default inbound threshold.
        :param request_policy: run the request-policy checks (:mod:`.policy`: methods, content
            types, smuggling signs, session fixation); off leaves only payload signatures.
        :param allowed_methods: methods the platform serves (policy WH-POL-002).
        :param allowed_content_types: request media types it accepts (policy WH-POL-004).
        """
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must lie in [0, 1]")
        if paranoia_level not in PARANOIA_LEVELS:
            raise ValueError("paranoia_level must be one of 1-4")
        if anomaly_threshold < 1:
            raise ValueError("anomaly_threshold must be at least 1")
        self.paranoia_level = paranoia_level
        self.anomaly_threshold = anomaly_threshold
        self.rules = (rules if rules is not None else default_rules()).at_paranoia(paranoia_level)
        self.min_confidence = min_confidence
        self.min_severity = min_severity
        self.report_scanners = report_scanners
        self.use_prefilter = use_prefilter
        self.excerpt_chars = excerpt_chars
        self._policy = (
            RequestPolicy(paranoia_level, allowed_methods=allowed_methods, allowed_content_types=allowed_content_types)
            if request_policy
            else None
        )
        # the request policy's column symptoms ride along in the prefilter's scans of the same columns
        self._also = COLUMN_SYMPTOMS if self._policy is not None else ()
        if use_prefilter:
            prefilter.prepare(paranoia=paranoia_level, also=self._also)
        self._matcher = Matcher(
            self.rules,
            prefilter.part_symptoms(paranoia_level) if use_prefilter else None,
            checks=TokenChecks(paranoia_level),
        )
        self._row_cache: dict[_RowKey, tuple[Hit, ...]] = {}
        self._verdicts: dict[_RowKey, _Verdict | None] = {}

    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        frame = batch.to_polars()
        policy_rows: pl.Series | None = None
        if self.use_prefilter:
            flags = prefilter.column_flags(frame, paranoia=self.paranoia_level, also=self._also)
            if self._policy is not None:
                policy_rows = self._policy.mask(frame, flags)
            wanted = flags[prefilter.ANY] if policy_rows is None else flags[prefilter.ANY] | policy_rows
            rows = wanted.arg_true()
            if rows.len() == 0:
                return []
            flag_frame = flags.select(list(_FLAG_NAMES)).rename(_FLAG_NAMES)
            candidates = pl.concat([frame.select(_COLUMNS), flag_frame], how="horizontal")[rows.to_list()]
            policy_of = policy_rows[rows.to_list()].to_list() if policy_rows is not None else []
        else:
            candidates = frame.select(_COLUMNS).with_columns(pl.lit(True).alias(f) for f in _FLAG_NAMES.values())
            policy_of = [True] * frame.height if self._policy is not None else []
        names = candidates.columns
        # only the inspected values cross into Python for every candidate; whole rows (timestamps
        # and all) only for the few that a finding or a policy check needs
        keys: list[_RowKey] = candidates.select(
            pl.when(pl.col(_FLAG_NAMES[column])).then(pl.col(column)).otherwise(None) for column in _PART_COLUMNS
        ).rows()
        by_row: dict[int, list[Hit]] = {}
        for index, row_hits in enumerate(self._row_hits(keys)):
            if row_hits:
                by_row[index] = list(row_hits)
        policy_at = [index for index, wanted_row in enumerate(policy_of) if wanted_row]
        needed = sorted(set(by_row).union(policy_at))
        tuples = dict(zip(needed, candidates[needed].rows() if needed else [], strict=True))
        with_policy_hits: set[int] = set()
        if self._policy is not None:
            for index in policy_at:
                found = self._policy.hits(dict(zip(names, tuples[index], strict=True)))
                if found:
                    by_row.setdefault(index, []).extend(found)
                    with_policy_hits.add(index)
        findings: list[Finding] = []
        for index in sorted(by_row):
            hits = by_row[index]
            if not self.report_scanners and all(h.rule.attack_class is AttackClass.SCANNER for h in hits):
                continue
            verdict = self._verdict(hits, None if index in with_policy_hits else keys[index])
            if verdict is not None:
                findings.append(self._finding(tuples[index], verdict))
        return findings

    def _row_hits(self, keys: list[_RowKey]) -> list[tuple[Hit, ...]]:
        """The signature and tokenizer hits of each row, from the values its flagged columns hold.

        Why per row as well as per value: ordinary traffic repeats whole requests (the same page,
        referrer and browser), and splitting a request into parts and looking each part up costs
        more than the one lookup of the row's values. What a row matches depends on those values
        alone (a :class:`Hit` names no row), so remembering it cannot change a result; the
        memory is bounded in entries and in the length of the rows it keeps.
        """
        found: list[tuple[Hit, ...] | None] = [self._row_cache.get(key) for key in keys]
        pending: dict[_RowKey, int] = {}
        for i, result in enumerate(found):
            if result is None:
                pending.setdefault(keys[i], len(pending))
        if pending:
            parts: list[Part] = []
            owner: list[int] = []
            for key, slot in pending.items():
                row_parts = request_parts(*key)
                parts.extend(row_parts)
                owner.extend([slot] * len(row_parts))
            fresh: list[list[Hit]] = [[] for _ in pending]
            for part_index, hit in self._matcher.match(parts):
                if hit.rule.confidence >= self.min_confidence:
                    fresh[owner[part_index]].append(hit)
            results = {key: tuple(fresh[slot]) for key, slot in pending.items()}
            for key, result in results.items():
                size = sum(len(v) for v in key if v) + sum(len(hit.decoded.text) for hit in result)
                if size <= ROW_CACHE_MAX_CHARS:
                    if len(self._row_cache) >= ROW_CACHE_MAX_ENTRIES:
                        del self._row_cache[next(iter(self._row_cache))]  # oldest first
                    self._row_cache[key] = result
            found = [results[keys[i]] if result is None else result for i, result in enumerate(found)]
        return [result or () for result in found]

    def _verdict(self, hits: list[Hit], key: _RowKey | None) -> _Verdict | None:
        """What a row's hits add up to, remembered per row key (None: not remembered).

        Why: explaining hits (decoded excerpts, decoding steps, rule titles) is most of the cost
        of a finding, and it depends on the hits alone, which depend on the row key alone; a
        campaign repeating one payload is explained once.
        """
        if key is not None and key in self._verdicts:
            return self._verdicts[key]
        verdict = self._judge(hits)
        if key is not None and sum(len(v) for v in key if v) <= ROW_CACHE_MAX_CHARS:
            if len(self._verdicts) >= ROW_CACHE_MAX_ENTRIES:
                del self._verdicts[next(iter(self._verdicts))]  # oldest first
            self._verdicts[key] = verdict
        return verdict

    def _judge(self, hits: list[Hit]) -> _Verdict | None:
        # the most severe (then most confident, then first) rule decides class and crime
        lead = hits[0].rule
        best = (lead.severity, lead.confidence)
        severity, confidence = best
        for hit in hits[1:]:  # one pass: the first rule with the highest (severity, confidence) leads
            rule = hit.rule
            key = (rule.severity, rule.confidence)
            if key > best:
                best, lead = key, rule
            severity = max(severity, rule.severity)
            confidence = max(confidence, rule.confidence)
        if severity < self.min_severity:
            return None
        fired = {h.rule.id: h.rule for h in hits}
        score = sum(rule.anomaly for rule in fired.values())
        if score < self.anomaly_threshold:
            return None
        where, records = describe(hits, self.excerpt_chars)
        classes = tuple(dict.fromkeys(h.rule.attack_class.value for h in hits))
        return _Verdict(
            lead=lead,
            severity=severity,
            confidence=confidence,
            score=score,
            where=where,
            records=tuple(records),
            rule_ids=tuple(dict.fromkeys(h.rule.id for h in hits)),
            classes=classes,
            attacked=frozenset(attacked_names(hits)),
            title_class=CLASS_TITLE[lead.attack_class],
            tags=tuple(f"attack:{c}" for c in classes),
            explained=(
                f": {where}. Anomaly score {score} (threshold {self.anomaly_threshold}, paranoia level "
                f"{self.paranoia_level})."
            ),
        )

    def _finding(self, row: tuple[Any, ...], verdict: _Verdict) -> Finding:
        """The finding for one row (values in ``_COLUMNS`` order, then flags) judged ``verdict``."""
        # every finding gets its own containers: a remembered verdict is shared between rows
        records = [{**record, "decoding_steps": list(record["decoding_steps"])} for record in verdict.records]
        ip = row[_AT_IP] or "unknown"
        ref = EventRef(row[_AT_PATH], row[_AT_LINE], row[_AT_OFFSET])
        seen: datetime = row[_AT_TIMESTAMP]
        method, status = row[_AT_METHOD], row[_AT_STATUS]
        url_shown = redact_url(row[_AT_URL] or "", verdict.attacked, self.excerpt_chars)
        status_text = f", answered {status}" if status is not None else ""
        first = records[0]
        details: dict[str, Any] = {
            "rules": list(verdict.rule_ids),
            "anomaly_score": verdict.score,
            "anomaly_threshold": self.anomaly_threshold,
            "paranoia_level": self.paranoia_level,
            "classes": list(verdict.classes),
            "parameter": first["parameter"],
            "target": first["target"],
            "decoded_excerpt": first["decoded_excerpt"],
            "decoding_steps": first["decoding_steps"],
            "hits": records,
            "method": method,
            "status_code": status,
            "url_excerpt": url_shown,
        }
        agent = row[_AT_AGENT]
        if agent:
            details["user_agent_excerpt"] = excerpt(agent, 0, 0, self.excerpt_chars)
        return Finding(
            detector=self.info.name,
            key=f"{ref.path}:{ref.line}:{ref.offset}",
            crime_code=verdict.lead.crime_code,
            stage=Stage.ATTEMPTED,
            severity=verdict.severity,
            confidence=verdict.confidence,
            title=f"{verdict.title_class} from {ip}",
            explanation=f"{method or 'request'} {url_shown} from {ip}{status_text}{verdict.explained}",
            subject=Subject("source.ip", ip),
            first_seen=seen,
            last_seen=seen,
            evidence=(ref,),
            details=details,
            tags=verdict.tags,
        )
