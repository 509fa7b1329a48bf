"""``/api/v1/audit``: verification status and the newest entries, for auditors.

Reading the audit log is not itself audited (ADR 0004: verification must be repeatable without
changing what it verifies); the documented exemptions of the "every call is audited" rule live in
``web.audit_exemptions`` (re-exported here as ``UNAUDITED_ROUTES``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.services import Office
from watchhouse.web.audit_exemptions import UNAUDITED_ROUTES
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

__all__ = ["UNAUDITED_ROUTES", "router", "verify_status"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Session, Depends(api_actor(Permission.AUDIT_READ))]


def verify_status(office: Office) -> dict[str, Any]:
    report = office.audit.verify()
    checkpoints = office.audit.checkpoints()
    return {
        "ok": report.ok,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "last_checkpoint": (
            {"tree_size": checkpoints[-1].head.tree_size, "at": checkpoints[-1].head.at} if checkpoints else None
        ),
        "problems": [
            {"failure": p.failure.value, "where": p.where, "message": p.message, "seq": p.seq}
            for p in report.problems[:100]
        ],
        "warnings": [{"failure": w.failure.value, "where": w.where, "message": w.message} for w in report.warnings],
    }


@router.get("/verify")
def verify(request: Request, session: Auditor) -> dict[str, Any]:
    return verify_status(ctx_of(request).office)


@router.get("/tail")
def tail(request: Request, session: Auditor, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    return {"entries": [e.to_dict() for e in ctx_of(request).office.audit.tail(limit)]}
