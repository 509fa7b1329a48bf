"""Console: the alert queue (filters, bulk triage), one alert (actions, seal, link), identity reveal."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from watchhouse.core.identity import is_pseudonym
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.evidence.seal_alert import seal_alert_evidence
from watchhouse.office.triage.models import AlertStatus, Verdict
from watchhouse.storage.alert_store import QueueCursor
from watchhouse.web.actions import TriageChange, alert_filter, apply_triage, case_link, reveal
from watchhouse.web.auth import form_actor, page_actor
from watchhouse.web.console.render import back_to, page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=10_000)]
Name = Annotated[str, Form(max_length=200)]


@router.get("/alerts")
def queue(
    request: Request,
    session: Annotated[Session, Depends(page_actor(Permission.ALERT_READ))],
    crime_code: str = "",
    min_severity: str = "",
    detector: str = "",
    subject: str = "",
    status: str = "",
    assignee: str = "",
    since: str = "",
    until: str = "",
    after: Annotated[str, Query(max_length=400)] = "",
    notice: str = "",
) -> HTMLResponse:
    filters = {
        "crime_code": crime_code,
        "min_severity": min_severity,
        "detector": detector,
        "subject": subject,
        "status": status,
        "assignee": assignee,
        "since": since,
        "until": until,
    }
    flt = alert_filter(**filters, limit=ctx_of(request).settings.page_size)
    if after:
        flt = replace(flt, after=QueueCursor.decode(after))
    found = ctx_of(request).office.triage.page(session.account.username, flt)
    following = {**filters, "after": found.next.encode()} if found.next else None
    return page(
        request,
        session,
        "alerts.html",
        views=found.views,
        total=found.total,
        total_capped=found.total_capped,
        paged=bool(after),
        next_query=urlencode({k: v for k, v in following.items() if v}) if following else "",
        first_query=urlencode({k: v for k, v in filters.items() if v}),
        filters=filters,
        crimes=[c.value for c in CrimeCode],
        statuses=[s.value for s in AlertStatus],
        verdicts=[v.value for v in Verdict],
        notice=notice,
    )


@router.post("/alerts/bulk")
def bulk(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.ALERT_TRIAGE))],
    action: Annotated[str, Form(max_length=20)],
    ids: Annotated[list[str] | None, Form(max_length=500)] = None,
    value: Name = "",
    reason: Text = "",
) -> RedirectResponse:
    changed = apply_triage(
        ctx_of(request).office, session.account.username, ids or [], TriageChange(action, value, reason)
    )
    return back_to("alerts", notice=f"{len(changed)} alert(s) changed")


@router.get("/alerts/{alert_id}")
def alert_page(
    request: Request,
    session: Annotated[Session, Depends(page_actor(Permission.ALERT_READ))],
    alert_id: str,
    notice: str = "",
) -> HTMLResponse:
    view, history = ctx_of(request).office.triage.show(session.account.username, alert_id)
    return page(
        request,
        session,
        "alert.html",
        view=view,
        history=history,
        pseudonymous=is_pseudonym(view.alert.subject.value),
        statuses=[s.value for s in AlertStatus],
        verdicts=[v.value for v in Verdict],
        notice=notice,
    )


@router.post("/alerts/{alert_id}/triage")
def triage(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.ALERT_TRIAGE))],
    alert_id: str,
    action: Annotated[str, Form(max_length=20)],
    value: Name = "",
    reason: Text = "",
    suppress_days: Annotated[int | None, Form(ge=1, le=365)] = None,
) -> RedirectResponse:
    change = TriageChange(action, value, reason, suppress_days)
    changed = apply_triage(ctx_of(request).office, session.account.username, [alert_id], change)
    return back_to("alerts", alert_id, notice="changed" if changed else "nothing to change")


@router.post("/alerts/{alert_id}/seal")
def seal(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.EVIDENCE_SEAL))],
    alert_id: str,
    purpose: Text = "",
) -> RedirectResponse:
    office = ctx_of(request).office
    item, _new = seal_alert_evidence(
        alert_id,
        alerts=office.alerts,
        evidence=office.evidence,
        audit=office.audit,
        actor=session.account.username,
        purpose=purpose or None,
    )
    return back_to("evidence", item.id, notice="sealed")


@router.post("/alerts/{alert_id}/link")
def link(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.CASE_WRITE))],
    alert_id: str,
    case: Annotated[str, Form(max_length=40)],
    reason: Text = "",
) -> RedirectResponse:
    case_link(ctx_of(request).office, session.account.username, case, "alert", alert_id, False, reason)
    return back_to("alerts", alert_id, notice=f"linked to {case.strip().upper()}")


@router.post("/reveal")
def reveal_page(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.IDENTITY_REVEAL))],
    pseudonym: Name,
    purpose: Text,
    case: Annotated[str, Form(max_length=40)],
) -> HTMLResponse:
    identifier = reveal(ctx_of(request).office, session.account.username, pseudonym, purpose, case)
    return page(request, session, "reveal.html", pseudonym=pseudonym, identifier=identifier, case=case.strip().upper())
