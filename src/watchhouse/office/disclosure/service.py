"""The disclosure service: an authority's request for user data, from receipt to closing, on the record.

Why it is shaped like this:

* Nothing is opened without a legal instrument, its reference number and its issuer — except an
  emergency request, which may come first by phone; it then owes its instrument within
  :attr:`DisclosurePolicy.emergency_followup` and is listed as overdue until it arrives.
* Approval is counted from the append-only event history, never from a flag: a request becomes
  ``approved`` when two distinct people (one for an emergency, with a written justification), none
  of them its requester, have signed off; production re-counts before anything leaves.
* What is produced is sealed as evidence, linked to a case and recorded in custody as
  ``disclosed``, so the evidence record and the request record cannot tell different stories.
* Every policy refusal rolls back and is then audited as ``refused`` (as cases do), so the log
  shows who tried to approve their own request, or to produce with one signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.core.identity import is_pseudonym
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases import records as case_records
from watchhouse.office.cases.service import CaseService, RefusalError
from watchhouse.office.disclosure import records
from watchhouse.office.disclosure.countries import country_code
from watchhouse.office.disclosure.models import (
    EMERGENCY_APPROVALS,
    REQUIRED_APPROVALS,
    TRANSITIONS,
    Authority,
    DisclosurePolicy,
    DisclosureRequest,
    DisclosureStatus,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.disclosure.tables import disclosure_events, disclosure_requests
from watchhouse.office.errors import FourEyesError, LegalBasisError, TransitionError
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.evidence.service import EvidenceService

_NUMBER = re.compile(r"^DR-(\d{4})-(\d{4,})$")


class DisclosureService:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        cases: CaseService,
        evidence: EvidenceService,
        clock: Callable[[], datetime],
        policy: DisclosurePolicy | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._cases = cases
        self._evidence = evidence
        self._clock = clock
        self._policy = policy or DisclosurePolicy()

    # -- receiving ---------------------------------------------------------------------------------

    def open(
        self,
        actor: str,
        authority: Authority,
        request_type: RequestType,
        legal_basis: LegalBasis | None,
        scope: Scope,
        notice: UserNotice,
        *,
        nondisclosure_order: bool = False,
        nondisclosure_until: date | None = None,
        justification: str | None = None,
        case: str | None = None,
    ) -> DisclosureRequest:
        """Register a request as received; refused (and audited) without a legal basis."""
        authority = Authority(_required(authority.name, "the authority's name"), _country(authority.country))
        _check_scope(scope)
        _check_notice(notice, nondisclosure_order, nondisclosure_until)
        basis = _complete(legal_basis)
        emergency = request_type is RequestType.EMERGENCY
        if basis is None and not emergency:
            self._refuse(
                actor,
                None,
                "open",
                RefusalError(
                    "legal-basis",
                    LegalBasisError(
                        "refused: a disclosure request needs its legal instrument, reference number and issuer"
                    ),
                ),
            )
        if emergency and not (justification or "").strip():
            raise UsageError("an emergency request needs a justification (the imminent danger it is about)")
        now = self._clock()
        with self._acting(actor, None, "open") as conn:
            self._audit.serialise(conn)
            case_id = self._cases.require_access(conn, case, actor).id if case else None
            request = DisclosureRequest(
                id=_next_number(conn, now.year),
                authority=authority,
                request_type=request_type,
                legal_basis=basis,
                scope=scope,
                nondisclosure_order=nondisclosure_order,
                nondisclosure_until=nondisclosure_until,
                notice=notice,
                justification=(justification or "").strip() or None,
                status=DisclosureStatus.RECEIVED,
                requester=actor,
                case_id=case_id,
                received_at=now,
                updated_at=now,
                followup_due=now + self._policy.emergency_followup if emergency and basis is None else None,
                followup_received_at=None,
            )
            conn.execute(disclosure_requests.insert().values(**records.request_row(request)))
            self._event(
                conn, request.id, actor, "received", None, None, request.status, None, Action.CREATE, _summary(request)
            )
            return request

    # -- reading -----------------------------------------------------------------------------------

    def show(self, actor: str, ref: str, purpose: str | None = None) -> DisclosureRequest:
        with self._audit.transaction() as conn:
            request = records.load(conn, ref)
            self._audit.append(actor, Action.READ, ObjectType.DISCLOSURE, request.id, purpose, {}, conn=conn)
            return request

    def search(
        self, actor: str, status: DisclosureStatus | None = None, purpose: str | None = None
    ) -> list[DisclosureRequest]:
        query = select(disclosure_requests.c.id).order_by(disclosure_requests.c.received_at.desc())
        if status is not None:
            query = query.where(disclosure_requests.c.status == status.value)
        with self._audit.transaction() as conn:
            found = records.load_all(conn, query)
            self._audit.append(
                actor,
                Action.SEARCH,
                ObjectType.DISCLOSURE,
                None,
                purpose,
                {"status": status.value if status else None, "results": len(found)},
                conn=conn,
            )
            return found

    def overdue(self, actor: str, purpose: str | None = None) -> list[DisclosureRequest]:
        """Emergency requests whose follow-up legal instrument is past due (the list is audited)."""
        now = self._clock()
        query = (
            select(disclosure_requests.c.id)
            .where(
                disclosure_requests.c.followup_due.is_not(None),
                disclosure_requests.c.followup_received_at.is_(None),
                disclosure_requests.c.followup_due < now,
            )
            .order_by(disclosure_requests.c.followup_due)
        )
        with self._audit.transaction() as conn:
            found = records.load_all(conn, query)
            self._audit.append(
                actor,
                Action.SEARCH,
                ObjectType.DISCLOSURE,
                None,
                purpose,
                {"view": "overdue-followups", "results": len(found), "ids": [r.id for r in found]},
                conn=conn,
            )
            return found

    def now(self) -> datetime:
        return self._clock()

    # -- the workflow --------------------------------------------------------------------------------

    def review(self, actor: str, ref: str, reason: str | None = None) -> DisclosureRequest:
        return self._move(actor, ref, DisclosureStatus.UNDER_REVIEW, reason)

    def reject(self, actor: str, ref: str, reason: str) -> DisclosureRequest:
        if not reason.strip():
            raise UsageError("rejecting a request needs a reason (it is sent to the authority)")
        return self._move(actor, ref, DisclosureStatus.REJECTED, reason)

    def approve(self, actor: str, ref: str, reason: str | None = None) -> DisclosureRequest:
        """One sign-off; the request becomes ``approved`` once enough distinct approvers have signed."""
        with self._acting(actor, ref, "approve") as conn:
            request = records.load(conn, ref)
            if request.status is not DisclosureStatus.UNDER_REVIEW:
                raise RefusalError(
                    "transition",
                    TransitionError(f"{request.id} is {request.status.value}; only a request under review is approved"),
                )
            if actor == request.requester:
                raise RefusalError(
                    "requester", FourEyesError(f"{request.id}: its requester ({actor}) cannot approve it")
                )
            if actor in request.approvers:
                raise RefusalError(
                    "same-approver", FourEyesError(f"{request.id}: {actor} has already approved; a second person must")
                )
            if request.emergency and not (reason or "").strip():
                raise UsageError(f"{request.id} is an emergency: the sign-off needs a written justification (--reason)")
            if not request.emergency and request.legal_basis is None:
                raise RefusalError("legal-basis", LegalBasisError(f"{request.id} has no legal basis to approve"))
            self._event(conn, request.id, actor, records.APPROVAL, None, None, None, reason, Action.CHANGE)
            needed = EMERGENCY_APPROVALS if request.emergency else REQUIRED_APPROVALS
            if len(request.approvers) + 1 >= needed:
                self._set_status(conn, request, actor, DisclosureStatus.APPROVED, "approvals complete")
            return records.load(conn, request.id)

    def produce(
        self,
        actor: str,
        ref: str,
        data: bytes,
        *,
        name: str,
        media_type: str = "application/octet-stream",
        case: str | None = None,
        tool: str = "watchhouse disclosure produce",
    ) -> DisclosureRequest:
        """Seal what is handed over as evidence, link it to the case and record the disclosure in custody.

        Preservation requests keep the data sealed without disclosing it: custody shows
        ``collected`` only, and the transparency report does not count them as "data produced".
        """
        with self._acting(actor, ref, "produce") as conn:
            request = records.load(conn, ref)
            self._check_move(request, DisclosureStatus.PRODUCED)
            needed = EMERGENCY_APPROVALS if request.emergency else REQUIRED_APPROVALS
            approvers = [a for a in request.approvers if a != request.requester]
            if len(approvers) < needed:
                raise RefusalError(
                    "four-eyes", FourEyesError(f"{request.id} has {len(approvers)} approval(s); {needed} needed")
                )
            case_id = case.strip().upper() if case else request.case_id
            if case_id is None:
                raise UsageError(f"{request.id} is not linked to a case; give the case (--case) it is produced for")
            self._cases.require_access(conn, case_id, actor)
        purpose = f"disclosure {request.id}"
        item, _ = self._evidence.seal(
            data,
            Acquisition(
                original_name=name,
                media_type=media_type,
                source=f"disclosure {request.id} to {request.authority.name} ({request.authority.country})",
                method="produced for a disclosure request",
                tool=tool,
                details={"request": request.id, "type": request.request_type.value},
            ),
            actor,
            purpose,
        )
        with self._engine.connect() as conn:
            linked = item.id in case_records.linked(conn, case_id, "evidence")
        if not linked:
            self._cases.link_evidence(actor, case_id, item.id, purpose)
        preserved = request.request_type is RequestType.PRESERVATION
        if not preserved:
            self._evidence.record_disclosure(
                item.id,
                actor,
                purpose,
                {
                    "request": request.id,
                    "authority": request.authority.name,
                    "country": request.authority.country,
                    "legal_reference": request.legal_basis.reference if request.legal_basis else None,
                },
            )
        with self._acting(actor, ref, "produce") as conn:
            current = records.load(conn, ref)
            self._check_move(current, DisclosureStatus.PRODUCED)
            conn.execute(
                update(disclosure_requests).where(disclosure_requests.c.id == current.id).values(case_id=case_id)
            )
            self._event(
                conn,
                current.id,
                actor,
                records.PRODUCED,
                item.id,
                None,
                None,
                None,
                Action.CHANGE if preserved else Action.DISCLOSE,
                {"evidence": item.id, "case": case_id, "preserved_only": preserved, "sha256": item.sha256},
            )
            self._set_status(conn, current, actor, DisclosureStatus.PRODUCED, None)
            return records.load(conn, current.id)

    def followup(self, actor: str, ref: str, basis: LegalBasis) -> DisclosureRequest:
        """Attach the legal instrument an emergency request was owed."""
        complete = _complete(basis)
        if complete is None:
            raise UsageError("the follow-up needs its legal instrument, reference number and issuer")
        with self._acting(actor, ref, "followup") as conn:
            request = records.load(conn, ref)
            if request.followup_due is None or request.followup_received_at is not None:
                raise UsageError(f"{request.id} is not waiting for a follow-up legal instrument")
            now = self._clock()
            conn.execute(
                update(disclosure_requests)
                .where(disclosure_requests.c.id == request.id)
                .values(
                    legal_instrument=complete.instrument,
                    legal_reference=complete.reference,
                    legal_issuer=complete.issuer,
                    followup_received_at=now,
                    updated_at=now,
                )
            )
            late = request.followup_overdue(now)
            self._event(
                conn,
                request.id,
                actor,
                "followup",
                None,
                None,
                None,
                None,
                Action.CHANGE,
                {"legal_basis": complete.to_dict(), "late": late},
            )
            return records.load(conn, request.id)

    def close(self, actor: str, ref: str, reason: str | None = None) -> DisclosureRequest:
        with self._acting(actor, ref, "close") as conn:
            request = records.load(conn, ref)
            if request.followup_due is not None and request.followup_received_at is None:
                raise RefusalError(
                    "followup",
                    LegalBasisError(f"{request.id} cannot close before its follow-up legal instrument arrives"),
                )
            self._check_move(request, DisclosureStatus.CLOSED)
            self._set_status(conn, request, actor, DisclosureStatus.CLOSED, reason)
            return records.load(conn, request.id)

    # -- internals ---------------------------------------------------------------------------------

    def _move(self, actor: str, ref: str, to: DisclosureStatus, reason: str | None) -> DisclosureRequest:
        with self._acting(actor, ref, f"transition:{to.value}") as conn:
            request = records.load(conn, ref)
            self._check_move(request, to)
            self._set_status(conn, request, actor, to, reason)
            return records.load(conn, request.id)

    def _check_move(self, request: DisclosureRequest, to: DisclosureStatus) -> None:
        if to not in TRANSITIONS[request.status]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[request.status])) or "none (final)"
            raise RefusalError(
                "transition",
                TransitionError(
                    f"{request.id} cannot go from {request.status.value} to {to.value}; allowed: {allowed}"
                ),
            )

    def _set_status(
        self, conn: Connection, request: DisclosureRequest, actor: str, to: DisclosureStatus, reason: str | None
    ) -> None:
        conn.execute(
            update(disclosure_requests)
            .where(disclosure_requests.c.id == request.id)
            .values(status=to.value, updated_at=self._clock())
        )
        self._event(conn, request.id, actor, "status", None, request.status, to, reason, Action.CHANGE)

    @contextmanager
    def _acting(self, actor: str, ref: str | None, attempted: str) -> Iterator[Connection]:
        try:
            with self._audit.transaction() as conn:
                yield conn
        except RefusalError as refusal:
            self._refuse(actor, ref.strip().upper() if ref else None, attempted, refusal)

    def _refuse(self, actor: str, object_id: str | None, attempted: str, refusal: RefusalError) -> NoReturn:
        self._cases.refuse(actor, ObjectType.DISCLOSURE, object_id, attempted, refusal)
        raise refusal.error from None

    def _event(
        self,
        conn: Connection,
        request_id: str,
        actor: str,
        kind: str,
        target: str | None,
        old: str | None,
        new: str | None,
        reason: str | None,
        action: Action,
        extra: dict[str, Any] | None = None,
    ) -> None:
        details = {"op": kind, "target": target, "old": old, "new": new, **(extra or {})}
        entry = self._audit.append(actor, action, ObjectType.DISCLOSURE, request_id, reason, details, conn=conn)
        conn.execute(
            disclosure_events.insert().values(
                request_id=request_id,
                at=self._clock(),
                actor=actor,
                kind=kind,
                target=target,
                old_value=old,
                new_value=new,
                reason=reason,
                audit_seq=entry.seq,
            )
        )


def _required(text: str, what: str) -> str:
    if not text or not text.strip():
        raise UsageError(f"a disclosure request needs {what}")
    return text.strip()


def _country(text: str) -> str:
    try:
        return country_code(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _complete(basis: LegalBasis | None) -> LegalBasis | None:
    """The basis with its parts trimmed, or ``None`` when any of instrument, reference, issuer is missing."""
    if basis is None:
        return None
    parts = (basis.instrument.strip(), basis.reference.strip(), basis.issuer.strip())
    return LegalBasis(*parts) if all(parts) else None


def _check_scope(scope: Scope) -> None:
    if not scope.accounts:
        raise UsageError("the scope names no account: give at least one pseudonym")
    bad = [a for a in scope.accounts if not is_pseudonym(a)]
    if bad:
        raise UsageError(f"scope accounts must be pseudonyms (p-...), not {bad[0]!r}")
    if scope.start > scope.end:
        raise UsageError(f"the scope's date range is reversed: {scope.start} is after {scope.end}")
    if not scope.categories:
        raise UsageError("the scope names no data category")


def _check_notice(notice: UserNotice, nondisclosure_order: bool, until: date | None) -> None:
    if until is not None and not nondisclosure_order:
        raise UsageError("a non-disclosure expiry was given without a non-disclosure order")
    if notice.decision is NoticeDecision.NOTIFY and nondisclosure_order:
        raise UsageError("a non-disclosure order forbids notifying the user now: choose delay or not_notify")
    if notice.decision is NoticeDecision.DELAY and not ((notice.reason or "").strip() and notice.until):
        raise UsageError("delaying user notice needs a reason and the date the user will be told")
    if notice.decision is NoticeDecision.NOT_NOTIFY and not (notice.reason or "").strip():
        raise UsageError("not notifying the user needs the legal reason")


def _summary(request: DisclosureRequest) -> dict[str, Any]:
    """What the audit entry of a new request says: counts and references, never the accounts themselves."""
    return {
        "type": request.request_type.value,
        "authority": request.authority.name,
        "country": request.authority.country,
        "legal_reference": request.legal_basis.reference if request.legal_basis else None,
        "accounts": len(request.scope.accounts),
        "case": request.case_id,
        "followup_due": request.followup_due.isoformat() if request.followup_due else None,
    }


def _next_number(conn: Connection, year: int) -> str:
    prefix = f"DR-{year:04d}-"
    existing = conn.execute(select(disclosure_requests.c.id).where(disclosure_requests.c.id.startswith(prefix)))
    highest = max((int(m.group(2)) for i in existing.scalars() if (m := _NUMBER.match(i))), default=0)
    return f"{prefix}{highest + 1:04d}"
