"""``web.attack_patterns``: signature detection of web attacks in HTTP access logs."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.defaults import DEFAULT_PARANOIA, DEFAULT_THRESHOLD
from watchhouse.detectors.web.explain import attacked_names, describe, redact_url
from watchhouse.detectors.web.findings import Verdict, WebFindingRows, line_parts, verdict_details
from watchhouse.detectors.web.matching import Hit, Matcher, Part, request_parts
from watchhouse.detectors.web.memory import remember
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

_COLUMNS = (
    TIMESTAMP_FIELD,
    PATH_FIELD,
    LINE_FIELD,
    OFFSET_FIELD,
    "source.ip",
    "http.request.method",
    "http.version",  # the request policy checks it (WH-POL-028: a version outside 0.9-3)
    prefilter.URL,
    "http.response.status_code",
    prefilter.REFERRER,
    prefilter.AGENT,
    prefilter.HEADERS,
    prefilter.BODY,
)
# what _findings reads of each judged row, in the order it unpacks them
_FINDING_COLUMNS = (
    TIMESTAMP_FIELD,
    PATH_FIELD,
    LINE_FIELD,
    OFFSET_FIELD,
    "source.ip",
    "http.request.method",
    prefilter.URL,
    "http.response.status_code",
    prefilter.AGENT,
)
# request_parts() argument order
_PART_COLUMNS = (prefilter.URL, prefilter.BODY, prefilter.REFERRER, prefilter.AGENT, prefilter.HEADERS)
#: what :meth:`RequestPolicy.hits` reads of a row (tested): its result depends on these values alone
_POLICY_COLUMNS = (
    "http.request.method",
    prefilter.URL,
    prefilter.BODY,
    prefilter.REFERRER,
    prefilter.HEADERS,
    "http.version",
)
# per-column prefilter verdicts travel with each candidate row under these names
_FLAG_NAMES = {column: f"_flag:{column}" for column in prefilter.COLUMN_PATTERNS}
#: a row as the matcher sees it: the values of ``_PART_COLUMNS``, None where not flagged
_RowKey = tuple[str | None, ...]
#: what a row key not judged before finds among the remembered verdicts (None is a verdict: no finding)
_UNJUDGED: Any = object()
#: distinct rows whose hits are remembered, and the most characters (the row's values plus the
#: decoded texts its hits keep) one entry may hold: at most about 40 MiB of text in all; the
#: policy hits and the verdicts are remembered under the same two bounds
ROW_CACHE_MAX_ENTRIES = 10_000
ROW_CACHE_MAX_CHARS = 4_096
#: the plain string of each attack class, looked up (an enum's ``value`` is a property, and a
#: verdict reads it for every hit)
_CLASS_VALUE: dict[AttackClass, str] = {member: member.value for member in AttackClass}
#: the tags of each combination of attack classes a verdict names, made once per combination
_TAGS: dict[tuple[str, ...], tuple[str, ...]] = {}


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
        min_severity: Severity | str = Severity.LOW,
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
        # a configuration file spells it ("high"): read it here, not when the first request is judged
        self.min_severity = Severity.parse(min_severity) if isinstance(min_severity, str) else Severity(min_severity)
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
        # bounded memories, oldest entry out first (:mod:`.memory`)
        self._row_cache: OrderedDict[_RowKey, tuple[Hit, ...]] = OrderedDict()
        self._policy_cache: OrderedDict[_RowKey, tuple[Hit, ...]] = OrderedDict()
        self._verdicts: OrderedDict[_RowKey, Verdict | None] = OrderedDict()
        self._last: tuple[weakref.ref[EventBatch], Sequence[Finding]] | None = None

    def detect(self, batch: EventBatch) -> list[Finding]:
        """The findings of ``batch`` (:meth:`detect_rows`'s, as objects), each call a list of its own."""
        return list(self._remembered(batch))

    def detect_rows(self, batch: EventBatch) -> Sequence[Finding]:
        """The findings of ``batch``, held as rows (:class:`.findings.WebFindingRows`); asked again
        about the very same batch, the same findings.

        Why remembered: ``web.campaigns`` groups this detector's findings, and when a scan runs
        both with the same settings, the registry hands it this very detector (see
        :data:`watchhouse.detectors.web.campaigns.WebCampaignDetector.composes`), which then asks
        about each batch once more. Only the last batch is remembered, by a weak reference (a
        batch no one holds cannot be asked about again). What is remembered cannot be changed by a
        caller: rows have no setters, and no findings at all is an empty tuple. A subclass that
        overrides :meth:`detect` is asked through it, so that the override is what the engine runs.
        """
        if type(self).detect is not WebAttackDetector.detect:
            return self.detect(batch)
        return self._remembered(batch)

    def _remembered(self, batch: EventBatch) -> Sequence[Finding]:
        last = self._last
        if last is not None and last[0]() is batch:
            return last[1]
        found = self._detect(batch)
        kept: Sequence[Finding] = found if isinstance(found, WebFindingRows) else tuple(found)
        self._last = (weakref.ref(batch), kept)
        return kept

    def _detect(self, batch: EventBatch) -> list[Finding] | WebFindingRows:
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
        # only the inspected values cross into Python for every candidate; whole rows (timestamps
        # and all) only for the few that a finding or a policy check needs
        keys: list[_RowKey] = candidates.select(
            pl.when(pl.col(_FLAG_NAMES[column])).then(pl.col(column)).otherwise(None) for column in _PART_COLUMNS
        ).rows()
        by_row: dict[int, tuple[Hit, ...]] = {}
        for index, row_hits in enumerate(self._row_hits(keys)):
            if row_hits:
                by_row[index] = row_hits
        policy_at = [index for index, wanted_row in enumerate(policy_of) if wanted_row]
        # a row the policy finds something in is judged (and remembered) by both keys
        policy_keys: dict[int, _RowKey] = {}
        if self._policy is not None and policy_at:
            values: list[_RowKey] = candidates.select(_POLICY_COLUMNS)[policy_at].rows()
            for index, value, found in zip(policy_at, values, self._policy_hits(self._policy, values), strict=True):
                if found:
                    by_row[index] = by_row.get(index, ()) + found
                    policy_keys[index] = value
        judged: list[int] = []
        verdicts: list[Verdict] = []
        remembered = self._verdicts
        for index in sorted(by_row):
            hits = by_row[index]
            if not self.report_scanners and all(h.rule.attack_class is AttackClass.SCANNER for h in hits):
                continue
            policy_key = policy_keys.get(index)
            key = keys[index] if policy_key is None else keys[index] + policy_key
            verdict = remembered.get(key, _UNJUDGED)
            if verdict is _UNJUDGED:
                verdict = self._verdict(hits, key)
            if verdict is not None:
                judged.append(index)
                verdicts.append(verdict)
        if not judged:
            return []
        return self._findings(candidates.select(_FINDING_COLUMNS)[judged], verdicts)

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
                    remember(self._row_cache, key, result, ROW_CACHE_MAX_ENTRIES)
            found = [results[keys[i]] if result is None else result for i, result in enumerate(found)]
        return [result or () for result in found]

    def _policy_hits(self, policy: RequestPolicy, values: list[_RowKey]) -> list[tuple[Hit, ...]]:
        """The request-policy hits of each row, from its ``_POLICY_COLUMNS`` values.

        Why remembered: like :meth:`_row_hits`, a request that repeats (a client polling a page,
        a campaign replaying one request) breaks the same policies, and the header checks cost
        tens of microseconds a row; the result depends on these values alone. Bounded alike.
        """
        cache = self._policy_cache
        out: list[tuple[Hit, ...]] = []
        for value in values:
            found = cache.get(value)
            if found is None:
                row = dict(zip(_POLICY_COLUMNS, value, strict=True))
                # the same floor as the signatures' hits (_row_hits): min_confidence holds for every check
                found = tuple(h for h in policy.hits(row) if h.rule.confidence >= self.min_confidence)
                if sum(len(v) for v in value if v) <= ROW_CACHE_MAX_CHARS:
                    remember(cache, value, found, ROW_CACHE_MAX_ENTRIES)
            out.append(found)
        return out

    def _verdict(self, hits: tuple[Hit, ...], key: _RowKey) -> Verdict | None:
        """What a row's hits add up to, remembered per row key (``detect`` looks there first); the
        key of a row with policy hits also holds its ``_POLICY_COLUMNS`` values.

        Why: explaining hits (decoded excerpts, decoding steps, rule titles) is most of the cost
        of a finding, and it depends on the hits alone, which depend on the row key alone; a
        campaign repeating one payload is explained once.
        """
        verdict = self._judge(hits, key[0])
        if sum(len(v) for v in key if v) <= ROW_CACHE_MAX_CHARS:
            remember(self._verdicts, key, verdict, ROW_CACHE_MAX_ENTRIES)
        return verdict

    def _judge(self, hits: tuple[Hit, ...], url: str | None) -> Verdict | None:
        """What ``hits`` add up to; ``url``: the request's URL where every row judged alike has it."""
        # the most severe (then most confident, then first) rule decides class and crime
        lead = hits[0].rule
        best = (lead.severity, lead.confidence)
        severity, confidence = best
        fired: dict[str, Rule | PolicyRule] = {}
        for hit in hits:  # one pass: the first rule with the highest (severity, confidence) leads
            rule = hit.rule
            fired[rule.id] = rule
            if rule.severity > severity:
                severity = rule.severity
            if rule.confidence > confidence:
                confidence = rule.confidence
            if (rule.severity, rule.confidence) > best:
                best, lead = (rule.severity, rule.confidence), rule
        if severity < self.min_severity:
            return None
        if not 0.0 <= confidence <= 1.0:  # checked once here: _findings builds findings without the check
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}")
        score = 0
        for rule in fired.values():
            score += rule.anomaly
        if score < self.anomaly_threshold:
            return None
        where, records = describe(hits, self.excerpt_chars)
        classes = tuple(dict.fromkeys([_CLASS_VALUE[h.rule.attack_class] for h in hits]))
        tags = _TAGS.get(classes)
        if tags is None:  # one per combination of classes: a handful in practice, bounded anyway
            tags = tuple(f"attack:{c}" for c in classes)
            if len(_TAGS) < 1_024:
                _TAGS[classes] = tags
        attacked = frozenset(attacked_names(hits))
        records_kept, rule_ids = tuple(records), tuple(fired)
        shared = verdict_details(
            rule_ids, score, self.anomaly_threshold, self.paranoia_level, classes, records_kept, copied=False
        )
        title_class = CLASS_TITLE[lead.attack_class]
        explained = (
            f": {where}. Anomaly score {score} (threshold {self.anomaly_threshold}, paranoia level "
            f"{self.paranoia_level})."
        )
        url_shown = None if url is None else redact_url(url, attacked, self.excerpt_chars)
        return Verdict(
            lead=lead,
            severity=severity,
            confidence=confidence,
            score=score,
            where=where,
            records=records_kept,
            rule_ids=rule_ids,
            classes=classes,
            attacked=attacked,
            crime_code=lead.crime_code,
            title_class=title_class,
            tags=tags,
            explained=explained,
            url_shown=url_shown,
            line=line_parts(lead.crime_code, severity, confidence, shared, tags, (title_class, explained, url_shown)),
        )

    def _findings(self, rows: pl.DataFrame, verdicts: list[Verdict]) -> WebFindingRows:
        """The findings of the judged rows (``rows``: their ``_FINDING_COLUMNS``), held as rows (see
        :mod:`.findings`). The rows' values cross into Python a column at a time. A row without a
        timestamp cannot be a finding: its finding is made here, where the constructor refuses it,
        as it always did."""
        columns = [_instants(rows.get_column(TIMESTAMP_FIELD))]
        columns += [rows.get_column(column).to_list() for column in _FINDING_COLUMNS[1:]]
        found = WebFindingRows(
            self.info.name,
            verdicts,
            columns,
            excerpt_chars=self.excerpt_chars,
            anomaly_threshold=self.anomaly_threshold,
            paranoia_level=self.paranoia_level,
        )
        if None in columns[0]:
            found.findings  # noqa: B018 (made now: raises, naming the missing timestamp)
        return found


def _instants(stamps: pl.Series) -> list[Any]:
    """``stamps.to_list()``, each distinct instant made a ``datetime`` once.

    Why: turning a time-zone aware value into a ``datetime`` is the costliest conversion of a
    finding's row (about a microsecond), and log timestamps repeat: most logs keep whole seconds,
    and a flood or a campaign sends many requests a second. Rows of one instant share one
    (immutable) ``datetime``; nulls stay None.
    """
    distinct = stamps.unique()
    if distinct.len() == stamps.len():
        return stamps.to_list()
    as_datetime = dict(zip(distinct.to_physical().to_list(), distinct.to_list(), strict=True))
    return [as_datetime[code] for code in stamps.to_physical().to_list()]
