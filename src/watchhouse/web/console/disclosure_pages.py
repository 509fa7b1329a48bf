"""Console: disclosure requests — list, the new-request form, and one request with its workflow steps.

Refusals are part of the work here, not crashes: a request without its legal basis, a sign-off by
the requester, a production before two approvals. The service refuses (and audits) them; these
pages show the refusal on the page it came from, with the status the API would answer, so the
person sees what is missing instead of a bare error page. Everything else follows the console's
post-redirect-get pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.disclosure.models import (
    TRANSITIONS,
    DataCategory,
    DisclosureStatus,
    LegalBasis,
    NoticeDecision,
    RequestType,
)
from watchhouse.office.errors import PolicyError
from watchhouse.web.actions import parse_enum
from watchhouse.web.api.disclosure_schemas import MAX_PRODUCED_BYTES, DisclosureOpenBody, open_request, parse_body
from watchhouse.web.auth import form_actor, page_actor
from watchhouse.web.console.render import back_to, page
from watchhouse.web.context import ctx_of
from watchhouse.web.errors import status_for

router = APIRouter(include_in_schema=False)
Reader = Annotated[Session, Depends(page_actor(Permission.DISCLOSURE_READ))]
Requester = Annotated[Session, Depends(form_actor(Permission.DISCLOSURE_REQUEST))]
Approver = Annotated[Session, Depends(form_actor(Permission.DISCLOSURE_APPROVE))]
Producer = Annotated[Session, Depends(form_actor(Permission.DISCLOSURE_PRODUCE))]
Text = Annotated[str, Form(max_length=10_000)]
Name = Annotated[str, Form(max_length=500)]
FORM_FIELDS = tuple(DisclosureOpenBody.model_fields)
REFUSALS = (PolicyError, UsageError, InputError)
"""What a workflow step may answer with a message on the page (policy, transition, bad input)."""


@router.get("/disclosures")
def disclosure_list(request: Request, session: Reader, status: str = "", notice: str = "") -> HTMLResponse:
    office = ctx_of(request).office
    state = parse_enum(DisclosureStatus, status, "disclosure status") if status else None
    found = office.disclosures.search(session.account.username, state)
    return page(
        request,
        session,
        "disclosures.html",
        requests=found,
        now=office.disclosures.now(),
        status=status,
        statuses=[s.value for s in DisclosureStatus],
        notice=notice,
    )


def _form_page(
    request: Request, session: Session, values: dict[str, Any], error: str = "", code: int = 200
) -> Response:
    return page(
        request,
        session,
        "disclosure_new.html",
        status_code=code,
        values=values,
        error=error,
        types=[t.value for t in RequestType],
        categories=[c.value for c in DataCategory],
        notices=[n.value for n in NoticeDecision],
    )


@router.get("/disclosures/new")
def new_form(
    request: Request, session: Annotated[Session, Depends(page_actor(Permission.DISCLOSURE_REQUEST))], case: str = ""
) -> Response:
    blank: dict[str, Any] = dict.fromkeys(FORM_FIELDS)
    return _form_page(request, session, {**blank, "case": case, "notice": NoticeDecision.NOTIFY.value})


@router.post("/disclosures")
def create(
    request: Request,
    session: Requester,
    authority: Name,
    country: Annotated[str, Form(max_length=100)],
    request_type: Annotated[str, Form(max_length=40)],
    accounts: Text,
    start: Annotated[str, Form(max_length=10)],
    end: Annotated[str, Form(max_length=10)],
    categories: Annotated[list[str] | None, Form(max_length=len(DataCategory))] = None,
    instrument: Name = "",
    reference: Name = "",
    issuer: Name = "",
    notice: Annotated[str, Form(max_length=20)] = NoticeDecision.NOTIFY.value,
    notice_reason: Text = "",
    notice_until: Annotated[str, Form(max_length=10)] = "",
    nondisclosure_order: Annotated[bool, Form()] = False,
    nondisclosure_until: Annotated[str, Form(max_length=10)] = "",
    justification: Text = "",
    case: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Open the request; a refusal (no legal basis, bad scope) shows the form again with what was typed."""
    values: dict[str, Any] = {
        "authority": authority,
        "country": country,
        "type": request_type,
        "accounts": [a.strip() for a in accounts.splitlines() if a.strip()],
        "start": start,
        "end": end,
        "categories": categories or [],
        "legal_basis": {"instrument": instrument, "reference": reference, "issuer": issuer},
        "notice": notice,
        "notice_reason": notice_reason or None,
        "notice_until": notice_until or None,
        "nondisclosure_order": nondisclosure_order,
        "nondisclosure_until": nondisclosure_until or None,
        "justification": justification or None,
        "case": case or None,
    }
    try:
        body = parse_body(DisclosureOpenBody, values)
        opened = open_request(ctx_of(request).office, session.account.username, body)
    except REFUSALS as exc:
        return _form_page(request, session, values, f"Refused: {exc}", status_for(exc))
    return back_to("disclosures", opened.id, notice="received")


def _detail(
    request: Request, session: Session, request_id: str, notice: str = "", error: str = "", code: int = 200
) -> Response:
    office = ctx_of(request).office
    found = office.disclosures.show(session.account.username, request_id)
    return page(
        request,
        session,
        "disclosure.html",
        status_code=code,
        r=found,
        now=office.disclosures.now(),
        moves=sorted(s.value for s in TRANSITIONS[found.status]),
        notice=notice,
        error=error,
    )


@router.get("/disclosures/{request_id}")
def detail(request: Request, session: Reader, request_id: str, notice: str = "") -> Response:
    return _detail(request, session, request_id, notice)


def _step(request: Request, session: Session, request_id: str, done: str, work: Callable[[], object]) -> Response:
    """Run one workflow step; a refusal re-renders the request with the reason, else redirect."""
    try:
        work()
    except REFUSALS as exc:
        return _detail(request, session, request_id, error=f"Refused: {exc}", code=status_for(exc))
    return back_to("disclosures", request_id.strip().upper(), notice=done)


@router.post("/disclosures/{request_id}/review")
def review(request: Request, session: Approver, request_id: str, reason: Text = "") -> Response:
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    return _step(
        request, session, request_id, "under review", lambda: disclosures.review(actor, request_id, reason or None)
    )


@router.post("/disclosures/{request_id}/approve")
def approve(request: Request, session: Approver, request_id: str, reason: Text = "") -> Response:
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    return _step(
        request,
        session,
        request_id,
        "approval recorded",
        lambda: disclosures.approve(actor, request_id, reason or None),
    )


@router.post("/disclosures/{request_id}/reject")
def reject(request: Request, session: Approver, request_id: str, reason: Text = "") -> Response:
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    return _step(request, session, request_id, "rejected", lambda: disclosures.reject(actor, request_id, reason))


@router.post("/disclosures/{request_id}/produce")
def produce(
    request: Request,
    session: Producer,
    request_id: str,
    data: Annotated[UploadFile, File()],
    media_type: Annotated[str, Form(max_length=200)] = "application/octet-stream",
    case: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Seal the uploaded file as evidence of the case and record it as disclosed."""
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    content = data.file.read(MAX_PRODUCED_BYTES + 1)

    def work() -> object:
        if len(content) > MAX_PRODUCED_BYTES:
            raise UsageError(
                f"the file is larger than {MAX_PRODUCED_BYTES // (1024 * 1024)} MiB; produce it with the CLI"
            )
        return disclosures.produce(
            actor,
            request_id,
            content,
            name=data.filename or "produced.bin",
            media_type=media_type or "application/octet-stream",
            case=case or None,
            tool="watchhouse web console",
        )

    return _step(request, session, request_id, "produced and sealed", work)


@router.post("/disclosures/{request_id}/followup")
def followup(
    request: Request,
    session: Requester,
    request_id: str,
    instrument: Name = "",
    reference: Name = "",
    issuer: Name = "",
) -> Response:
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    basis = LegalBasis(instrument, reference, issuer)
    return _step(
        request, session, request_id, "follow-up recorded", lambda: disclosures.followup(actor, request_id, basis)
    )


@router.post("/disclosures/{request_id}/close")
def close(request: Request, session: Producer, request_id: str, reason: Text = "") -> Response:
    disclosures, actor = ctx_of(request).office.disclosures, session.account.username
    return _step(request, session, request_id, "closed", lambda: disclosures.close(actor, request_id, reason or None))
