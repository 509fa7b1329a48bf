"""From findings to alerts: deterministic ids, de-duplication, suppression, severity threshold.

Post-processing is kept apart from detection so every runner (embedded, Spark) applies exactly
the same policy, and counts what it held back so a summary can say so: nothing vanishes silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import Finding, Severity
from watchhouse.detect.suppression import Suppression


@dataclass
class PostProcessStats:
    findings: int = 0
    duplicates: int = 0
    below_threshold: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)  # by suppression reason

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


class PostProcessor:
    """Turns findings into alerts, remembering ids seen so a run never reports one twice."""

    def __init__(
        self,
        versions: Mapping[str, str],
        *,
        suppressions: Sequence[Suppression] = (),
        min_severity: Severity = Severity.INFO,
    ) -> None:
        self._versions = dict(versions)
        self._suppressions = list(suppressions)
        self._min_severity = min_severity
        self._seen: set[str] = set()
        self.stats = PostProcessStats()

    def process(self, findings: Iterable[Finding]) -> list[Alert]:
        alerts = []
        for finding in findings:
            self.stats.findings += 1
            alert = Alert.from_finding(finding, self._versions.get(finding.detector, "?"))
            if alert.id in self._seen:
                self.stats.duplicates += 1
                continue
            self._seen.add(alert.id)
            if alert.severity < self._min_severity:
                self.stats.below_threshold += 1
                continue
            rule = next((s for s in self._suppressions if s.matches(alert)), None)
            if rule is not None:
                self.stats.suppressed[rule.reason] += 1
                continue
            alerts.append(alert)
        return alerts
