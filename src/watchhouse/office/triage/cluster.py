"""Alert clustering: one campaign usually raises many alerts about the same subject or target.

Alerts are grouped by a key and, within a key, chained while each alert's first sighting lies at
most ``window`` after the previous one's last sighting (single-linkage in time), so a scanner that
returns next week starts a new cluster instead of merging into last week's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from watchhouse.core.alerts import Alert
from watchhouse.office.triage.models import Cluster

_TARGET_FIELDS = ("target", "url.path", "url.original", "destination.ip", "host.name", "user.name")


class ClusterKey(StrEnum):
    SUBJECT = "subject"
    TARGET = "target"
    DETECTOR = "detector"


def key_of(alert: Alert, by: ClusterKey) -> str:
    if by is ClusterKey.SUBJECT:
        return str(alert.subject)
    if by is ClusterKey.DETECTOR:
        return alert.detector
    for name in _TARGET_FIELDS:
        value = alert.details.get(name)
        if isinstance(value, str) and value:
            return f"{name}={value}"
    return "(no target)"


def cluster_alerts(alerts: Iterable[Alert], by: ClusterKey, window: timedelta) -> list[Cluster]:
    groups: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        groups[key_of(alert, by)].append(alert)
    clusters: list[Cluster] = []
    for key, members in groups.items():
        members.sort(key=lambda a: (a.first_seen, a.id))
        run: list[Alert] = []
        for alert in members:
            if run and alert.first_seen - max(a.last_seen for a in run) > window:
                clusters.append(_cluster(key, run))
                run = []
            run.append(alert)
        if run:
            clusters.append(_cluster(key, run))
    clusters.sort(key=lambda c: (-len(c.alert_ids), c.first_seen, c.key))
    return clusters


def _cluster(key: str, run: list[Alert]) -> Cluster:
    return Cluster(
        key=key,
        alert_ids=tuple(a.id for a in run),
        first_seen=min(a.first_seen for a in run),
        last_seen=max(a.last_seen for a in run),
        max_severity=int(max(a.severity for a in run)),
        crime_codes=tuple(sorted({a.crime_code.value for a in run})),
    )
