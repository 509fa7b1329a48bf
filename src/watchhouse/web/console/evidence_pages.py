"""Console: evidence list, one item with its custody record, and the export download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.web.actions import export_bytes
from watchhouse.web.auth import form_actor, page_actor
from watchhouse.web.console.render import page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)
Reader = Annotated[Session, Depends(page_actor(Permission.EVIDENCE_READ))]


@router.get("/evidence")
def evidence_list(request: Request, session: Reader) -> HTMLResponse:
    items = ctx_of(request).office.evidence.search(session.account.username)
    return page(request, session, "evidence_list.html", items=items)


@router.get("/evidence/{item_id}")
def evidence_page(request: Request, session: Reader, item_id: str, notice: str = "") -> HTMLResponse:
    evidence = ctx_of(request).office.evidence
    item, custody = evidence.view(evidence.resolve(item_id), session.account.username)
    return page(request, session, "evidence.html", item=item, custody=custody, notice=notice)


@router.post("/evidence/{item_id}/export")
def export(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.EVIDENCE_EXPORT))],
    item_id: str,
    purpose: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> Response:
    name, data = export_bytes(ctx_of(request).office, item_id, session.account.username, purpose)
    return Response(
        data, media_type="application/octet-stream", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
