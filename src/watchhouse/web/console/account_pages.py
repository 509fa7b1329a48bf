"""Console: one's own account (TOTP enrolment, API tokens) and, for admins, everyone's accounts.

Secrets shown once (a new token, a TOTP secret being enrolled) are rendered straight from the
POST that created them instead of redirecting: a redirect would need the secret in a URL or in
server-side state. Pages are sent ``Cache-Control: no-store``, so they do not linger in caches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission, Role, parse_roles
from watchhouse.office.accounts.tokens import DEFAULT_DAYS, MAX_DAYS, IssuedToken
from watchhouse.office.accounts.totp import provisioning_uri
from watchhouse.office.errors import AccessDeniedError
from watchhouse.web.auth import form_actor, form_caller, page_actor, page_caller
from watchhouse.web.console.render import back_to, page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)
Me = Annotated[Session, Depends(page_caller)]
MyForm = Annotated[Session, Depends(form_caller)]
Admin = Annotated[Session, Depends(page_actor(Permission.ACCOUNT_ADMIN))]
AdminForm = Annotated[Session, Depends(form_actor(Permission.ACCOUNT_ADMIN))]
RolesField = Annotated[list[str], Form(max_length=10)]


def _roles(names: list[str]) -> tuple[Role, ...]:
    try:
        return parse_roles(names)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _own_page(
    request: Request,
    session: Session,
    notice: str = "",
    issued: IssuedToken | None = None,
    enrolment: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = ctx_of(request)
    me = session.account.username
    account = ctx.office.accounts.get(me)
    tokens = ctx.office.accounts.tokens.list(me, me)
    pending = None
    if enrolment is not None:
        secret, sealed = enrolment
        pending = {"secret": secret, "sealed": sealed, "uri": provisioning_uri(secret, me)}
    return page(
        request,
        session,
        "account.html",
        status,
        account=account,
        tokens=tokens,
        now=ctx.office.accounts.now(),
        issued=issued,
        pending=pending,
        roles=account.roles,
        default_days=DEFAULT_DAYS,
        max_days=MAX_DAYS,
        notice=notice,
    )


@router.get("/account")
def own_account(request: Request, session: Me, notice: str = "") -> HTMLResponse:
    return _own_page(request, session, notice)


@router.post("/account/totp/start")
def totp_start(request: Request, session: MyForm) -> HTMLResponse:
    enrolment = ctx_of(request).office.accounts.start_totp_enrolment(session.account.username)
    return _own_page(request, session, enrolment=enrolment)


@router.post("/account/totp/confirm")
def totp_confirm(
    request: Request,
    session: MyForm,
    pending: Annotated[str, Form(max_length=300)],
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    accounts = ctx_of(request).office.accounts
    me = session.account.username
    if accounts.confirm_totp_enrolment(me, me, pending, code):
        # The session stays open (it was opened with what the account required then).
        return back_to("account", notice="two-factor login is on; you will need a code from your next login")
    secret = accounts.open_pending_totp(me, pending)
    notice = "that code did not match; check the phone's clock and try the current code"
    return _own_page(request, session, notice, enrolment=(secret, pending), status=400)


@router.post("/account/tokens")
def token_create(
    request: Request,
    session: MyForm,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    days: Annotated[int, Form(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    roles: RolesField = [],  # noqa: B006 (FastAPI copies defaults per request)
) -> HTMLResponse:
    me = session.account.username
    issued = ctx_of(request).office.accounts.tokens.create(me, me, name, days, _roles(roles) if roles else None)
    return _own_page(request, session, issued=issued, status=201)


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(request: Request, session: MyForm, token_id: str) -> RedirectResponse:
    tokens = ctx_of(request).office.accounts.tokens
    token = tokens.get(token_id)
    if token.username != session.account.username:
        raise AccessDeniedError("that token belongs to another account")
    tokens.revoke(session.account.username, token_id)
    return back_to("account", notice=f"token {token.name} revoked")


# -- administration --------------------------------------------------------------------------


@router.get("/accounts")
def accounts_page(request: Request, session: Admin, notice: str = "") -> HTMLResponse:
    found = ctx_of(request).office.accounts.search(session.account.username)
    return page(request, session, "accounts.html", accounts=found, all_roles=list(Role), notice=notice)


@router.post("/accounts")
def account_create(
    request: Request,
    session: AdminForm,
    username: Annotated[str, Form(min_length=2, max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    roles: RolesField = [],  # noqa: B006
) -> RedirectResponse:
    name = username.strip().lower()
    ctx_of(request).office.accounts.add(session.account.username, name, password, _roles(roles))
    return back_to("accounts", notice=f"account {name} created")


@router.post("/accounts/{username}/disable")
def account_disable(request: Request, session: AdminForm, username: str) -> RedirectResponse:
    if username == session.account.username:
        raise UsageError("an admin cannot disable their own account here (ask another admin)")
    ctx_of(request).office.accounts.disable(session.account.username, username)
    return back_to("accounts", notice=f"{username} disabled; their sessions and tokens stopped")


@router.post("/accounts/{username}/enable")
def account_enable(request: Request, session: AdminForm, username: str) -> RedirectResponse:
    ctx_of(request).office.accounts.enable(session.account.username, username)
    return back_to("accounts", notice=f"{username} enabled")


@router.post("/accounts/{username}/password")
def account_password(
    request: Request, session: AdminForm, username: str, password: Annotated[str, Form(max_length=1024)]
) -> RedirectResponse:
    ctx_of(request).office.accounts.set_password(session.account.username, username, password)
    return back_to("accounts", notice=f"password of {username} reset; their sessions ended")
