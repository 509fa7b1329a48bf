"""Console: the audit log's verification status and newest entries (auditors and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.web.api.audit import verify_status
from watchhouse.web.auth import page_actor
from watchhouse.web.console.render import page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request, session: Annotated[Session, Depends(page_actor(Permission.AUDIT_READ))]
) -> HTMLResponse:
    office = ctx_of(request).office
    return page(request, session, "audit.html", report=verify_status(office), entries=office.audit.tail(50)[::-1])
