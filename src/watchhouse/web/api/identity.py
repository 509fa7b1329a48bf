"""``/api/v1/identity/reveal``: the identifier behind a pseudonym, for a purpose within a case.

The vault enforces the purpose, need-to-know on the case and the per-actor rate limit, and audits
the reveal or its refusal; this route only adds the role check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.web.actions import reveal
from watchhouse.web.api.schemas import RevealBody
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])
Revealer = Annotated[Session, Depends(api_actor(Permission.IDENTITY_REVEAL))]


@router.post("/reveal")
def reveal_identity(request: Request, session: Revealer, body: RevealBody) -> dict[str, Any]:
    identifier = reveal(ctx_of(request).office, session.account.username, body.pseudonym, body.purpose, body.case)
    return {"pseudonym": body.pseudonym, "identifier": identifier, "case": body.case.strip().upper()}
