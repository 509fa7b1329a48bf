"""``/api/v1/alerts``: the triage queue; every search, read and change is audited by the service.

The queue pages by keyset: each answer carries ``next``, an opaque cursor to pass back as ``after``
for the following page (``null`` on the last one), and ``total``, the number of matches counted up
to a cap (``total_capped`` says the real number is larger).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.storage.alert_store import QueueCursor
from watchhouse.web.actions import TriageChange, alert_filter, apply_triage
from watchhouse.web.api.schemas import BulkBody, TriageBody
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Reader = Annotated[Session, Depends(api_actor(Permission.ALERT_READ))]
Triager = Annotated[Session, Depends(api_actor(Permission.ALERT_TRIAGE))]


@router.get("")
def search(
    request: Request,
    session: Reader,
    crime_code: str | None = None,
    min_severity: str | None = None,
    detector: str | None = None,
    subject: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(max_length=400)] = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    flt = alert_filter(
        crime_code=crime_code,
        min_severity=min_severity,
        detector=detector,
        subject=subject,
        status=status,
        assignee=assignee,
        since=since,
        until=until,
        limit=limit,
    )
    if after:
        flt = replace(flt, after=QueueCursor.decode(after))
    page = ctx_of(request).office.triage.page(session.account.username, flt, purpose)
    return {
        "alerts": [v.to_dict() for v in page.views],
        "count": len(page.views),
        "total": page.total,
        "total_capped": page.total_capped,
        "next": page.next.encode() if page.next else None,
    }


@router.get("/{alert_id}")
def show(request: Request, session: Reader, alert_id: str, purpose: str | None = None) -> dict[str, Any]:
    view, history = ctx_of(request).office.triage.show(session.account.username, alert_id, purpose)
    return {**view.to_dict(), "history": [h.to_dict() for h in history]}


def _one(request: Request, session: Session, alert_id: str, action: str, body: TriageBody) -> dict[str, Any]:
    change = TriageChange(action, body.value, body.reason, body.suppress_days, body.suppress_reason)
    changed = apply_triage(ctx_of(request).office, session.account.username, [alert_id], change)
    return {"changed": changed}


@router.post("/{alert_id}/status")
def set_status(request: Request, session: Triager, alert_id: str, body: TriageBody) -> dict[str, Any]:
    return _one(request, session, alert_id, "status", body)


@router.post("/{alert_id}/assign")
def assign(request: Request, session: Triager, alert_id: str, body: TriageBody) -> dict[str, Any]:
    return _one(request, session, alert_id, "assign", body)


@router.post("/{alert_id}/verdict")
def verdict(request: Request, session: Triager, alert_id: str, body: TriageBody) -> dict[str, Any]:
    return _one(request, session, alert_id, "verdict", body)


@router.post("/bulk")
def bulk(request: Request, session: Triager, body: BulkBody) -> dict[str, Any]:
    """Ids, or a filter (which must narrow: a bulk action never touches the whole queue by accident)."""
    office, actor = ctx_of(request).office, session.account.username
    if (body.ids is None) == (body.filter is None):
        raise UsageError("give either ids or a filter")
    if body.ids is not None:
        ids = body.ids
    else:
        assert body.filter is not None
        ids = office.triage.select_ids(actor, alert_filter(**body.filter.model_dump()), "bulk triage")
    change = TriageChange(body.action, body.value, body.reason, body.suppress_days, body.suppress_reason)
    return {"selected": len(ids), "changed": apply_triage(office, actor, ids, change)}
