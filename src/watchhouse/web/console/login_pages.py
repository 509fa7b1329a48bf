"""Login and logout pages. The login form's CSRF token is a double-submit cookie (no session yet)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watchhouse.office.accounts.models import LoginFailedError, Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.web.api.session import login, start
from watchhouse.web.auth import current_session, optional_session
from watchhouse.web.console.render import page
from watchhouse.web.context import ctx_of
from watchhouse.web.errors import CsrfError, TooManyAttemptsError
from watchhouse.web.security import same_token, set_cookie

router = APIRouter(include_in_schema=False)


def _form(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    ctx = ctx_of(request)
    token = secrets.token_urlsafe(32)
    response = page(request, None, "login.html", status, login_token=token, error=error)
    set_cookie(response, ctx.settings, ctx.settings.login_cookie, token, 3600)
    return response


@router.get("/")
def home(session: Annotated[Session | None, Depends(optional_session)]) -> RedirectResponse:
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_landing(session), status_code=303)


_LANDINGS = (
    (Permission.ALERT_READ, "/alerts"),
    (Permission.DISCLOSURE_READ, "/disclosures"),
    (Permission.AUDIT_READ, "/audit"),
)


def _landing(session: Session) -> str:
    """The first page the account's roles may open, so no role lands on a refusal after login."""
    return next((path for permission, path in _LANDINGS if session.account.may(permission)), "/account")


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _form(request)


@router.post("/login")
def login_post(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=100)] = "",
    totp: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    ctx = ctx_of(request)
    if not same_token(login_token, request.cookies.get(ctx.settings.login_cookie, "")):
        raise CsrfError("the login form expired; reload the page and try again")
    try:
        done = login(ctx, request, username, password, totp or None)
    except (LoginFailedError, TooManyAttemptsError) as exc:
        return _form(request, str(exc), 429 if isinstance(exc, TooManyAttemptsError) else 401)
    response = RedirectResponse("/", status_code=303)
    start(ctx, response, done)
    response.delete_cookie(ctx.settings.login_cookie, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: Annotated[Session, Depends(current_session)],
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    if not same_token(csrf_token, session.csrf_token):
        raise CsrfError("this form did not come from the console")
    ctx = ctx_of(request)
    ctx.office.accounts.logout(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(ctx.settings.session_cookie, path="/")
    return response
