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
        """The alerts among ``findings`` not seen before, not below the threshold, not suppressed.

        Every finding of a scan passes through here, so the loop keeps to what each one needs:
        the suppression rules are only consulted when there are any.
        """
        alerts: list[Alert] = []
        stats = self.stats
        versions = self._versions
        seen = self._seen
        suppressions = self._suppressions
        min_severity = self._min_severity
        from_finding = Alert.from_finding
        for finding in findings:
            stats.findings += 1
            alert = from_finding(finding, versions.get(finding.detector, "?"))
            if alert.id in seen:
                stats.duplicates += 1
                continue
            seen.add(alert.id)
            if alert.severity < min_severity:
                stats.below_threshold += 1
                continue
            if suppressions:
                rule = next((s for s in suppressions if s.matches(alert)), None)
                if rule is not None:
                    stats.suppressed[rule.reason] += 1
                    continue
            alerts.append(alert)
        return alerts
