"""The app factory: one FastAPI instance over one office, with everything it needs passed in."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from watchhouse import __version__
from watchhouse.office.services import Office
from watchhouse.web.api import alerts, audit, cases, disclosure, evidence, exports, identity, reports, session, tokens
from watchhouse.web.console import (
    account_pages,
    alerts_pages,
    audit_pages,
    case_pages,
    disclosure_pages,
    evidence_pages,
    login_pages,
    report_pages,
)
from watchhouse.web.context import ClientLimiter, WebContext
from watchhouse.web.errors import install_error_handlers
from watchhouse.web.portal.mount import install_portal
from watchhouse.web.portal.settings import PortalSettings
from watchhouse.web.security import install_headers
from watchhouse.web.settings import WebSettings

HERE = Path(__file__).resolve().parent


def templates() -> Environment:
    """Autoescaping on for every template: office data (alert explanations, notes) is hostile input."""
    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )


def create_app(office: Office, settings: WebSettings, portal: PortalSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="Watchhouse office",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the Swagger page loads scripts from a CDN, which our CSP forbids
        redoc_url=None,
    )
    app.state.ctx = WebContext(
        office=office,
        settings=settings,
        templates=templates(),
        login_limiter=ClientLimiter(settings.client_login_attempts, settings.client_login_window.total_seconds()),
    )
    install_headers(app, settings)
    install_error_handlers(app)
    for module in (session, tokens, alerts, cases, evidence, audit, identity, disclosure, reports, exports):
        app.include_router(module.router)
    for page in (
        login_pages,
        account_pages,
        alerts_pages,
        case_pages,
        evidence_pages,
        audit_pages,
        disclosure_pages,
        report_pages,
    ):
        app.include_router(page.router)
    install_portal(app, office, portal or PortalSettings())
    stylesheet = (HERE / "static" / "console.css").read_bytes()

    @app.get("/static/console.css", include_in_schema=False)
    def _css() -> Response:
        return Response(stylesheet, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    return app
