"""``/api/v1/disclosures``: an authority's request for user data, from receipt to closing.

Every rule lives in the disclosure service — a legal basis to open, two approvers other than the
requester (one with a written reason for an emergency), production only once approved, sealed as
evidence and recorded in custody as ``disclosed``. The routes only pick the permission each step
needs (``office.accounts.roles``) and turn the service's refusals into 4xx answers: a missing legal
basis or four-eyes breach is a policy refusal (403), a move the status table forbids — producing
with one signature, say — a conflict (409). Each call, reads included, leaves an audit entry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.disclosure.models import DisclosureRequest, DisclosureStatus, LegalBasis
from watchhouse.office.services import Office
from watchhouse.web.actions import parse_enum
from watchhouse.web.api.disclosure_schemas import (
    DisclosureOpenBody,
    LegalBasisBody,
    ProduceBody,
    ReasonBody,
    RejectBody,
    open_request,
)
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/disclosures", tags=["disclosure"])
Reader = Annotated[Session, Depends(api_actor(Permission.DISCLOSURE_READ))]
Requester = Annotated[Session, Depends(api_actor(Permission.DISCLOSURE_REQUEST))]
Approver = Annotated[Session, Depends(api_actor(Permission.DISCLOSURE_APPROVE))]
Producer = Annotated[Session, Depends(api_actor(Permission.DISCLOSURE_PRODUCE))]


def _answer(office: Office, request: DisclosureRequest) -> dict[str, Any]:
    """The request as JSON, with ``followup_overdue`` judged on the office's clock."""
    return request.to_dict(office.disclosures.now())


@router.get("")
def search(request: Request, session: Reader, status: str | None = None, purpose: str | None = None) -> dict[str, Any]:
    office = ctx_of(request).office
    state = parse_enum(DisclosureStatus, status, "disclosure status") if status else None
    found = office.disclosures.search(session.account.username, state, purpose)
    return {"disclosures": [_answer(office, r) for r in found], "count": len(found)}


@router.get("/overdue")
def overdue(request: Request, session: Reader, purpose: str | None = None) -> dict[str, Any]:
    """Emergency requests still owing their legal instrument past the follow-up deadline."""
    office = ctx_of(request).office
    found = office.disclosures.overdue(session.account.username, purpose)
    return {"disclosures": [_answer(office, r) for r in found], "count": len(found)}


@router.post("", status_code=201)
def create(request: Request, session: Requester, body: DisclosureOpenBody) -> dict[str, Any]:
    office = ctx_of(request).office
    return _answer(office, open_request(office, session.account.username, body))


@router.get("/{request_id}")
def show(request: Request, session: Reader, request_id: str, purpose: str | None = None) -> dict[str, Any]:
    office = ctx_of(request).office
    return _answer(office, office.disclosures.show(session.account.username, request_id, purpose))


@router.post("/{request_id}/review")
def review(request: Request, session: Approver, request_id: str, body: ReasonBody) -> dict[str, Any]:
    office = ctx_of(request).office
    return _answer(office, office.disclosures.review(session.account.username, request_id, body.reason))


@router.post("/{request_id}/approve")
def approve(request: Request, session: Approver, request_id: str, body: ReasonBody) -> dict[str, Any]:
    """One sign-off; ``status`` turns ``approved`` once enough distinct people have signed."""
    office = ctx_of(request).office
    return _answer(office, office.disclosures.approve(session.account.username, request_id, body.reason))


@router.post("/{request_id}/reject")
def reject(request: Request, session: Approver, request_id: str, body: RejectBody) -> dict[str, Any]:
    office = ctx_of(request).office
    return _answer(office, office.disclosures.reject(session.account.username, request_id, body.reason))


@router.post("/{request_id}/produce")
def produce(request: Request, session: Producer, request_id: str, body: ProduceBody) -> dict[str, Any]:
    """Seal the data handed over as evidence of the case and record it as disclosed."""
    office = ctx_of(request).office
    produced = office.disclosures.produce(
        session.account.username,
        request_id,
        body.data(),
        name=body.name,
        media_type=body.media_type,
        case=body.case,
        tool="watchhouse web API",
    )
    return _answer(office, produced)


@router.post("/{request_id}/followup")
def followup(request: Request, session: Requester, request_id: str, body: LegalBasisBody) -> dict[str, Any]:
    """Attach the legal instrument an emergency request was owed (all three parts required)."""
    office = ctx_of(request).office
    basis = LegalBasis(body.instrument, body.reference, body.issuer)
    return _answer(office, office.disclosures.followup(session.account.username, request_id, basis))


@router.post("/{request_id}/close")
def close(request: Request, session: Producer, request_id: str, body: ReasonBody) -> dict[str, Any]:
    office = ctx_of(request).office
    return _answer(office, office.disclosures.close(session.account.username, request_id, body.reason))
