"""Public portal pages: the report form, the receipt, the status page (with its own session).

Nothing here needs an office account, and nothing here reaches office data except through
``office.portal`` (submit, status, add, appeal): a reporter sees their own report and no other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from watchhouse.core.errors import UsageError
from watchhouse.office.errors import NotFoundError, PolicyError, TransitionError
from watchhouse.office.portal.limits import ReplayedChallengeError, SubmitGuard, TooManyReportsError
from watchhouse.office.portal.models import CATEGORIES, ROLE_LABELS, STATUS_LABELS
from watchhouse.office.portal.uploads import scan
from watchhouse.web.context import client_of, ctx_of
from watchhouse.web.portal.context import PORTAL_CSP, BodyTooLargeError, portal_of, read_form
from watchhouse.web.portal.form import IDENTIFIER_FIELDS, METHODS, parse
from watchhouse.web.portal.reporter_session import ReporterSession
from watchhouse.web.security import same_token

router = APIRouter(prefix="/report", include_in_schema=False)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    html = ctx_of(request).templates.get_template(f"portal/{template}").render(**values)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": PORTAL_CSP})


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str], status_code: int) -> Response:
    if wants_json(request):
        return JSONResponse({"errors": errors}, status_code=status_code)
    challenge = portal_of(request).challenges.issue()
    return render(
        request,
        "form.html",
        status_code,
        values=values,
        errors=errors,
        challenge=challenge,
        roles=ROLE_LABELS,
        categories=CATEGORIES.values(),
        identifier_fields=IDENTIFIER_FIELDS,
        methods=METHODS,
        policy=portal_of(request).settings.upload,
    )


@router.get("")
def form_page(request: Request) -> Response:
    return _form_page(request, {}, {}, 200)


@router.get("/challenge")
async def challenge(request: Request) -> JSONResponse:
    """A fresh challenge for scripted clients (the load test): token, salt, difficulty, question.

    ``async``: issuing is a few microseconds of hashing that never blocks, so it runs on the event
    loop instead of paying a hop to the thread pool (which a plain ``def`` endpoint gets).
    """
    found = portal_of(request).challenges.issue()
    return JSONResponse({"token": found.token, "salt": found.salt, "difficulty": found.difficulty})


@router.post("")
async def submit(request: Request) -> Response:
    portal = portal_of(request)
    if not portal.submit_limiter.allow(client_of(request)):
        return _form_page(
            request, {}, {"form": "Too many reports from your connection; please wait a few minutes."}, 429
        )
    try:
        fields, files = await read_form(request, portal.settings.upload.max_files)
    except BodyTooLargeError as exc:
        return _form_page(request, {}, {"attachments": str(exc)}, 413)
    except UsageError as exc:
        return _form_page(request, {}, {"form": str(exc)}, 400)
    values = {k: v for k, v in fields.items() if k not in ("challenge_token", "pow_nonce", "challenge_answer")}
    try:
        salt, expires = portal.challenges.verify(
            fields.get("challenge_token", ""), fields.get("pow_nonce", ""), fields.get("challenge_answer", "")
        )
    except UsageError as exc:
        return _form_page(request, values, {"challenge_answer": str(exc)}, 400)
    parsed = parse(fields, files, portal.settings.upload)
    if parsed.draft is None:
        return _form_page(request, values, parsed.errors, 400)
    guard = SubmitGuard(
        challenge=salt,
        challenge_expires=datetime.fromtimestamp(expires, UTC),
        per_client=portal.settings.submissions_per_client,
        window=timedelta(seconds=portal.settings.submission_window_s),
    )
    office = ctx_of(request).office
    try:
        receipt = await run_in_threadpool(office.portal.submit, parsed.draft, client_of(request), guard)
    except TooManyReportsError as exc:
        return _form_page(request, values, {"form": str(exc)}, 429)
    except ReplayedChallengeError as exc:
        return _form_page(request, values, {"challenge_answer": str(exc)}, 400)
    if wants_json(request):
        return JSONResponse({"reference": receipt.reference, "secret": receipt.secret}, status_code=201)
    return render(request, "receipt.html", 201, receipt=receipt, urgent=parsed.draft.urgent)


@router.get("/status")
def status_login(request: Request) -> Response:
    return render(request, "status_login.html", errors={}, reference="")


@router.post("/status")
def status_open(
    request: Request,
    reference: Annotated[str, Form(max_length=40)] = "",
    secret: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    portal = portal_of(request)
    if not portal.status_limiter.allow(client_of(request)):
        errors = {"reference": "Too many tries from your connection; please wait a few minutes."}
        return render(request, "status_login.html", 429, errors=errors, reference=reference)
    try:
        ref = ctx_of(request).office.portal.authenticate(reference, secret)
    except NotFoundError as exc:
        return render(request, "status_login.html", 404, errors={"reference": str(exc)}, reference=reference)
    answer = RedirectResponse("/report/status/view", status_code=303)
    answer.set_cookie(
        portal.settings.reporter_cookie,
        portal.sessions.issue(ref),
        max_age=portal.settings.reporter_session_s,
        path="/report",
        secure=ctx_of(request).settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return answer


def reporter_of(request: Request) -> ReporterSession | None:
    portal = portal_of(request)
    return portal.sessions.read(request.cookies.get(portal.settings.reporter_cookie))


@router.get("/status/view")
def status_view(request: Request, notice: str = "") -> Response:
    session = reporter_of(request)
    if session is None:
        return RedirectResponse("/report/status", status_code=303)
    view = ctx_of(request).office.portal.status(session.reference)
    return render(
        request, "status.html", view=view, csrf_token=session.csrf_token, notice=notice[:200], labels=STATUS_LABELS
    )


async def _reporter_post(
    request: Request,
) -> tuple[ReporterSession, dict[str, str], list[tuple[str, bytes]]] | Response:
    session = reporter_of(request)
    if session is None:
        return RedirectResponse("/report/status", status_code=303)
    try:
        fields, files = await read_form(request, portal_of(request).settings.upload.max_files)
    except UsageError as exc:
        return render(request, "message.html", 400, title="Could not read the form", message=str(exc))
    if not same_token(fields.get("csrf_token"), session.csrf_token):
        return render(
            request, "message.html", 403, title="Form expired", message="Reload the status page and try again."
        )
    return session, fields, files


@router.post("/status/add")
async def add(request: Request) -> Response:
    got = await _reporter_post(request)
    if isinstance(got, Response):
        return got
    session, fields, files = got
    text = fields.get("text", "")
    try:
        if len(text) > 10_000:
            raise UsageError("at most 10000 characters")
        uploads = scan([f for f in files if f[0] or f[1]], portal_of(request).settings.upload)
        await run_in_threadpool(ctx_of(request).office.portal.add_information, session.reference, text, uploads)
    except (UsageError, TransitionError) as exc:
        return render(request, "message.html", 400, title="Nothing was added", message=str(exc))
    return RedirectResponse("/report/status/view?notice=Thank+you%2C+your+information+was+added", status_code=303)


@router.post("/status/appeal")
async def appeal(request: Request) -> Response:
    got = await _reporter_post(request)
    if isinstance(got, Response):
        return got
    session, fields, _ = got
    try:
        text = fields.get("text", "")
        if len(text) > 10_000:
            raise UsageError("at most 10000 characters")
        await run_in_threadpool(ctx_of(request).office.portal.appeal, session.reference, text)
    except (UsageError, PolicyError) as exc:
        return render(request, "message.html", 400, title="The appeal was not filed", message=str(exc))
    return RedirectResponse("/report/status/view?notice=Your+appeal+was+filed", status_code=303)


@router.post("/status/logout")
def logout(request: Request) -> Response:
    answer = RedirectResponse("/report/status", status_code=303)
    answer.delete_cookie(portal_of(request).settings.reporter_cookie, path="/report")
    return answer
