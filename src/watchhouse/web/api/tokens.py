"""``/api/v1/tokens``: create, list and revoke API tokens (one's own; an admin's for anyone).

A token is created only from a logged-in browser or API session, never with another token: a
leaked token must not be able to mint itself a longer-lived successor. Any caller may revoke the
token it is using (a script that finds itself compromised can kill its own credential).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission, parse_roles
from watchhouse.office.accounts.tokens import DEFAULT_DAYS, MAX_DAYS
from watchhouse.office.errors import AccessDeniedError
from watchhouse.web.auth import api_caller, refuse_role
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
Caller = Annotated[Session, Depends(api_caller)]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS)
    roles: list[str] | None = Field(default=None, max_length=10)
    """Narrower roles than the account's; absent means all of them."""
    username: str | None = Field(default=None, max_length=64)
    """Another account (admins only); absent means the caller's own."""


async def _may_manage(request: Request, session: Session, username: str) -> None:
    """Anyone manages their own tokens; someone else's need ``account:admin`` (refusal audited)."""
    if username == session.account.username:
        return
    if not session.account.may(Permission.ACCOUNT_ADMIN):
        ctx = ctx_of(request)
        await run_in_threadpool(refuse_role, ctx, session, Permission.ACCOUNT_ADMIN, request.url.path)
        raise AccessDeniedError(f"{session.account.username} may not manage tokens of {username} (role)")


@router.get("")
async def list_tokens(
    request: Request, session: Caller, username: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    target = username or session.account.username
    await _may_manage(request, session, target)
    ctx = ctx_of(request)
    found = await run_in_threadpool(ctx.office.accounts.tokens.list, session.account.username, target)
    now = ctx.office.accounts.now()
    return {"username": target, "tokens": [t.to_dict(now) for t in found]}


@router.post("", status_code=201)
async def create_token(request: Request, session: Caller, body: TokenBody) -> dict[str, Any]:
    """The answer holds ``token``, the only time the secret is ever shown."""
    if session.api_token is not None:
        raise AccessDeniedError("an API token cannot create tokens; log in with a password")
    target = body.username or session.account.username
    await _may_manage(request, session, target)
    try:
        roles = None if body.roles is None else parse_roles(body.roles)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    ctx = ctx_of(request)
    issued = await run_in_threadpool(
        ctx.office.accounts.tokens.create, session.account.username, target, body.name, body.days, roles
    )
    return {"token": issued.secret, **issued.token.to_dict(ctx.office.accounts.now())}


@router.delete("/{token_id}")
async def revoke_token(request: Request, session: Caller, token_id: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    tokens = ctx.office.accounts.tokens
    token = await run_in_threadpool(tokens.get, token_id)
    if token.id != session.api_token:
        await _may_manage(request, session, token.username)
    revoked = await run_in_threadpool(tokens.revoke, session.account.username, token_id)
    return revoked.to_dict(ctx.office.accounts.now())
