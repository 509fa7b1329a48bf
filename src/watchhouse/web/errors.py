"""Turning the office's one exception tree into HTTP answers, the same way for API and console."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from watchhouse.core.errors import InputError, UsageError, WatchhouseError
from watchhouse.office.accounts.models import LoginFailedError
from watchhouse.office.errors import (
    AccessDeniedError,
    FourEyesError,
    IntegrityError,
    NotFoundError,
    PolicyError,
    RateLimitedError,
    TransitionError,
)
from watchhouse.web.context import ctx_of


class NotAuthenticatedError(WatchhouseError):
    """No live session: the API answers 401, the console sends the browser to the login page."""


class CsrfError(WatchhouseError):
    """A state-changing request without the session's CSRF token (a forged cross-site request?)."""


class ServiceUnavailableError(WatchhouseError):
    """A feature this office was opened without (the identity vault has no key)."""


class TooManyAttemptsError(WatchhouseError):
    """Too many login attempts from one client address."""


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotAuthenticatedError, 401),
    (LoginFailedError, 401),
    (CsrfError, 403),
    (AccessDeniedError, 403),
    (RateLimitedError, 429),
    (TooManyAttemptsError, 429),
    (FourEyesError, 409),
    (TransitionError, 409),
    (IntegrityError, 409),
    (NotFoundError, 404),
    (PolicyError, 403),
    (ServiceUnavailableError, 503),
    (UsageError, 400),
    (InputError, 400),
)


def status_for(exc: Exception) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def is_api(request: Request) -> bool:
    return is_api_path(request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WatchhouseError)
    async def _office_error(request: Request, exc: WatchhouseError) -> Response:
        status = status_for(exc)
        if is_api(request):
            return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)
        if isinstance(exc, NotAuthenticatedError):
            return RedirectResponse("/login", status_code=303)
        page = ctx_of(request).templates.get_template("error.html")
        html = page.render(status=status, message=str(exc), session=None, csrf_token="")
        return Response(html, status_code=status, media_type="text/html")
