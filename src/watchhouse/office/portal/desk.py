"""The office's side of the portal: queue, reading, campaigns, decisions, appeals, invalidation.

Every look is an audit entry (queue = search, report = read), like every other office object.
Restricted reports (child sexual abuse material) are need-to-know: only accounts on the restricted
readers list see them at all, and even they see hashes, not content, unless they ask for the
content with a purpose (audited). Decisions need a statement of reasons; an appeal is reviewed by
someone other than the person who made the decision appealed (four-eyes), and the refusal of a
self-review is itself audited.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import NoReturn

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases.tables import cases
from watchhouse.office.errors import AccessDeniedError, FourEyesError, NotFoundError, TransitionError
from watchhouse.office.portal import records
from watchhouse.office.portal.campaigns import Campaign, ReportSummary, group
from watchhouse.office.portal.crypto import PortalKeys, SealedContact
from watchhouse.office.portal.models import Contact, Outcome, Report, ReporterRole, ReportFile, ReportStatus
from watchhouse.office.portal.records import REPORT_OBJECT
from watchhouse.office.portal.service import DECIDED
from watchhouse.office.portal.tables import (
    portal_appeals,
    portal_decisions,
    portal_identifiers,
    portal_links,
    portal_reports,
    portal_restricted_readers,
)
from watchhouse.storage.schema import alerts


class _RefusalError(Exception):
    """Raised inside a transaction so it rolls back; :meth:`PortalDesk._tx` audits it afterwards."""

    def __init__(self, refusal: str) -> None:
        super().__init__(refusal)
        self.refusal = refusal


OPEN = (ReportStatus.RECEIVED.value, ReportStatus.UNDER_REVIEW.value)


@dataclass(frozen=True)
class QueueItem:
    report: Report
    campaign: Campaign | None


@dataclass(frozen=True)
class PortalStats:
    by_category: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]
    urgent_open: int
    restricted: int
    campaigns: int
    money_lost: tuple[tuple[str, str], ...]


class PortalDesk:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        keys: PortalKeys,
        clock: Callable[[], datetime],
        ignore_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._keys = keys
        self._clock = clock
        self._ignore_hosts = ignore_hosts

    def may_read_restricted(self, conn: Connection, actor: str) -> bool:
        found = conn.execute(
            select(portal_restricted_readers.c.username).where(portal_restricted_readers.c.username == actor)
        ).first()
        return found is not None

    def grant_restricted(self, actor: str, username: str) -> None:
        with self._audit.transaction() as conn:
            if not self.may_read_restricted(conn, username):
                conn.execute(
                    portal_restricted_readers.insert().values(
                        username=username, granted_by=actor, granted_at=self._clock()
                    )
                )
            self._audit.append(
                actor, Action.CHANGE, REPORT_OBJECT, None, None, {"op": "grant-restricted", "to": username}, conn=conn
            )

    def _reports(self, conn: Connection, with_restricted: bool) -> list[Report]:
        query = select(portal_reports).where(portal_reports.c.status != ReportStatus.INVALIDATED.value)
        if not with_restricted:
            query = query.where(portal_reports.c.restricted.is_(False))
        return [records.report_from_row(r._mapping) for r in conn.execute(query)]

    def _campaigns(self, conn: Connection, reports: list[Report]) -> list[Campaign]:
        summaries = [
            ReportSummary(
                r.reference,
                r.category,
                r.role in (ReporterRole.VICTIM, ReporterRole.ON_BEHALF),
                r.reporter,
                (r.money.amount, r.money.currency) if r.money else None,
            )
            for r in reports
        ]
        rows = conn.execute(
            select(portal_identifiers.c.reference, portal_identifiers.c.kind, portal_identifiers.c.value)
        )
        return group(summaries, [(a, b, c) for a, b, c in rows], self._ignore_hosts)

    def queue(self, actor: str, status: str | None = None, limit: int = 200) -> list[QueueItem]:
        """Urgent first, then oldest first (fairness): each with the campaign it belongs to."""
        with self._audit.transaction() as conn:
            reports = self._reports(conn, self.may_read_restricted(conn, actor))
            by_ref = {ref: c for c in self._campaigns(conn, reports) for ref in c.references}
            wanted = [r for r in reports if (r.status.value == status if status else r.status.value in OPEN)]
            wanted.sort(key=lambda r: (not r.urgent, r.received_at))
            items = [QueueItem(r, by_ref.get(r.reference)) for r in wanted[:limit]]
            self._audit.append(
                actor, Action.SEARCH, REPORT_OBJECT, None, None, {"status": status, "results": len(items)}, conn=conn
            )
        return items

    def campaigns(self, actor: str) -> list[Campaign]:
        with self._audit.transaction() as conn:
            found = self._campaigns(conn, self._reports(conn, self.may_read_restricted(conn, actor)))
            self._audit.append(actor, Action.SEARCH, REPORT_OBJECT, None, None, {"campaigns": len(found)}, conn=conn)
        return found

    def _require(self, conn: Connection, actor: str, reference: str) -> Report:
        report = records.load_report(conn, reference)
        if report.restricted and not self.may_read_restricted(conn, actor):
            raise _RefusalError("need-to-know")
        return report

    @contextmanager
    def _tx(self, actor: str, reference: str) -> Iterator[Connection]:
        """A write-locked transaction whose policy refusals are rolled back, then audited on their own."""
        try:
            with self._audit.transaction() as conn:
                yield conn
        except _RefusalError as refused:
            self._refuse(actor, reference, refused.refusal)

    def _refuse(self, actor: str, reference: str, refusal: str) -> NoReturn:
        """Roll the attempt back (by raising), then record the refusal on its own."""
        self._audit.append(actor, Action.REFUSED, REPORT_OBJECT, reference, None, {"refusal": refusal})
        if refusal == "four-eyes":
            raise FourEyesError(f"{actor} made the decision under appeal; someone else must review it")
        raise AccessDeniedError(f"{actor} is not on the restricted reports list (need-to-know)")

    def show(self, actor: str, reference: str, purpose: str | None = None, view_content: bool = False) -> ReportFile:
        """One report, audited; restricted content only with ``view_content`` and a purpose."""
        if view_content and not purpose:
            raise UsageError("viewing restricted content needs a purpose")
        with self._tx(actor, reference) as conn:
            report = self._require(conn, actor, reference)
            withheld = report.restricted and not view_content
            campaign = next(
                (c.id for c in self._campaigns(conn, self._reports(conn, True)) if reference in c.references), None
            )
            found = ReportFile(
                report=report if not withheld else _withheld(report),
                identifiers=records.identifiers_of(conn, reference),
                attachments=records.attachments_of(conn, reference),
                events=records.events_of(conn, reference),
                decisions=records.decisions_of(conn, reference),
                appeals=records.appeals_of(conn, reference),
                links=records.links_of(conn, reference),
                content_withheld=withheld,
                campaign=campaign,
            )
            details = {"content": view_content} if report.restricted else {}
            self._audit.append(actor, Action.READ, REPORT_OBJECT, reference, purpose, details, conn=conn)
        return found

    def contact(self, actor: str, reference: str, purpose: str) -> Contact | None:
        """Decrypt the reporter's contact details: a reveal, so it needs a purpose and is audited."""
        if not purpose.strip():
            raise UsageError("revealing a reporter's contact needs a purpose")
        with self._tx(actor, reference) as conn:
            self._require(conn, actor, reference)
            row = conn.execute(
                select(
                    portal_reports.c.contact_key_id, portal_reports.c.contact_nonce, portal_reports.c.contact_ciphertext
                ).where(portal_reports.c.reference == reference)
            ).one()
            self._audit.append(actor, Action.REVEAL, REPORT_OBJECT, reference, purpose, {"what": "contact"}, conn=conn)
        if row.contact_ciphertext is None:
            return None
        return self._keys.open(reference, SealedContact(row.contact_key_id, row.contact_nonce, row.contact_ciphertext))

    def start_review(self, actor: str, reference: str) -> None:
        self._move(actor, reference, "review", ReportStatus.UNDER_REVIEW, None, {ReportStatus.RECEIVED})

    def decide(self, actor: str, reference: str, outcome: Outcome, reasons: str, public_reasons: str = "") -> int:
        """Record a decision with its statement of reasons; the report takes the outcome as status."""
        if not reasons.strip():
            raise UsageError("a decision needs a statement of reasons")
        return self._decision(actor, reference, outcome, reasons, public_reasons, None)

    def _decision(
        self, actor: str, reference: str, outcome: Outcome, reasons: str, public: str, appeal_of: int | None
    ) -> int:
        now = self._clock()
        with self._tx(actor, reference) as conn:
            report = self._require(conn, actor, reference)
            allowed = DECIDED if appeal_of is not None else {ReportStatus.RECEIVED, ReportStatus.UNDER_REVIEW}
            if report.status not in allowed:
                raise TransitionError(f"{reference} is {report.status.value}; a decided report changes only on appeal")
            new_id = conn.execute(
                portal_decisions.insert().values(
                    reference=reference,
                    outcome=outcome.value,
                    reasons=reasons,
                    public_reasons=public.strip() or _DEFAULT_PUBLIC[outcome],
                    decided_by=actor,
                    decided_at=now,
                    appeal_of=appeal_of,
                )
            ).inserted_primary_key
            assert new_id is not None
            details = {"op": "decision", "outcome": outcome.value, "decision": int(new_id[0]), "appeal": appeal_of}
            entry = self._audit.append(actor, Action.CHANGE, REPORT_OBJECT, reference, None, details, conn=conn)
            records.add_event(conn, reference, now, actor, "decision", entry.seq, outcome.value, reasons)
            conn.execute(
                update(portal_reports)
                .where(portal_reports.c.reference == reference)
                .values(status=outcome.value, updated_at=now)
            )
        return int(new_id[0])

    def review_appeal(
        self, actor: str, appeal_id: int, outcome: Outcome, reasons: str, public_reasons: str = ""
    ) -> int:
        """Decide again on appeal; upheld when the outcome stays, overturned when it changes."""
        if not reasons.strip():
            raise UsageError("an appeal review needs a statement of reasons")
        with self._engine.connect() as conn:
            row = conn.execute(select(portal_appeals).where(portal_appeals.c.id == appeal_id)).first()
            if row is None:
                raise NotFoundError(f"no appeal {appeal_id}")
            appeal = records.appeal_from_row(row)
            first = next(d for d in records.decisions_of(conn, appeal.reference) if d.id == appeal.decision_id)
        if appeal.status != "open":
            raise TransitionError(f"appeal {appeal_id} was already reviewed ({appeal.status})")
        if first.decided_by == actor:
            self._refuse(actor, appeal.reference, "four-eyes")
        decision = self._decision(actor, appeal.reference, outcome, reasons, public_reasons, appeal_id)
        with self._audit.transaction() as conn:
            conn.execute(
                update(portal_appeals)
                .where(portal_appeals.c.id == appeal_id)
                .values(
                    status="upheld" if outcome is first.outcome else "overturned",
                    reviewed_by=actor,
                    reviewed_at=self._clock(),
                    review_reasons=reasons,
                )
            )
        return decision

    def open_appeals(self, actor: str) -> list[tuple[int, str, str]]:
        """(appeal id, reference, first decider) of appeals waiting for review."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(portal_appeals.c.id, portal_appeals.c.reference, portal_decisions.c.decided_by)
                .join(portal_decisions, portal_decisions.c.id == portal_appeals.c.decision_id)
                .where(portal_appeals.c.status == "open")
                .order_by(portal_appeals.c.id)
            )
            return [(int(a), r, d) for a, r, d in rows]

    def link(self, actor: str, reference: str, kind: str, target: str) -> None:
        """Tie a report to an alert or a case (the target must exist)."""
        table, column = {"alert": (alerts, alerts.c.id), "case": (cases, cases.c.id)}.get(kind, (None, None))
        if table is None or column is None:
            raise UsageError(f"can link a report to an alert or a case, not {kind!r}")
        now = self._clock()
        with self._tx(actor, reference) as conn:
            self._require(conn, actor, reference)
            if conn.execute(select(column).where(column == target)).first() is None:
                raise NotFoundError(f"no {kind} {target!r}")
            if (
                conn.execute(
                    select(portal_links.c.id).where(
                        portal_links.c.reference == reference,
                        portal_links.c.kind == kind,
                        portal_links.c.target == target,
                    )
                ).first()
                is None
            ):
                conn.execute(
                    portal_links.insert().values(reference=reference, kind=kind, target=target, actor=actor, at=now)
                )
            entry = self._audit.append(
                actor, Action.CHANGE, REPORT_OBJECT, reference, None, {"op": "link", kind: target}, conn=conn
            )
            records.add_event(conn, reference, now, actor, "linked", entry.seq, body=f"{kind} {target}")

    def invalidate(self, actor: str, pseudonym: str, reason: str) -> list[str]:
        """Close every report from one bad-faith reporter (contact or client pseudonym), audited once."""
        if not reason.strip():
            raise UsageError("invalidating reports needs a reason")
        now = self._clock()
        with self._audit.transaction() as conn:
            refs = sorted(
                conn.execute(
                    select(portal_reports.c.reference).where(
                        (portal_reports.c.reporter == pseudonym) | (portal_reports.c.client == pseudonym),
                        portal_reports.c.status != ReportStatus.INVALIDATED.value,
                    )
                ).scalars()
            )
            if not refs:
                raise NotFoundError(f"no open reports from {pseudonym!r}")
            entry = self._audit.append(
                actor,
                Action.CHANGE,
                REPORT_OBJECT,
                None,
                reason,
                {"op": "invalidate", "from": pseudonym, "reports": refs},
                conn=conn,
            )
            for ref in refs:
                records.add_event(conn, ref, now, actor, "invalidated", entry.seq, ReportStatus.INVALIDATED, reason)
            conn.execute(
                update(portal_reports)
                .where(portal_reports.c.reference.in_(refs))
                .values(status=ReportStatus.INVALIDATED.value, updated_at=now)
            )
        return refs

    def stats(self, actor: str) -> PortalStats:
        with self._audit.transaction() as conn:
            every = [records.report_from_row(r._mapping) for r in conn.execute(select(portal_reports))]
            live = [r for r in every if r.status is not ReportStatus.INVALIDATED]
            campaigns = self._campaigns(conn, live)
            self._audit.append(
                actor, Action.READ, REPORT_OBJECT, None, "statistics", {"reports": len(every)}, conn=conn
            )
        money: dict[str, Decimal] = defaultdict(Decimal)
        for r in live:
            if r.money is not None:
                money[r.money.currency] += Decimal(r.money.amount)
        return PortalStats(
            by_category=tuple(sorted(Counter(r.category for r in every).items())),
            by_status=tuple(sorted(Counter(r.status.value for r in every).items())),
            urgent_open=sum(1 for r in live if r.urgent and r.status.value in OPEN),
            restricted=sum(1 for r in every if r.restricted),
            campaigns=len(campaigns),
            money_lost=tuple((c, str(v)) for c, v in sorted(money.items())),
        )

    def _move(
        self, actor: str, reference: str, op: str, to: ReportStatus, body: str | None, allowed: set[ReportStatus]
    ) -> None:
        now = self._clock()
        with self._tx(actor, reference) as conn:
            report = self._require(conn, actor, reference)
            if report.status not in allowed:
                raise TransitionError(f"{reference} is {report.status.value}; cannot {op} it")
            entry = self._audit.append(actor, Action.CHANGE, REPORT_OBJECT, reference, None, {"op": op}, conn=conn)
            records.add_event(conn, reference, now, actor, op, entry.seq, to.value, body)
            conn.execute(
                update(portal_reports)
                .where(portal_reports.c.reference == reference)
                .values(status=to.value, updated_at=now)
            )


_DEFAULT_PUBLIC = {
    Outcome.ACTION_TAKEN: "We acted on your report.",
    Outcome.REFERRED: "We passed your report to the competent authorities.",
    Outcome.NO_ACTION: "We looked at your report and did not find grounds to act.",
}


def _withheld(report: Report) -> Report:
    """The same report with its narrative replaced: restricted content is handled by hash."""
    return replace(
        report, narrative="(withheld: restricted report; view the content only with a purpose)", locations=()
    )
