"""``/api/v1/session``: log in (sets the HttpOnly cookie, returns the CSRF token), who am I, log out.

Logging out ends a cookie session only; an API token is ended by revoking it (``/api/v1/tokens``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from watchhouse.office.accounts.models import Login, Session
from watchhouse.web.api.schemas import LoginBody
from watchhouse.web.auth import api_session, current_session
from watchhouse.web.context import WebContext, client_of, ctx_of
from watchhouse.web.errors import CsrfError, TooManyAttemptsError
from watchhouse.web.security import same_token, set_cookie

router = APIRouter(prefix="/api/v1/session", tags=["session"])


def login(ctx: WebContext, request: Request, username: str, password: str, code: str | None) -> Login:
    """Shared by API and console: client throttle first, then the audited account check."""
    client = client_of(request)
    if not ctx.login_limiter.allow(client):
        raise TooManyAttemptsError("too many login attempts from this address; wait a few minutes")
    return ctx.office.accounts.login(username.strip().lower(), password, code, client)


def start(ctx: WebContext, response: Response, done: Login) -> None:
    lifetime = int(ctx.office.accounts.policy.session_lifetime.total_seconds())
    set_cookie(response, ctx.settings, ctx.settings.session_cookie, done.token, lifetime)


def _me(session: Session) -> dict[str, Any]:
    if session.api_token is not None:  # a script: the token's effective roles, no CSRF token
        return {**session.account.to_dict(), "api_token": session.api_token}
    return {**session.account.to_dict(), "csrf_token": session.csrf_token}


@router.post("")
def create(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
    ctx = ctx_of(request)
    done = login(ctx, request, body.username, body.password, body.totp)
    start(ctx, response, done)
    return _me(done.session)


@router.get("")
def whoami(session: Annotated[Session, Depends(api_session)]) -> dict[str, Any]:
    """Not audited: it only tells the caller about their own session (or API token)."""
    return _me(session)


@router.delete("", status_code=204)
def logout(request: Request, session: Annotated[Session, Depends(current_session)]) -> Response:
    if not same_token(request.headers.get("x-csrf-token"), session.csrf_token):
        raise CsrfError("missing or wrong X-CSRF-Token header")
    ctx = ctx_of(request)
    ctx.office.accounts.logout(session)
    response = Response(status_code=204)
    response.delete_cookie(ctx.settings.session_cookie, path="/")
    return response
