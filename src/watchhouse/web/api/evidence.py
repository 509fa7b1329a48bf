"""``/api/v1/evidence``: list, look (a custody event), seal an alert's lines, export with re-check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.evidence.seal_alert import seal_alert_evidence
from watchhouse.web.actions import export_bytes
from watchhouse.web.api.schemas import ExportBody, SealAlertBody
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
Reader = Annotated[Session, Depends(api_actor(Permission.EVIDENCE_READ))]
Sealer = Annotated[Session, Depends(api_actor(Permission.EVIDENCE_SEAL))]
Exporter = Annotated[Session, Depends(api_actor(Permission.EVIDENCE_EXPORT))]


@router.get("")
def search(
    request: Request, session: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100, purpose: str | None = None
) -> dict[str, Any]:
    items = ctx_of(request).office.evidence.search(session.account.username, purpose, limit)
    return {"evidence": [i.to_dict() for i in items], "count": len(items)}


@router.get("/{item_id}")
def show(request: Request, session: Reader, item_id: str, purpose: str | None = None) -> dict[str, Any]:
    evidence = ctx_of(request).office.evidence
    item, custody = evidence.view(evidence.resolve(item_id), session.account.username, purpose)
    return {**item.to_dict(), "custody": [e.to_dict() for e in custody]}


@router.post("/seal-alert", status_code=201)
def seal_alert(request: Request, session: Sealer, body: SealAlertBody) -> dict[str, Any]:
    """Seal the alert's source lines (as far as the server can read them) in one action."""
    office = ctx_of(request).office
    item, new = seal_alert_evidence(
        body.alert_id,
        alerts=office.alerts,
        evidence=office.evidence,
        audit=office.audit,
        actor=session.account.username,
        purpose=body.purpose,
    )
    return {**item.to_dict(), "new": new}


@router.post("/{item_id}/export")
def export(request: Request, session: Exporter, item_id: str, body: ExportBody) -> Response:
    """The sealed bytes as a download, only after they re-hash to their seal (custody: exported)."""
    name, data = export_bytes(ctx_of(request).office, item_id, session.account.username, body.purpose)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
