"""Console: case list (and opening one), the case page (notes, tasks, timeline, links, access, exports)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.cases.models import TRANSITIONS, CaseStatus, TaskStatus, Tlp
from watchhouse.office.exports.service import ExportFormat
from watchhouse.web.actions import case_link, open_case, parse_enum
from watchhouse.web.api.exports import export_case
from watchhouse.web.auth import form_actor, page_actor
from watchhouse.web.console.render import back_to, page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)
Reader = Annotated[Session, Depends(page_actor(Permission.CASE_READ))]
Writer = Annotated[Session, Depends(form_actor(Permission.CASE_WRITE))]
Text = Annotated[str, Form(max_length=10_000)]
Name = Annotated[str, Form(max_length=200)]


@router.get("/cases")
def case_list(request: Request, session: Reader, status: str = "", notice: str = "") -> HTMLResponse:
    state = parse_enum(CaseStatus, status, "case status") if status else None
    found = ctx_of(request).office.cases.search(session.account.username, state)
    return page(
        request,
        session,
        "cases.html",
        cases=found,
        status=status,
        statuses=[s.value for s in CaseStatus],
        crimes=[c.value for c in CrimeCode],
        severities=[str(s) for s in Severity],
        tlps=[t.value for t in Tlp],
        notice=notice,
    )


@router.post("/cases")
def create(
    request: Request,
    session: Writer,
    title: Annotated[str, Form(min_length=1, max_length=500)],
    crime_codes: Annotated[list[str], Form(max_length=20)],
    severity: Name = "medium",
    tlp: Name = "",
    reviewer: Name = "",
    need_to_know: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    case = open_case(
        ctx_of(request).office,
        session.account.username,
        title=title,
        crime_codes=crime_codes,
        severity=severity,
        tlp=tlp or None,
        owner=None,
        reviewer=reviewer or None,
        need_to_know=need_to_know,
    )
    return back_to("cases", case.id, notice="opened")


@router.get("/cases/{case_id}")
def case_page(request: Request, session: Reader, case_id: str, notice: str = "") -> HTMLResponse:
    cases, actor = ctx_of(request).office.cases, session.account.username
    found = cases.show(actor, case_id)
    timeline = cases.timeline(actor, case_id)
    moves = sorted(s.value for s in TRANSITIONS[found.case.status])
    formats = [f.value for f in ExportFormat]
    return page(
        request, session, "case.html", file=found, timeline=timeline, moves=moves, formats=formats, notice=notice
    )


@router.post("/cases/{case_id}/note")
def note(
    request: Request, session: Writer, case_id: str, body: Text, corrects: Annotated[int | None, Form()] = None
) -> RedirectResponse:
    ctx_of(request).office.cases.note(session.account.username, case_id, body, corrects)
    return back_to("cases", case_id.upper(), notice="note added")


@router.post("/cases/{case_id}/task")
def task(request: Request, session: Writer, case_id: str, title: Text, assignee: Name = "") -> RedirectResponse:
    ctx_of(request).office.cases.add_task(session.account.username, case_id, title, assignee or None)
    return back_to("cases", case_id.upper(), notice="task added")


@router.post("/cases/{case_id}/task/{task_id}")
def task_status(
    request: Request, session: Writer, case_id: str, task_id: int, status: Annotated[str, Form(max_length=20)]
) -> RedirectResponse:
    state = parse_enum(TaskStatus, status, "task status")
    ctx_of(request).office.cases.set_task(session.account.username, case_id, task_id, state)
    return back_to("cases", case_id.upper(), notice=f"task {task_id} {state.value}")


@router.post("/cases/{case_id}/transition")
def transition(
    request: Request, session: Writer, case_id: str, to: Name, reason: Text = "", reviewer: Name = ""
) -> RedirectResponse:
    state = parse_enum(CaseStatus, to, "case status")
    office = ctx_of(request).office
    office.cases.transition(session.account.username, case_id, state, reason or None, reviewer or None)
    return back_to("cases", case_id.upper(), notice=f"now {state.value}")


@router.post("/cases/{case_id}/link")
def link(
    request: Request,
    session: Writer,
    case_id: str,
    kind: Annotated[str, Form(max_length=20)],
    target: Name,
    reason: Text = "",
    unlink: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    case_link(ctx_of(request).office, session.account.username, case_id, kind, target, unlink, reason)
    return back_to("cases", case_id.upper(), notice="unlinked" if unlink else "linked")


@router.post("/cases/{case_id}/access")
def access(
    request: Request,
    session: Writer,
    case_id: str,
    principal: Name,
    reason: Text = "",
    revoke: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    cases, actor = ctx_of(request).office.cases, session.account.username
    if not principal.strip():
        raise UsageError("name the person to grant or revoke")
    (cases.revoke if revoke else cases.grant)(actor, case_id, principal.strip(), reason or None)
    return back_to("cases", case_id.upper(), notice="access revoked" if revoke else "access granted")


@router.post("/cases/{case_id}/export")
def export(
    request: Request,
    session: Annotated[Session, Depends(form_actor(Permission.CASE_EXPORT))],
    case_id: str,
    format: Annotated[str, Form(max_length=20)],
    purpose: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> Response:
    """The case as STIX, MISP or HTML, sealed as evidence and recorded as exported before download."""
    office = ctx_of(request).office
    return export_case(office, session.account.username, case_id, format, purpose).response()
