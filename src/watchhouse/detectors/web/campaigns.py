"""``web.campaigns``: one alert per attacking source, and per attacked path, and time window.

Why: a scanner or an exploit kit sends thousands of payloads in minutes. ``web.attack_patterns``
rightly flags each request, but an analyst needs one case ("192.0.2.7 ran SQLi and traversal
against 4,812 URLs between 02:10 and 02:40"), with counts per class, rule and path and a capped
sample of evidence, not 5,000 alerts. The other shape is a botnet: hundreds of addresses each
sending a few exploit attempts at one endpoint ("/wp-login.php attacked from 212 addresses"),
which per-source grouping splits into hundreds of small alerts; grouped per target path it is
one alert counting the sources.

How: the per-request detector runs inside (composition, passed in or built from the paranoia
level and threshold given); its findings are grouped per source, and per target path, into
tumbling windows aligned on the epoch, so a window's bounds never depend on where the input
starts. Findings are taken one at a time in input order and a window closes once a later
*finding* of any source is ``window + grace`` past its end. Ordinary rows never move that clock,
so how the input is cut into batches cannot change which requests share a window; ``finalize``
closes the rest. A source's window becomes an alert from ``min_requests`` flagged requests; a
path's only once ``min_sources`` distinct sources attacked it (one scanner's path is its own
source window already). State is plain JSON (checkpointable) and bounded: at most ``max_open``
windows per grouping stay open (the oldest closes first), distinct paths (sources) are counted
exactly up to ``max_paths`` (``max_sources``) and evidence references are capped with a total
count.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.defaults import DEFAULT_PARANOIA, DEFAULT_THRESHOLD

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the longest path kept for grouping and shown (a path longer than this is cut)
PATH_CHARS = 200


@dataclass
class _Window:
    """What one group (a source, or a target path) did within one window (mutable while open).

    ``spread`` counts the other dimension: the paths a source attacked, or the sources that
    attacked a path.
    """

    group: str
    start: datetime
    first_seen: datetime
    last_seen: datetime
    requests: int = 0
    severity: int = 0
    confidence: float = 0.0
    crime: str = CrimeCode.ILLEGAL_ACCESS.value
    classes: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    spread: Counter[str] = field(default_factory=Counter)
    spread_overflow: bool = False
    evidence: list[EventRef] = field(default_factory=list)

    def add(self, finding: Finding, seen: datetime, other: str, max_spread: int, max_evidence: int) -> None:
        self.first_seen = min(self.first_seen, seen)
        self.last_seen = max(self.last_seen, seen)
        self.requests += 1
        if int(finding.severity) > self.severity:
            self.severity = int(finding.severity)
            self.crime = finding.crime_code.value
        self.confidence = max(self.confidence, finding.confidence)
        details = finding.details
        self.classes.update(details.get("classes", []))
        self.rules.update(details.get("rules", []))
        if other in self.spread or len(self.spread) < max_spread:
            self.spread[other] += 1
        else:
            self.spread_overflow = True
        if len(self.evidence) < max_evidence:
            self.evidence.extend(finding.evidence[: max_evidence - len(self.evidence)])


class _Grouping:
    """The open windows of one grouping, closed in (start, group) order.

    Why a heap of window starts: the windows due at a finding are found without looking at the
    others, so a botnet holding a hundred thousand source windows open costs each finding a
    heap peek, not a walk over all of them. Every open window has exactly one heap entry.

    ``names`` are the JSON names of the group and of its spread, as checkpoints spell them
    (``("source", "paths")`` for sources, as before path windows existed).
    """

    def __init__(self, names: tuple[str, str], max_spread: int, max_open: int) -> None:
        self.names = names
        self.max_spread = max_spread
        self.max_open = max_open
        self.open: dict[tuple[str, datetime], _Window] = {}
        self._heap: list[tuple[datetime, str]] = []

    def add(self, group: str, start: datetime, finding: Finding, seen: datetime, other: str, evidence: int) -> None:
        window = self.open.get((group, start))
        if window is None:
            window = self.open[(group, start)] = _Window(group, start, seen, seen)
            heapq.heappush(self._heap, (start, group))
        window.add(finding, seen, other, self.max_spread, evidence)

    def close_due(self, deadline: datetime) -> list[_Window]:
        """Windows starting at or before ``deadline``, then the oldest beyond ``max_open``."""
        closed: list[_Window] = []
        heap, open_ = self._heap, self.open
        while heap and (heap[0][0] <= deadline or len(open_) > self.max_open):
            start, group = heapq.heappop(heap)
            closed.append(open_.pop((group, start)))
        return closed

    def close_all(self) -> list[_Window]:
        closed = [self.open[(group, start)] for start, group in sorted(self._heap)]
        self.open.clear()
        self._heap.clear()
        return closed

    def to_json(self) -> list[dict[str, Any]]:
        group, spread = self.names
        return [
            {
                group: w.group,
                "start": w.start.isoformat(),
                "first_seen": w.first_seen.isoformat(),
                "last_seen": w.last_seen.isoformat(),
                "requests": w.requests,
                "severity": w.severity,
                "confidence": w.confidence,
                "crime": w.crime,
                "classes": dict(w.classes),
                "rules": dict(w.rules),
                spread: dict(w.spread),
                f"{spread}_overflow": w.spread_overflow,
                "evidence": [ref.to_dict() for ref in w.evidence],
            }
            for w in self.open.values()
        ]

    def restore(self, windows: list[dict[str, Any]]) -> None:
        group, spread = self.names
        self.open = {}
        for data in windows:
            window = _Window(
                group=data[group],
                start=datetime.fromisoformat(data["start"]),
                first_seen=datetime.fromisoformat(data["first_seen"]),
                last_seen=datetime.fromisoformat(data["last_seen"]),
                requests=int(data["requests"]),
                severity=int(data["severity"]),
                confidence=float(data["confidence"]),
                crime=str(data["crime"]),
                classes=Counter(data["classes"]),
                rules=Counter(data["rules"]),
                spread=Counter(data[spread]),
                spread_overflow=bool(data[f"{spread}_overflow"]),
                evidence=[EventRef.from_dict(ref) for ref in data["evidence"]],
            )
            self.open[(window.group, window.start)] = window
        self._heap = [(start, group_) for group_, start in self.open]
        heapq.heapify(self._heap)


class WebCampaignDetector(Detector):
    """Groups web-attack findings per source and per target path over a time window: one alert
    per attacking campaign.

    Why: per-request alerts from a scanner bury the one thing an analyst needs to act on (who,
    when, how much, what kind), and a distributed attack on one endpoint hides behind as many
    small alerts as it has sources. See the module docstring for the windowing contract.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="web.campaigns",
        version="2",
        family=DetectorFamily.WEB,
        datasets=frozenset({Dataset.HTTP}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Web attacks grouped per source and per target path and time window, with counts",
        # opt-in: whether a scan should report campaigns beside every request's alert is the
        # office's choice (`--detector web.campaigns` for the campaign view alone; both cost one
        # matching pass, see `composes`)
        opt_in=True,
    )
    #: the detector whose instance the registry hands over as ``inner`` when a scan runs both, and
    #: the options of this one that configure it: sharing it matches every request once, not twice
    #: (:meth:`watchhouse.detect.registry.DetectorRegistry.create` says when it is shared)
    composes: ClassVar[tuple[str, str, frozenset[str]]] = (
        "web.attack_patterns",
        "inner",
        frozenset({"paranoia_level", "anomaly_threshold"}),
    )

    def __init__(
        self,
        *,
        inner: WebAttackDetector | None = None,
        paranoia_level: int | None = None,
        anomaly_threshold: int | None = None,
        window_seconds: float = 3600,
        grace_seconds: float = 300,
        min_requests: int = 1,
        min_sources: int = 3,
        max_evidence: int = 20,
        max_paths: int = 10_000,
        max_sources: int = 10_000,
        max_open: int = 100_000,
        top: int = 10,
    ) -> None:
        """
        :param inner: the per-request detector (its paranoia and threshold decide what counts).
        :param paranoia_level: for the per-request detector built here when ``inner`` is not
            given (its default otherwise); with ``anomaly_threshold``, what a scan's configuration
            file can set (``[detectors."web.campaigns"]``).
        :param anomaly_threshold: likewise.
        :param window_seconds: length of the tumbling windows, aligned on the Unix epoch.
        :param grace_seconds: how far past a window's end later findings must be before it closes
            (tolerates slightly out-of-order logs from several servers).
        :param min_requests: flagged requests a window needs to become an alert.
        :param min_sources: distinct sources a path's window needs to become an alert (0: no
            per-path alerts).
        :param max_evidence: event references kept per alert (the total is always counted).
        :param max_paths: distinct paths counted exactly per source window; beyond, the count is a floor.
        :param max_sources: distinct sources counted exactly per path window; likewise.
        :param max_open: open windows held at most per grouping; the oldest closes first when exceeded.
        :param top: how many classes, rules, paths and sources the details list by count.
        """
        if window_seconds <= 0 or grace_seconds < 0:
            raise ValueError("window_seconds must be positive and grace_seconds not negative")
        if min(min_requests, max_evidence, max_paths, max_sources, max_open, top) < 1 or min_sources < 0:
            raise ValueError(
                "min_requests, max_evidence, max_paths, max_sources, max_open and top must be at least 1, "
                "min_sources at least 0"
            )
        if inner is not None and (paranoia_level is not None or anomaly_threshold is not None):
            raise ValueError("give the paranoia level and threshold to the inner detector, not beside it")
        self.inner = (
            inner
            if inner is not None
            else WebAttackDetector(
                paranoia_level=DEFAULT_PARANOIA if paranoia_level is None else paranoia_level,
                anomaly_threshold=DEFAULT_THRESHOLD if anomaly_threshold is None else anomaly_threshold,
            )
        )
        self.window = timedelta(seconds=window_seconds)
        self.grace = timedelta(seconds=grace_seconds)
        self.min_requests = min_requests
        self.min_sources = min_sources
        self.max_evidence = max_evidence
        self.top = top
        self._sources = _Grouping(("source", "paths"), max_paths, max_open)
        self._paths = _Grouping(("path", "sources"), max_sources, max_open)
        self._clock: datetime | None = None

    # -- the Detector contract ------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        closed: list[Finding] = []
        for finding in self.inner.detect(batch):
            closed.extend(self._add(finding))
        return closed

    def finalize(self) -> list[Finding]:
        return self._alerts(self._sources.close_all(), self._paths.close_all())

    def checkpoint(self) -> JSONState:
        return {
            "clock": self._clock.isoformat() if self._clock else None,
            "open": self._sources.to_json(),
            "open_paths": self._paths.to_json(),
        }

    def restore(self, state: JSONState) -> None:
        self._clock = None
        self._sources.restore([])
        self._paths.restore([])
        if not state:
            return
        self._clock = datetime.fromisoformat(state["clock"]) if state.get("clock") else None
        self._sources.restore(state.get("open", []))
        self._paths.restore(state.get("open_paths", []))  # absent from version 1 checkpoints

    # -- grouping -------------------------------------------------------------------------------
    def _start_of(self, moment: datetime) -> datetime:
        slots = (moment - _EPOCH) // self.window
        return _EPOCH + slots * self.window

    def _add(self, finding: Finding) -> list[Finding]:
        seen = finding.first_seen if finding.first_seen.tzinfo else finding.first_seen.replace(tzinfo=UTC)
        self._clock = seen if self._clock is None or seen > self._clock else self._clock
        start = self._start_of(seen)
        source = finding.subject.value
        path = str(finding.details.get("url_excerpt") or "").partition("?")[0][:PATH_CHARS]
        self._sources.add(source, start, finding, seen, path, self.max_evidence)
        if path and self.min_sources:
            self._paths.add(path, start, finding, seen, source, self.max_evidence)
        deadline = self._clock - self.window - self.grace
        return self._alerts(self._sources.close_due(deadline), self._paths.close_due(deadline))

    # -- reporting ------------------------------------------------------------------------------
    def _alerts(self, sources: list[_Window], paths: list[_Window]) -> list[Finding]:
        out = [self._source_alert(w) for w in sources if w.requests >= self.min_requests]
        out += [
            self._path_alert(w) for w in paths if w.requests >= self.min_requests and len(w.spread) >= self.min_sources
        ]
        return out

    def _source_alert(self, w: _Window) -> Finding:
        title = f"Web attack campaign from {w.group}: {w.requests} request(s), {_leading_classes(w)}"
        told = f"{w.group} sent {w.requests} flagged request(s) to {_spread_text(w)} distinct path(s)"
        key = f"{w.group}:{w.start.isoformat()}"
        return self._finding(w, key, Subject("source.ip", w.group), "paths", title, told, {})

    def _path_alert(self, w: _Window) -> Finding:
        spread = _spread_text(w)
        title = f"Web attack campaign against {w.group}: {w.requests} request(s) from {spread} source(s), "
        title += _leading_classes(w)
        told = f"{w.group} was attacked by {spread} distinct source(s) with {w.requests} flagged request(s)"
        key = f"path:{w.group}:{w.start.isoformat()}"
        return self._finding(w, key, Subject("url.path", w.group), "sources", title, told, {"url.path": w.group})

    def _finding(
        self, w: _Window, key: str, subject: Subject, spread: str, title: str, told: str, details: dict[str, Any]
    ) -> Finding:
        """The alert of a closed window; ``spread`` names what it counted (``paths`` or ``sources``)."""
        class_text = ", ".join(f"{c} ×{n}" for c, n in w.classes.most_common(self.top))
        explanation = (
            f"{told} from {w.first_seen:%Y-%m-%d %H:%M:%S} to {w.last_seen:%H:%M:%S} ({class_text}). "
            f"Showing {len(w.evidence)} of {w.requests} evidence references."
        )
        details.update(
            {
                "requests": w.requests,
                f"distinct_{spread}": len(w.spread),
                f"distinct_{spread}_is_floor": w.spread_overflow,
                f"top_{spread}": dict(w.spread.most_common(self.top)),
                "classes": dict(w.classes.most_common(self.top)),
                "rules": dict(w.rules.most_common(self.top)),
                "window_start": w.start.isoformat(),
                "window_seconds": int(self.window.total_seconds()),
                "evidence_shown": len(w.evidence),
                "evidence_total": w.requests,
            }
        )
        return Finding(
            detector=self.info.name,
            key=key,
            crime_code=CrimeCode(w.crime),
            stage=Stage.ATTEMPTED,
            severity=Severity(w.severity),
            confidence=w.confidence,
            title=title,
            explanation=explanation,
            subject=subject,
            first_seen=w.first_seen,
            last_seen=w.last_seen,
            evidence=tuple(w.evidence),
            details=details,
            tags=tuple(f"attack:{c}" for c, _ in w.classes.most_common()),
        )


def _spread_text(w: _Window) -> str:
    """How many paths (sources) the window counted: a floor once ``max_paths`` (``max_sources``) was reached."""
    return f"at least {len(w.spread)}" if w.spread_overflow else str(len(w.spread))


def _leading_classes(w: _Window) -> str:
    return ", ".join(c for c, _ in w.classes.most_common(3))
