"""``sigma.rules``: every Sigma rule of a pack, evaluated natively over each batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import ConfigError, DetectorError
from watchhouse.core.events import TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.sigma.correlation import CorrelationHit, CorrelationSpec, Correlator, UnsupportedCorrelation, resolve
from watchhouse.sigma.crime import attack_tags, crime_code, severity
from watchhouse.sigma.engine import SigmaEngine, Status
from watchhouse.sigma.loader import load_rules
from watchhouse.sigma.pack import PACK_DIR

# which column names the subject of an alert, per dataset
_SUBJECT = {Dataset.WINLOG: "host.name", Dataset.HTTP: "source.ip", Dataset.HOST: "host.name"}
#: contributing events listed as evidence of one correlation alert (the details carry the total)
EVIDENCE_CAP = 20
_STATE_VERSION = 1


class SigmaRulesDetector(Detector):
    """Raises one finding per (Sigma rule, matching event).

    Why: Sigma is the shared language of detection engineering; running community and in-house
    packs natively means analysts' rules work on platform and host logs without conversion to a
    SIEM. How: the whole pack is compiled once (:mod:`watchhouse.sigma.engine`) and evaluated in a
    single vectorised pass per batch. Base rules are stateless; Sigma correlation rules in the
    pack (event_count, value_count, temporal, temporal_ordered) run over event time on the rows
    the base rules matched (:mod:`watchhouse.sigma.correlation`), and their state goes through
    :meth:`checkpoint`/:meth:`restore`, so batch boundaries and restarts never change results.
    Each finding carries the rule id, title, level (as severity), ATT&CK tags and a crime code
    mapped from them; a correlation alert also names its base rules, group values, count and the
    contributing events. Base rules that only feed correlations with ``generate: false`` raise
    no alert of their own, as the Sigma specification says.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="sigma.rules",
        version="1",
        family=DetectorFamily.SIGMA,
        datasets=frozenset({Dataset.WINLOG, Dataset.HTTP, Dataset.HOST}),
        default_severity=Severity.MEDIUM,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Sigma rule packs (SigmaHQ or in-house) over Windows event logs and HTTP logs",
        opt_in=True,
    )

    def __init__(
        self, paths: Sequence[str | Path] | None = None, *, strict: bool = False, lateness_s: float = 300.0
    ) -> None:
        """
        :param paths: rule files or folders; Watchhouse's own pack by default.
        :param strict: refuse a pack with any rule that fails to load, instead of skipping it.
        :param lateness_s: how far (seconds) a record may lag its file's newest one and still
            count towards a correlation.
        """
        loaded = load_rules(list(paths) if paths else [PACK_DIR])
        if strict and loaded.problems:
            raise ConfigError("; ".join(str(p) for p in loaded.problems[:5]))
        self.problems = loaded.problems
        self.engine = SigmaEngine(loaded.rules)
        specs: list[CorrelationSpec] = []
        #: correlation id -> why it cannot run
        self.correlation_problems: dict[str, str] = {}
        for number, correlation in enumerate(loaded.correlations):
            try:
                specs.append(resolve(correlation, self.engine.rules, self._unusable))
            except UnsupportedCorrelation as exc:
                self.correlation_problems[str(correlation.id or f"correlation#{number}")] = str(exc)
        self.correlator = Correlator(specs, lateness_s=lateness_s)
        generating = {i for spec in specs if spec.generate for i in spec.rules}
        self._silent = self.correlator.rule_indices - generating

    def _unusable(self, index: int) -> str | None:
        verdict = self.engine.verdicts[index]
        if verdict.status is Status.ROUTED:
            return None
        return f"{verdict.status}: {verdict.reason}" if verdict.reason else str(verdict.status)

    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        matches = self.engine.match(batch)
        hits = self.correlator.observe(batch, matches) if self.correlator.specs else []
        findings = [self._correlation_finding(hit) for hit in hits]
        matches = {i: rows for i, rows in matches.items() if i not in self._silent}
        if not matches:
            return findings
        subject_field = _SUBJECT.get(batch.dataset, "host.name")
        subjects = batch.table.column(subject_field).to_pylist()
        stamps = batch.table.column(TIMESTAMP_FIELD).to_pylist()
        for index in sorted(matches):
            rule = self.engine.rules[index]
            verdict = self.engine.verdicts[index]
            tags = attack_tags(rule)
            for row in matches[index]:
                ref = batch.ref(row)
                seen = stamps[row]
                who = subjects[row] or "unknown"
                details: dict[str, Any] = {
                    "rule_id": verdict.rule_id,
                    "rule_title": rule.title,
                    "rule_level": str(rule.level) if rule.level else None,
                    "rule_path": verdict.path,
                    "logsource": verdict.logsource,
                    "attack": list(tags),
                }
                findings.append(
                    Finding(
                        detector=self.info.name,
                        key=f"{verdict.rule_id}:{ref.path}:{ref.line}:{ref.offset}",
                        crime_code=crime_code(rule),
                        stage=Stage.ATTEMPTED,
                        severity=severity(rule.level),
                        confidence=0.7,
                        title=f"Sigma: {rule.title}",
                        explanation=f"Sigma rule {verdict.rule_id} ({rule.title}) matched an event of {who}.",
                        subject=Subject(subject_field, str(who)),
                        first_seen=seen,
                        last_seen=seen,
                        evidence=(ref,),
                        details=details,
                        tags=(f"sigma:{verdict.rule_id}", *tags),
                    )
                )
        return findings

    def finalize(self) -> list[Finding]:
        return [self._correlation_finding(hit) for hit in self.correlator.finish()]

    def checkpoint(self) -> JSONState:
        if not self.correlator.specs:
            return {}
        return {"version": _STATE_VERSION, "correlations": self.correlator.checkpoint()}

    def restore(self, state: JSONState) -> None:
        if not state:
            return
        if state.get("version") != _STATE_VERSION:
            raise DetectorError(f"{self.info.name}: checkpoint version {state.get('version')!r} is not supported")
        self.correlator.restore(state["correlations"])

    def _correlation_finding(self, hit: CorrelationHit) -> Finding:
        """One alert per window where a correlation held, with its contributing events as evidence."""
        spec = hit.spec
        refs = list(dict.fromkeys(EventRef(m[4], m[5], m[6]) for m in hit.matches))
        groups = dict(zip(spec.group_by, hit.key, strict=True))
        base = [self.engine.verdicts[i] for i in spec.rules]
        found = sorted({base[m[2]].rule_id for m in hit.matches})
        subject = Subject(spec.group_by[0], str(hit.key[0])) if spec.group_by and hit.key[0] is not None else None
        if subject is None:
            subject = Subject("sigma.correlation", spec.rule_id)
        first = refs[0]
        described = ", ".join(f"{k}={v}" for k, v in groups.items()) or "all events"
        return Finding(
            detector=self.info.name,
            key=f"{spec.rule_id}:{first.path}:{first.line}:{first.offset}",
            crime_code=CrimeCode.ILLEGAL_ACCESS,
            stage=Stage.ATTEMPTED,
            severity=severity(spec.level),  # type: ignore[arg-type]
            confidence=0.8,
            title=f"Sigma correlation: {spec.title}",
            explanation=(
                f"Sigma correlation {spec.rule_id} ({spec.kind}) held for {described}: "
                f"{hit.value:g} within {spec.timespan_us // 1_000_000}s over {len(refs)} events."
            ),
            subject=subject,
            first_seen=_stamp(hit.first_us),
            last_seen=_stamp(hit.last_us),
            evidence=tuple(refs[:EVIDENCE_CAP]),
            details={
                "rule_id": spec.rule_id,
                "rule_title": spec.title,
                "rule_level": spec.level,
                "rule_path": spec.path,
                "correlation_type": str(spec.kind),
                "base_rules": [v.rule_id for v in base],
                "matched_rules": found,
                "group": groups,
                "value": hit.value,
                "events": len(refs),
                "evidence_shown": min(len(refs), EVIDENCE_CAP),
                "attack": [t for t in spec.tags if t.startswith("attack.")],
            },
            tags=(f"sigma:{spec.rule_id}", "sigma:correlation"),
        )


def _stamp(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
