"""From findings to alerts: deterministic ids, de-duplication, suppression, severity threshold.

Post-processing is kept apart from detection so every runner (embedded, Spark) applies exactly
the same policy, and counts what it held back so a summary can say so: nothing vanishes silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from watchhouse.core.alerts import Alert, alert_ids
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


#: alert ids a post-processor remembers at most (see :class:`RecentIds`): ~25 MB of strings
REMEMBERED_IDS = 500_000


class RecentIds:
    """The alert ids seen lately: at least the last ``capacity // 2``, never more than ``capacity``.

    Why bounded: a live scan (``tail -F ... | watchhouse scan -``) runs for months, and a set of
    every id it ever reported grew by about a hundred bytes an alert until the process died.
    Detectors do not report a key twice by design, so this memory is a safety net against a
    repeat close in time (a detector's window overlapping itself, a file read twice in one run);
    the office database keeps every id and never stores one twice whatever this forgot.

    Two generations rather than an ordered dict evicting its oldest entry: deleting from the
    front of a dict leaves holes that every later "oldest" lookup walks over, quadratic at
    this size; swapping generations is constant time.
    """

    def __init__(self, capacity: int = REMEMBERED_IDS) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self._half = capacity // 2
        self._current: set[str] = set()
        self._previous: set[str] = set()

    def __contains__(self, id_: object) -> bool:
        return id_ in self._current or id_ in self._previous

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def add(self, id_: str) -> None:
        current = self._current
        current.add(id_)
        if len(current) >= self._half:
            self._previous, self._current = current, set()


class PostProcessor:
    """Turns findings into alerts, remembering recent ids so a run does not report one twice."""

    def __init__(
        self,
        versions: Mapping[str, str],
        *,
        suppressions: Sequence[Suppression] = (),
        min_severity: Severity = Severity.INFO,
        remember: int = REMEMBERED_IDS,
    ) -> None:
        self._versions = dict(versions)
        self._suppressions = list(suppressions)
        self._min_severity = min_severity
        self._seen = RecentIds(remember)
        self.stats = PostProcessStats()

    @property
    def remembered_ids(self) -> int:
        """Alert ids held for de-duplication now (bounded by ``remember``)."""
        return len(self._seen)

    def process(self, findings: Iterable[Finding]) -> list[Alert]:
        """The alerts among ``findings`` not seen before, not below the threshold, not suppressed.

        Every finding of a scan passes through here, so the work is done in bulk: ids for all
        findings in one pass, then an alert made only for a finding that is neither a duplicate
        nor below the threshold (neither needs more than the id and the severity); the
        suppression rules are only consulted when there are any.
        """
        findings = findings if isinstance(findings, list) else list(findings)
        stats = self.stats
        stats.findings += len(findings)
        seen = self._seen
        min_severity = self._min_severity
        wanted: list[Finding] = []
        wanted_ids: list[str] = []
        for finding, id_ in zip(findings, alert_ids(findings), strict=True):
            if id_ in seen:
                stats.duplicates += 1
                continue
            seen.add(id_)
            if finding.severity < min_severity:
                stats.below_threshold += 1
                continue
            wanted.append(finding)
            wanted_ids.append(id_)
        alerts = Alert.many(wanted, wanted_ids, self._versions)
        suppressions = self._suppressions
        if not suppressions:
            return alerts
        kept: list[Alert] = []
        for alert in alerts:
            rule = next((s for s in suppressions if s.matches(alert)), None)
            if rule is None:
                kept.append(alert)
            else:
                stats.suppressed[rule.reason] += 1
        return kept
