"""``sigma.rules``: every Sigma rule of a pack, evaluated natively over each batch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
from watchhouse.core.errors import ConfigError
from watchhouse.core.events import TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.sigma.crime import attack_tags, crime_code, severity
from watchhouse.sigma.engine import SigmaEngine
from watchhouse.sigma.loader import load_rules
from watchhouse.sigma.pack import PACK_DIR

# which column names the subject of an alert, per dataset
_SUBJECT = {Dataset.WINLOG: "host.name", Dataset.HTTP: "source.ip"}


class SigmaRulesDetector(Detector):
    """Raises one finding per (Sigma rule, matching event).

    Why: Sigma is the shared language of detection engineering; running community and in-house
    packs natively means analysts' rules work on platform and host logs without conversion to a
    SIEM. How: the whole pack is compiled once (:mod:`watchhouse.sigma.engine`) and evaluated in a
    single vectorised pass per batch. Stateless (correlation rules are not evaluated here yet), so
    batch boundaries and restarts never change results. Each finding carries the rule id, title,
    level (as severity), ATT&CK tags and a crime code mapped from them.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="sigma.rules",
        version="1",
        family=DetectorFamily.SIGMA,
        datasets=frozenset({Dataset.WINLOG, Dataset.HTTP}),
        default_severity=Severity.MEDIUM,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Sigma rule packs (SigmaHQ or in-house) over Windows event logs and HTTP logs",
        opt_in=True,
    )

    def __init__(self, paths: Sequence[str | Path] | None = None, *, strict: bool = False) -> None:
        """
        :param paths: rule files or folders; Watchhouse's own pack by default.
        :param strict: refuse a pack with any rule that fails to load, instead of skipping it.
        """
        loaded = load_rules(list(paths) if paths else [PACK_DIR])
        if strict and loaded.problems:
            raise ConfigError("; ".join(str(p) for p in loaded.problems[:5]))
        self.problems = loaded.problems
        self.engine = SigmaEngine(loaded.rules)

    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        matches = self.engine.match(batch)
        if not matches:
            return []
        subject_field = _SUBJECT.get(batch.dataset, "host.name")
        subjects = batch.table.column(subject_field).to_pylist()
        stamps = batch.table.column(TIMESTAMP_FIELD).to_pylist()
        findings: list[Finding] = []
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
