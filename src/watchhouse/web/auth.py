"""Who is calling, and may they: the only place the web layer decides about authentication.

Every route takes its actor from :func:`api_actor` (JSON API) or :func:`form_actor` (console
forms) with the permission it needs; both check the session, the CSRF token on anything but a
safe method, and the role table (``office.accounts.roles``). A refusal for lack of role is an
audit entry of its own, as the services do for need-to-know refusals.

The API also accepts ``Authorization: Bearer whk_...`` (an API token, ``office.accounts.tokens``).
Such requests need no CSRF token: CSRF rides on credentials the browser attaches by itself
(cookies), and no browser attaches an Authorization header to a cross-site request. Console
pages read only the session cookie, so a token never opens them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Form, Header, Request
from starlette.concurrency import run_in_threadpool

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.accounts.tokens import TokenRefusedError
from watchhouse.office.audit.entries import Action
from watchhouse.office.errors import AccessDeniedError
from watchhouse.web.context import WebContext, client_of, ctx_of
from watchhouse.web.errors import CsrfError, NotAuthenticatedError, TooManyAttemptsError
from watchhouse.web.security import same_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_session(request: Request) -> Session:
    """The caller's live session (runs in the thread pool: it reads the database)."""
    ctx = ctx_of(request)
    session = ctx.office.accounts.session(request.cookies.get(ctx.settings.session_cookie, ""))
    if session is None:
        raise NotAuthenticatedError("log in first")
    return session


def bearer_of(request: Request) -> str | None:
    """The bearer credential of the ``Authorization`` header, if the request carries one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def api_session(request: Request) -> Session:
    """The caller of an API route: an API token if the request carries one, else the cookie.

    A bad token is a 401 even when a valid cookie came along: the script that sent it must
    learn its token is dead rather than silently run as whoever last used the browser.
    """
    bearer = bearer_of(request)
    if bearer is None:
        return current_session(request)
    ctx = ctx_of(request)
    client = client_of(request)
    if ctx.login_limiter.exhausted(client):  # refused before the database: guessing cannot flood the audit log
        raise TooManyAttemptsError("too many failed logins from this address; wait a few minutes")
    try:
        account, token = ctx.office.accounts.tokens.authenticate(bearer, client)
    except TokenRefusedError as exc:
        ctx.login_limiter.allow(client)
        raise NotAuthenticatedError(str(exc)) from None
    return Session(account=account, token_hash="", csrf_token="", expires_at=token.expires_at, api_token=token.id)


def optional_session(request: Request) -> Session | None:
    try:
        return current_session(request)
    except NotAuthenticatedError:
        return None


def refuse_role(ctx: WebContext, session: Session, permission: Permission, path: str) -> None:
    ctx.office.audit.append(
        session.account.username,
        Action.REFUSED,
        permission.value.split(":")[0],
        None,
        None,
        {"attempted": permission.value, "refusal": "role", "path": path[:200]},
    )


async def _authorise(request: Request, session: Session, permission: Permission) -> Session:
    if not session.account.may(permission):
        await run_in_threadpool(refuse_role, ctx_of(request), session, permission, request.url.path)
        raise AccessDeniedError(f"{session.account.username} may not {permission.value} (role)")
    return session


def _check_csrf(request: Request, session: Session, header: str | None) -> None:
    if session.api_token is None and request.method not in SAFE_METHODS and not same_token(header, session.csrf_token):
        raise CsrfError("missing or wrong X-CSRF-Token header")


def api_actor(permission: Permission) -> Callable[..., Awaitable[Session]]:
    """Dependency for API routes: token or session (+ ``X-CSRF-Token`` on unsafe methods) + role."""

    async def dependency(
        request: Request,
        session: Annotated[Session, Depends(api_session)],
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> Session:
        _check_csrf(request, session, x_csrf_token)
        return await _authorise(request, session, permission)

    return dependency


async def api_caller(
    request: Request,
    session: Annotated[Session, Depends(api_session)],
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Session:
    """Dependency for API routes about the caller's own things (no role needed): token or session."""
    _check_csrf(request, session, x_csrf_token)
    return session


def form_actor(permission: Permission) -> Callable[..., Awaitable[Session]]:
    """Dependency for console form posts: session + ``csrf_token`` form field + role."""

    async def dependency(
        request: Request,
        session: Annotated[Session, Depends(current_session)],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Session:
        if not same_token(csrf_token, session.csrf_token):
            raise CsrfError("this form has expired or did not come from the console; reload and try again")
        return await _authorise(request, session, permission)

    return dependency


def page_actor(permission: Permission) -> Callable[..., Awaitable[Session]]:
    """Dependency for console pages (GET): session + role."""

    async def dependency(request: Request, session: Annotated[Session, Depends(current_session)]) -> Session:
        return await _authorise(request, session, permission)

    return dependency


async def page_caller(session: Annotated[Session, Depends(current_session)]) -> Session:
    """Dependency for console pages about the caller's own account (no role needed)."""
    return session


async def form_caller(
    session: Annotated[Session, Depends(current_session)], csrf_token: Annotated[str, Form()] = ""
) -> Session:
    """Dependency for console form posts about the caller's own account: session + CSRF field."""
    if not same_token(csrf_token, session.csrf_token):
        raise CsrfError("this form has expired or did not come from the console; reload and try again")
    return session
