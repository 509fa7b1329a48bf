"""The transparency report, computed from the office's records for a period (nothing is typed in by hand).

Columns follow what Google, Meta and Apple publish for government requests — requests, accounts
specified, share of requests where some data was produced, preservation and emergency requests —
by country and by request type; plus the Santa Clara Principles' numbers for the office's own
actions (alert verdicts and status changes, cases opened and closed) and appeals. Requests are
counted in the period they were *received*, as those publishers do. Percentages are kept as
exact fractions and rendered as text, so the figures never pick up float rounding noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases.tables import case_events
from watchhouse.office.disclosure import records
from watchhouse.office.disclosure.models import DisclosureRequest, RequestType
from watchhouse.office.disclosure.tables import disclosure_requests
from watchhouse.office.portal.tables import portal_appeals, portal_decisions, portal_reports
from watchhouse.office.triage.tables import alert_history

REPORT_OBJECT = "report"
APPEALS_NOTE = (
    "Appeals are those filed in the period against decisions on public reports (the report portal); each is "
    "reviewed by someone other than the first decider. Alert and disclosure decisions have no appeals process yet."
)


@dataclass(frozen=True)
class RequestRow:
    """One row of a requests table: a country, a request type, or the total."""

    label: str
    requests: int = 0
    accounts: int = 0
    produced: int = 0
    preservation: int = 0
    emergency: int = 0
    rejected: int = 0

    @property
    def produced_share(self) -> str:
        """Share of requests where some data was produced, e.g. ``66.7%`` (``—`` when there were none)."""
        if self.requests == 0:
            return "—"
        tenths = (self.produced * 1000 + self.requests // 2) // self.requests
        return f"{tenths // 10}.{tenths % 10}%"

    def add(self, request: DisclosureRequest) -> RequestRow:
        produced = bool(request.evidence) and request.request_type is not RequestType.PRESERVATION
        return RequestRow(
            label=self.label,
            requests=self.requests + 1,
            accounts=self.accounts + len(request.scope.accounts),
            produced=self.produced + produced,
            preservation=self.preservation + (request.request_type is RequestType.PRESERVATION),
            emergency=self.emergency + request.emergency,
            rejected=self.rejected + request.rejected,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": self.requests,
            "accounts_specified": self.accounts,
            "some_data_produced": self.produced,
            "share_some_data_produced": self.produced_share,
            "preservation_requests": self.preservation,
            "emergency_requests": self.emergency,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class TransparencyReport:
    start: date
    end: date
    """Inclusive: the report covers whole days ``start``..``end``."""
    generated_at: datetime
    by_country: tuple[RequestRow, ...]
    by_type: tuple[RequestRow, ...]
    total: RequestRow
    actions: tuple[tuple[str, int], ...]
    appeals: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "by_country": [r.to_dict() for r in self.by_country],
            "by_type": [r.to_dict() for r in self.by_type],
            "total": self.total.to_dict(),
            "actions": dict(self.actions),
            "appeals": self.appeals,
            "notes": list(self.notes),
        }


class TransparencyReports:
    def __init__(self, engine: Engine, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock

    def generate(self, actor: str, start: date, end: date, purpose: str | None = None) -> TransparencyReport:
        """Count the period's records; generating the report is itself an audited export."""
        if start > end:
            raise UsageError(f"the period is reversed: {start} is after {end}")
        if end >= date.max:
            raise UsageError(f"the period must end before {date.max.isoformat()}")
        low = datetime.combine(start, time(), UTC)
        high = datetime.combine(end + timedelta(days=1), time(), UTC)
        with self._audit.transaction() as conn:
            query = (
                select(disclosure_requests.c.id)
                .where(disclosure_requests.c.received_at >= low, disclosure_requests.c.received_at < high)
                .order_by(disclosure_requests.c.id)
            )
            requests = records.load_all(conn, query)
            countries: dict[str, RequestRow] = {}
            types: dict[str, RequestRow] = {t.value: RequestRow(t.value) for t in RequestType}
            total = RequestRow("total")
            for request in requests:
                country = request.authority.country
                countries[country] = countries.get(country, RequestRow(country)).add(request)
                types[request.request_type.value] = types[request.request_type.value].add(request)
                total = total.add(request)
            actions: Counter[str] = Counter()
            for fld, value, n in conn.execute(
                select(alert_history.c.field, alert_history.c.new_value, func.count())
                .where(alert_history.c.at >= low, alert_history.c.at < high)
                .group_by(alert_history.c.field, alert_history.c.new_value)
            ):
                actions[f"alert {fld}: {value or '(none)'}"] += int(n)
            for kind, value, n in conn.execute(
                select(case_events.c.kind, case_events.c.new_value, func.count())
                .where(
                    case_events.c.at >= low,
                    case_events.c.at < high,
                    case_events.c.kind.in_(("opened", "status")),
                )
                .group_by(case_events.c.kind, case_events.c.new_value)
            ):
                actions["case opened" if kind == "opened" else f"case status: {value}"] += int(n)
            tables = inspect(conn).get_table_names()
            appeals = _portal_counts(conn, low, high, actions) if "portal_appeals" in tables else 0
            notes = [APPEALS_NOTE]
            report = TransparencyReport(
                start=start,
                end=end,
                generated_at=self._clock(),
                by_country=tuple(countries[c] for c in sorted(countries)),
                by_type=tuple(types.values()),
                total=total,
                actions=tuple(sorted(actions.items())),
                appeals=appeals,
                notes=tuple(notes),
            )
            self._audit.append(
                actor,
                Action.EXPORT,
                REPORT_OBJECT,
                f"transparency:{start.isoformat()}..{end.isoformat()}",
                purpose,
                {"requests": total.requests, "countries": len(countries), "request_ids": [r.id for r in requests]},
                conn=conn,
            )
        return report


def _portal_counts(conn: Connection, low: datetime, high: datetime, actions: Counter[str]) -> int:
    """Add the portal's decisions, appeal reviews and received reports to ``actions``; return appeals filed."""
    for outcome, on_appeal, n in conn.execute(
        select(portal_decisions.c.outcome, portal_decisions.c.appeal_of.is_not(None), func.count())
        .where(portal_decisions.c.decided_at >= low, portal_decisions.c.decided_at < high)
        .group_by(portal_decisions.c.outcome, portal_decisions.c.appeal_of.is_not(None))
    ):
        actions[f"public report {'appeal decision' if on_appeal else 'decision'}: {outcome}"] += int(n)
    for status, n in conn.execute(
        select(portal_appeals.c.status, func.count())
        .where(portal_appeals.c.reviewed_at >= low, portal_appeals.c.reviewed_at < high)
        .group_by(portal_appeals.c.status)
    ):
        actions[f"public report appeal: {status}"] += int(n)
    received = conn.execute(
        select(func.count()).where(portal_reports.c.received_at >= low, portal_reports.c.received_at < high)
    ).scalar_one()
    if received:
        actions["public report received"] += int(received)
    filed = conn.execute(
        select(func.count()).where(portal_appeals.c.filed_at >= low, portal_appeals.c.filed_at < high)
    ).scalar_one()
    return int(filed)
