"""Reading disclosure rows back into requests; approvals and produced evidence come from the event history."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from watchhouse.office.disclosure.models import (
    Authority,
    DataCategory,
    DisclosureRequest,
    DisclosureStatus,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.disclosure.tables import disclosure_events, disclosure_requests
from watchhouse.office.errors import NotFoundError

APPROVAL = "approval"
REQUEST_ID = re.compile(r"DR-\d{4}-\d{4,}")
PRODUCED = "produced"


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def request_row(request: DisclosureRequest) -> dict[str, Any]:
    basis = request.legal_basis
    return {
        "id": request.id,
        "authority_name": request.authority.name,
        "authority_country": request.authority.country,
        "request_type": request.request_type.value,
        "legal_instrument": basis.instrument if basis else None,
        "legal_reference": basis.reference if basis else None,
        "legal_issuer": basis.issuer if basis else None,
        "scope_accounts": list(request.scope.accounts),
        "scope_from": request.scope.start,
        "scope_to": request.scope.end,
        "scope_categories": [c.value for c in request.scope.categories],
        "nondisclosure_order": request.nondisclosure_order,
        "nondisclosure_until": request.nondisclosure_until,
        "notice_decision": request.notice.decision.value,
        "notice_reason": request.notice.reason,
        "notice_until": request.notice.until,
        "justification": request.justification,
        "status": request.status.value,
        "requester": request.requester,
        "case_id": request.case_id,
        "received_at": request.received_at,
        "updated_at": request.updated_at,
        "followup_due": request.followup_due,
        "followup_received_at": request.followup_received_at,
    }


def request_from_row(
    row: Any, approvers: tuple[str, ...] = (), evidence: tuple[str, ...] = (), rejected: bool = False
) -> DisclosureRequest:
    basis = None
    if row["legal_instrument"]:
        basis = LegalBasis(row["legal_instrument"], row["legal_reference"], row["legal_issuer"])
    received = utc(row["received_at"])
    updated = utc(row["updated_at"])
    assert received is not None and updated is not None
    return DisclosureRequest(
        id=row["id"],
        authority=Authority(row["authority_name"], row["authority_country"]),
        request_type=RequestType(row["request_type"]),
        legal_basis=basis,
        scope=Scope(
            accounts=tuple(row["scope_accounts"]),
            start=row["scope_from"],
            end=row["scope_to"],
            categories=tuple(DataCategory(c) for c in row["scope_categories"]),
        ),
        nondisclosure_order=bool(row["nondisclosure_order"]),
        nondisclosure_until=row["nondisclosure_until"],
        notice=UserNotice(NoticeDecision(row["notice_decision"]), row["notice_reason"], row["notice_until"]),
        justification=row["justification"],
        status=DisclosureStatus(row["status"]),
        requester=row["requester"],
        case_id=row["case_id"],
        received_at=received,
        updated_at=updated,
        followup_due=utc(row["followup_due"]),
        followup_received_at=utc(row["followup_received_at"]),
        approvers=approvers,
        evidence=evidence,
        rejected=rejected,
    )


def load(conn: Connection, request_id: str) -> DisclosureRequest:
    """The request with the approvers and evidence its (append-only) history records."""
    ref = request_id.strip().upper()
    if not REQUEST_ID.fullmatch(ref):  # never send arbitrary text (NUL bytes, say) to the database
        raise NotFoundError(f"no disclosure request {request_id!r}")
    row = conn.execute(select(disclosure_requests).where(disclosure_requests.c.id == ref)).first()
    if row is None:
        raise NotFoundError(f"no disclosure request {request_id!r}")
    approvers: list[str] = []
    evidence: list[str] = []
    rejected = False
    for kind, actor, target, new in conn.execute(
        select(
            disclosure_events.c.kind,
            disclosure_events.c.actor,
            disclosure_events.c.target,
            disclosure_events.c.new_value,
        )
        .where(disclosure_events.c.request_id == ref, disclosure_events.c.kind.in_((APPROVAL, PRODUCED, "status")))
        .order_by(disclosure_events.c.id)
    ):
        if kind == APPROVAL and actor not in approvers:
            approvers.append(actor)
        elif kind == PRODUCED and target:
            evidence.append(target)
        elif kind == "status" and new == DisclosureStatus.REJECTED.value:
            rejected = True
    return request_from_row(row._mapping, tuple(approvers), tuple(evidence), rejected)


def load_all(conn: Connection, query: Any) -> list[DisclosureRequest]:
    return [load(conn, r.id) for r in conn.execute(query)]
