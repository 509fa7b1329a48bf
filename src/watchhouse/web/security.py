"""Response headers and cookie rules every page and API answer gets.

The console's only script is htmx, one vendored file served from our own origin (see
``static/VENDORED.md``), so the Content-Security-Policy allows scripts from ``'self'`` and nothing
else: no inline script, no ``eval`` (htmx is configured not to need either); styles come only from
our own stylesheet. Pages may not be framed (clickjacking), are not
cached (they hold case data), and send no referrer (URLs carry case and alert ids).
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchhouse.web.settings import WebSettings

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(secure: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


class SecurityHeaders:
    """Plain ASGI middleware adding the headers a response does not set itself.

    Starlette's ``BaseHTTPMiddleware`` (what ``@app.middleware("http")`` builds) runs each request
    through an extra task and stream; it cost ~15% of the portal's CPU per submission under load.
    Setting headers only needs the ``http.response.start`` message, so this wraps ``send`` instead.
    """

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_headers(app: FastAPI, settings: WebSettings) -> None:
    app.add_middleware(SecurityHeaders, headers=security_headers(settings.secure_cookies))


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest((given or "").encode(), expected.encode())


def set_cookie(response: Response, settings: WebSettings, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=settings.secure_cookies, httponly=True, samesite="strict"
    )
