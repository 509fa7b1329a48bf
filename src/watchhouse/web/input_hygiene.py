"""Refuse NUL characters in what a request sends, before any route sees it.

A NUL has no place in a search filter, a case note or a purpose, and the two office backends
disagree about it: SQLite stores it, PostgreSQL refuses it with an error that surfaced as a 500.
One check at the edge gives both backends the same clear 400 and keeps the rule out of every
route. It looks at the path, the query string, and JSON or URL-encoded form bodies; multipart
uploads and the public portal's forms are left to the portal's form code, which refuses control
characters field by field with messages written for the people reporting a crime.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchhouse.web.errors import is_api_path

MESSAGE = "the request contains a NUL character (%00), which the office does not accept in any field"
_CHECKED_BODIES = (b"application/json", b"application/x-www-form-urlencoded")
_OWN_FORM_CHECKS = ("/report",)  # the public portal (see web/portal/form.py clean_text)
_MAX_BUFFERED = 8 * 1024 * 1024  # larger bodies stream through unchecked; routes limit their own sizes


def _has_nul(raw: bytes, *, json_body: bool = False) -> bool:
    """A raw NUL, or its escape: ``\\u0000`` in JSON, ``%00`` in URL-encoded text."""
    return b"\x00" in raw or (b"\\u0000" if json_body else b"%00") in raw


class RefuseNul:
    """Plain ASGI middleware (no extra task per request, see ``security.SecurityHeaders``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or _has_nul(scope["query_string"]):
            await _refuse(scope, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type not in _CHECKED_BODIES or scope["path"].startswith(_OWN_FORM_CHECKS):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False) or size > _MAX_BUFFERED:
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if _has_nul(body, json_body=content_type == b"application/json"):
            await _refuse(scope, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send) -> None:
    if is_api_path(scope["path"]):
        body = json.dumps({"error": "InputError", "detail": MESSAGE}).encode()
        kind = b"application/json"
    else:
        body = MESSAGE.encode()
        kind = b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
