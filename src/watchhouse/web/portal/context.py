"""The portal's per-app state (challenges, limiters, reporter sessions) and form reading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from watchhouse.core.digits import ascii_digits
from watchhouse.core.errors import UsageError
from watchhouse.web.context import ClientLimiter
from watchhouse.web.portal.challenge import Challenges
from watchhouse.web.portal.reporter_session import ReporterSessions
from watchhouse.web.portal.settings import PortalSettings

PORTAL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""The console's policy plus our own script (the proof of work); still no inline script at all."""


class BodyTooLargeError(UsageError):
    """The request body is over the portal's size cap (answered 413)."""


@dataclass(frozen=True)
class PortalContext:
    settings: PortalSettings
    challenges: Challenges
    sessions: ReporterSessions
    submit_limiter: ClientLimiter
    status_limiter: ClientLimiter


def portal_of(request: Request) -> PortalContext:
    return cast(PortalContext, request.app.state.portal)


async def read_form(request: Request, max_files: int) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Fields (first value each) and files (name, bytes), within the portal's limits."""
    settings = portal_of(request).settings
    declared = request.headers.get("content-length", "")
    if ascii_digits(declared) and int(declared) > settings.max_body_bytes:
        raise BodyTooLargeError(f"the report is too large: at most {settings.max_body_bytes // (1024 * 1024)} MiB")
    try:
        form = await request.form(max_files=max_files + 1, max_fields=100, max_part_size=64 * 1024)
    except HTTPException as exc:
        raise UsageError(f"the form could not be read: {exc.detail}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"the form could not be read: {type(exc).__name__}") from None
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    total = 0
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read(settings.upload.max_bytes + 1)
            total += len(data)
            if total > settings.max_body_bytes:
                raise BodyTooLargeError("the attachments are too large")
            files.append((value.filename or "", data))
        elif key not in fields:
            fields[key] = value
    return fields, files
