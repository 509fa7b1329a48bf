"""The triage service: every look at an alert is audited, every change is history plus audit.

Reads (queue searches, single alerts, clusters, history) write one audit entry naming the filter
and the alert ids returned, so "who saw alert X" is answerable. Changes write, per alert, an
append-only ``alert_history`` row and an audit entry in one transaction. Bulk actions are the
same per-alert changes applied to the ids a filter selected, and refuse a filter that selects
everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.detect.suppression import Suppression
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases.tables import case_events
from watchhouse.office.errors import NotFoundError
from watchhouse.office.triage.cluster import ClusterKey, cluster_alerts
from watchhouse.office.triage.models import AlertStatus, AlertView, Cluster, HistoryItem, TriageState, Verdict
from watchhouse.office.triage.suppressions import SuppressionRules
from watchhouse.office.triage.tables import alert_history
from watchhouse.office.triage.warmup import warm_queue
from watchhouse.storage.alert_store import AlertFilter, QueueCursor, count_capped, filtered, from_row, queue_page
from watchhouse.storage.schema import alerts


@dataclass(frozen=True)
class SuppressRequest:
    """What a false-positive/benign verdict should silence, and until when (both mandatory)."""

    reason: str
    expires: datetime
    by_subject: bool = True
    by_detector: bool = True
    by_crime: bool = False


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue: its alerts, how many match in all (up to a cap), where the next starts."""

    views: list[AlertView]
    total: int
    total_capped: bool
    """``total`` is a lower bound: more alerts match than were counted."""
    next: QueueCursor | None


@dataclass(frozen=True)
class VerdictResult:
    changed: list[str]
    rule_ids: list[int]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AlertService:
    def __init__(
        self, engine: Engine, audit: AuditLog, suppressions: SuppressionRules, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._rules = suppressions
        self._clock = clock

    def warm_up(self, connections: int) -> int:
        """Open and warm ``connections`` database connections for the queue (see ``warmup``)."""
        return warm_queue(self._engine, connections)

    # -- reads ---------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """An alert id from an id or a unique prefix."""
        with self._engine.connect() as conn:
            found = list(conn.execute(select(alerts.c.id).where(alerts.c.id.startswith(ref)).limit(5)).scalars())
        if ref in found:
            return ref
        if len(found) != 1:
            raise NotFoundError(f"no alert {ref!r}" if not found else f"{ref!r} is ambiguous: {found}")
        return str(found[0])

    def search(self, actor: str, flt: AlertFilter, purpose: str | None = None) -> list[AlertView]:
        """The triage queue: most severe and newest first; the search and its results are audited."""
        return self._page(actor, flt, purpose, count=False).views

    def page(self, actor: str, flt: AlertFilter, purpose: str | None = None) -> QueuePage:
        """One page of the queue with a capped total and the cursor of the next page (audited)."""
        return self._page(actor, flt, purpose, count=True)

    def _page(self, actor: str, flt: AlertFilter, purpose: str | None, *, count: bool) -> QueuePage:
        # The query runs in a plain read transaction and only the audit entry takes the write lock:
        # a search holding ``BEGIN IMMEDIATE`` while it reads would queue every other search and
        # change behind it. The entry still commits before anything is returned, so no result
        # leaves the office unrecorded.
        with self._engine.connect() as conn, conn.begin():
            rows = list(conn.execute(queue_page(flt)))
            views = _views(conn, rows)
            total, capped = count_capped(conn, flt) if count else (len(views), False)
        more = len(views) == flt.limit
        next_cursor = QueueCursor.after(views[-1].alert) if views and more else None
        details = {"filter": flt.to_record(), "results": len(views), "ids": [v.alert.id for v in views]}
        self._audit.append(actor, Action.SEARCH, ObjectType.ALERT, None, purpose, details)
        return QueuePage(views, total, capped, next_cursor)

    def show(self, actor: str, ref: str, purpose: str | None = None) -> tuple[AlertView, list[HistoryItem]]:
        alert_id = self.resolve(ref)
        with self._engine.connect() as conn, conn.begin():  # read first, lock only to append (see _page)
            rows = list(conn.execute(select(alerts).where(alerts.c.id == alert_id)))
            (view,) = _views(conn, rows)
            history = _history(conn, alert_id)
        self._audit.append(actor, Action.READ, ObjectType.ALERT, alert_id, purpose, {})
        return view, history

    def cluster(
        self, actor: str, flt: AlertFilter, by: ClusterKey, window: timedelta, purpose: str | None = None
    ) -> list[Cluster]:
        """Group the filtered alerts by ``by`` where sightings are at most ``window`` apart."""
        query = filtered(select(alerts), flt).order_by(alerts.c.first_seen).limit(flt.limit)
        with self._audit.transaction() as conn:
            found = [from_row(r._mapping) for r in conn.execute(query)]
            clusters = cluster_alerts(found, by, window)
            self._audit.append(
                actor,
                Action.SEARCH,
                ObjectType.ALERT,
                None,
                purpose,
                {
                    "filter": flt.to_record(),
                    "cluster_by": by.value,
                    "window_s": int(window.total_seconds()),
                    "results": len(found),
                    "clusters": len(clusters),
                    "ids": [a.id for a in found],
                },
                conn=conn,
            )
        return clusters

    def select_ids(self, actor: str, flt: AlertFilter, purpose: str | None = None) -> list[str]:
        """The ids a bulk action will touch (refusing a filter with no criterion at all)."""
        if not flt.narrows():
            raise UsageError("a bulk action needs at least one filter (--crime, --min-severity, --status, ...)")
        return [v.alert.id for v in self.search(actor, flt, purpose)]

    # -- changes -------------------------------------------------------------------------------

    def set_status(self, actor: str, ids: Sequence[str], status: AlertStatus, reason: str | None = None) -> list[str]:
        return self._change(actor, ids, "status", status.value, reason)

    def assign(self, actor: str, ids: Sequence[str], assignee: str | None, reason: str | None = None) -> list[str]:
        return self._change(actor, ids, "assignee", assignee, reason)

    def set_verdict(
        self,
        actor: str,
        ids: Sequence[str],
        verdict: Verdict,
        reason: str,
        suppress: SuppressRequest | None = None,
    ) -> VerdictResult:
        """Record a verdict (which also settles the status); optionally create suppression rules.

        One rule per distinct (detector, subject, crime) among the alerts, so a bulk verdict over a
        noisy scanner does not flood the rule list.
        """
        if not reason.strip():
            raise UsageError("a verdict needs a reason")
        if suppress is not None and not verdict.may_suppress:
            raise UsageError(f"only false_positive or benign verdicts may create suppressions, not {verdict.value}")
        if suppress is not None:
            self._rules.check(suppress.reason, suppress.expires)
        rule_ids: list[int] = []
        with self._audit.transaction() as conn:
            changed = self._change_in(conn, actor, ids, "verdict", verdict.value, reason)
            self._change_in(conn, actor, ids, "status", verdict.status_after.value, f"verdict {verdict.value}")
            if suppress is not None:
                seen: set[tuple[str | None, str | None, str | None]] = set()
                rows = conn.execute(select(alerts).where(alerts.c.id.in_(list(ids))).order_by(alerts.c.id))
                for alert in (from_row(r._mapping) for r in rows):
                    rule = Suppression(
                        reason=suppress.reason,
                        expires=suppress.expires,
                        detector=alert.detector if suppress.by_detector else None,
                        crime_code=alert.crime_code if suppress.by_crime else None,
                        subject=str(alert.subject) if suppress.by_subject else None,
                        created_by=actor,
                    )
                    key = (rule.detector, rule.crime_code, rule.subject)
                    if key == (None, None, None):
                        raise UsageError("a suppression must be scoped (subject, detector or crime code)")
                    if key not in seen:
                        seen.add(key)
                        rule_ids.append(self._rules.create(conn, actor, rule, from_alert=alert.id))
        return VerdictResult(changed, rule_ids)

    def _change(self, actor: str, ids: Sequence[str], field: str, value: str | None, reason: str | None) -> list[str]:
        with self._audit.transaction() as conn:
            return self._change_in(conn, actor, ids, field, value, reason)

    def _change_in(
        self, conn: Connection, actor: str, ids: Sequence[str], field: str, value: str | None, reason: str | None
    ) -> list[str]:
        """Apply one field change to each alert; unchanged alerts get no history and no entry."""
        if not ids:
            raise UsageError("no alerts selected")
        column = alerts.c[field]
        rows = conn.execute(select(alerts.c.id, column).where(alerts.c.id.in_(list(ids))))
        current: dict[str, str | None] = {r[0]: r[1] for r in rows}
        missing = sorted(set(ids) - set(current))
        if missing:
            raise NotFoundError(f"no alert {missing[0]!r}")
        changed = []
        at = self._clock()
        for alert_id in dict.fromkeys(ids):
            old = current[alert_id]
            if old == value:
                continue
            entry = self._audit.append(
                actor,
                Action.CHANGE,
                ObjectType.ALERT,
                alert_id,
                reason,
                {"field": field, "old": old, "new": value},
                conn=conn,
            )
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values({field: value}))
            conn.execute(
                alert_history.insert().values(
                    alert_id=alert_id,
                    at=at,
                    actor=actor,
                    field=field,
                    old_value=old,
                    new_value=value,
                    reason=reason,
                    audit_seq=entry.seq,
                )
            )
            changed.append(alert_id)
        return changed


def linked_cases(conn: Connection, alert_ids: Sequence[str]) -> dict[str, list[str]]:
    """Cases each alert is linked to now: the replay of its link/unlink events."""
    rows = conn.execute(
        select(case_events.c.case_id, case_events.c.target, case_events.c.kind)
        .where(case_events.c.kind.in_(("alert-linked", "alert-unlinked")), case_events.c.target.in_(list(alert_ids)))
        .order_by(case_events.c.id)
    )
    state: dict[tuple[str, str], bool] = {}
    for case_id, target, kind in rows:
        state[(target, case_id)] = kind == "alert-linked"
    out: dict[str, list[str]] = {}
    for (alert_id, case_id), linked in state.items():
        if linked:
            out.setdefault(alert_id, []).append(case_id)
    return out


def _views(conn: Connection, rows: Sequence[Any]) -> list[AlertView]:
    links = linked_cases(conn, [r.id for r in rows]) if rows else {}
    return [
        AlertView(
            alert=from_row(r._mapping),
            triage=TriageState(status=r.status, assignee=r.assignee, verdict=r.verdict),
            cases=tuple(sorted(links.get(r.id, []))),
        )
        for r in rows
    ]


def _history(conn: Connection, alert_id: str) -> list[HistoryItem]:
    items = [
        HistoryItem(_utc(r.at), r.actor, r.field, r.old_value, r.new_value, r.reason, int(r.audit_seq))
        for r in conn.execute(
            select(alert_history).where(alert_history.c.alert_id == alert_id).order_by(alert_history.c.id)
        )
    ]
    for r in conn.execute(
        select(case_events)
        .where(case_events.c.kind.in_(("alert-linked", "alert-unlinked")), case_events.c.target == alert_id)
        .order_by(case_events.c.id)
    ):
        linked = r.kind == "alert-linked"
        items.append(
            HistoryItem(
                _utc(r.at),
                r.actor,
                "case",
                None if linked else r.case_id,
                r.case_id if linked else None,
                r.reason,
                int(r.audit_seq),
            )
        )
    return sorted(items, key=lambda i: i.audit_seq)
