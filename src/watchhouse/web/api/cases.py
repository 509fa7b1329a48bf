"""``/api/v1/cases``: open and work cases; need-to-know and four-eyes are the service's to enforce."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.cases.models import CaseStatus, TaskStatus
from watchhouse.web.actions import case_link, open_case, parse_enum
from watchhouse.web.api.schemas import (
    AccessBody,
    CaseOpenBody,
    LinkBody,
    NoteBody,
    TaskBody,
    TaskStatusBody,
    TransitionBody,
)
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Reader = Annotated[Session, Depends(api_actor(Permission.CASE_READ))]
Writer = Annotated[Session, Depends(api_actor(Permission.CASE_WRITE))]


@router.get("")
def search(request: Request, session: Reader, status: str | None = None, purpose: str | None = None) -> dict[str, Any]:
    state = parse_enum(CaseStatus, status, "case status") if status else None
    found = ctx_of(request).office.cases.search(session.account.username, state, purpose)
    return {"cases": [c.to_dict() for c in found], "count": len(found)}


@router.post("", status_code=201)
def create(request: Request, session: Writer, body: CaseOpenBody) -> dict[str, Any]:
    case = open_case(
        ctx_of(request).office,
        session.account.username,
        title=body.title,
        crime_codes=body.crime_codes,
        severity=body.severity,
        tlp=body.tlp,
        owner=body.owner,
        reviewer=body.reviewer,
        need_to_know=body.need_to_know,
    )
    return case.to_dict()


@router.get("/{case_id}")
def show(request: Request, session: Reader, case_id: str, purpose: str | None = None) -> dict[str, Any]:
    return ctx_of(request).office.cases.show(session.account.username, case_id, purpose).to_dict()


@router.get("/{case_id}/timeline")
def timeline(request: Request, session: Reader, case_id: str, purpose: str | None = None) -> dict[str, Any]:
    items = ctx_of(request).office.cases.timeline(session.account.username, case_id, purpose)
    return {"case": case_id.upper(), "timeline": [i.to_dict() for i in items]}


@router.post("/{case_id}/notes", status_code=201)
def note(request: Request, session: Writer, case_id: str, body: NoteBody) -> dict[str, Any]:
    return ctx_of(request).office.cases.note(session.account.username, case_id, body.body, body.corrects).to_dict()


@router.post("/{case_id}/tasks", status_code=201)
def add_task(request: Request, session: Writer, case_id: str, body: TaskBody) -> dict[str, Any]:
    office = ctx_of(request).office
    return office.cases.add_task(session.account.username, case_id, body.title, body.assignee).to_dict()


@router.post("/{case_id}/tasks/{task_id}")
def set_task(request: Request, session: Writer, case_id: str, task_id: int, body: TaskStatusBody) -> dict[str, Any]:
    status = parse_enum(TaskStatus, body.status, "task status")
    ctx_of(request).office.cases.set_task(session.account.username, case_id, task_id, status)
    return {"task": task_id, "status": status.value}


@router.post("/{case_id}/transition")
def transition(request: Request, session: Writer, case_id: str, body: TransitionBody) -> dict[str, Any]:
    to = parse_enum(CaseStatus, body.to, "case status")
    office = ctx_of(request).office
    return office.cases.transition(session.account.username, case_id, to, body.reason, body.reviewer).to_dict()


@router.post("/{case_id}/links")
def link(request: Request, session: Writer, case_id: str, body: LinkBody) -> dict[str, Any]:
    case_link(
        ctx_of(request).office, session.account.username, case_id, body.kind, body.target, body.unlink, body.reason
    )
    return {"case": case_id.upper(), body.kind: body.target, "linked": not body.unlink}


@router.post("/{case_id}/access")
def access(request: Request, session: Writer, case_id: str, body: AccessBody) -> dict[str, Any]:
    """Grant or revoke need-to-know access (the service allows only the owner to)."""
    cases, actor = ctx_of(request).office.cases, session.account.username
    if body.revoke:
        cases.revoke(actor, case_id, body.principal, body.reason)
    else:
        cases.grant(actor, case_id, body.principal, body.reason)
    return {"case": case_id.upper(), "principal": body.principal, "granted": not body.revoke}
