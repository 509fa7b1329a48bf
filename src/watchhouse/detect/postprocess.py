"""From findings to alerts: deterministic ids, de-duplication, suppression, severity threshold.

Post-processing is kept apart from detection so every runner (embedded, Spark) applies exactly
the same policy, and counts what it held back so a summary can say so: nothing vanishes silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from watchhouse.core.alerts import Alert, alert_ids, alert_ids_of
from watchhouse.core.finding_rows import AlertBatch, AlertRows, FindingRows
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
        chosen, ids = self._fresh(alert_ids(findings), [finding.severity for finding in findings])
        alerts = Alert.many([findings[i] for i in chosen], ids, self._versions)
        suppressions = self._suppressions
        if not suppressions:
            return alerts
        kept: list[Alert] = []
        for alert in alerts:
            rule = next((s for s in suppressions if s.matches(alert)), None)
            if rule is None:
                kept.append(alert)
            else:
                self.stats.suppressed[rule.reason] += 1
        return kept

    def process_parts(self, parts: Sequence[Sequence[Finding]]) -> AlertBatch:
        """The alerts of one batch's findings, each detector's in a part of its own, in order.

        The same decisions as :meth:`process` over the parts joined (the same alerts, ids, order
        and counts); a part held as :class:`FindingRows` stays rows (:class:`AlertRows`), so its
        alerts can be written without being made. With suppressions every finding is made: a
        suppression rule reads the alert itself.
        """
        if self._suppressions or not any(isinstance(part, FindingRows) for part in parts):
            return AlertBatch([self.process([finding for part in parts for finding in part])])
        segments: list[list[Alert] | AlertRows] = []
        for part in parts:
            if isinstance(part, FindingRows):
                kept, ids = self._fresh(alert_ids_of(part.detector, part.keys), part.severities)
                segments.append(AlertRows(part, kept, ids, self._versions.get(part.detector, "?")))
            else:
                segments.append(self.process(part))
        return AlertBatch(segments)

    def _fresh(self, ids: list[str], severities: Sequence[Severity]) -> tuple[list[int], list[str]]:
        """Which findings (by index) become alerts, with their ids: not seen before, not below the
        threshold. Every id is remembered, even a held-back one's (a finding re-scored later under
        the same key is a duplicate). Counted in :attr:`stats`."""
        stats = self.stats
        stats.findings += len(ids)
        seen = self._seen
        min_severity = self._min_severity
        kept: list[int] = []
        kept_ids: list[str] = []
        for index, (id_, severity) in enumerate(zip(ids, severities, strict=True)):
            if id_ in seen:
                stats.duplicates += 1
                continue
            seen.add(id_)
            if severity < min_severity:
                stats.below_threshold += 1
                continue
            kept.append(index)
            kept_ids.append(id_)
        return kept, kept_ids
