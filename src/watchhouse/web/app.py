"""The app factory: one FastAPI instance over one office, with everything it needs passed in."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Scope

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
from watchhouse.web.input_hygiene import RefuseNul
from watchhouse.web.portal.mount import install_portal
from watchhouse.web.portal.settings import PortalSettings
from watchhouse.web.security import install_headers
from watchhouse.web.settings import WebSettings
from watchhouse.web.static_files import install_static

HERE = Path(__file__).resolve().parent
WARM_CONNECTIONS = 4
"""Database connections opened and warmed at start-up: the concurrency one server process is
sized for (the triage load test's four connections)."""

_log = logging.getLogger(__name__)


def templates() -> Environment:
    """Autoescaping on for every template: office data (alert explanations, notes) is hostile input."""
    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )


def create_app(
    office: Office, settings: WebSettings, portal: PortalSettings | None = None, *, warm_up: bool = False
) -> FastAPI:
    """The office's API and console; ``warm_up`` (``watchhouse serve``) warms it before serving.

    Tests leave ``warm_up`` off: it costs a fraction of a second per app and they time nothing.
    """
    app = FastAPI(
        title="Watchhouse office",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the Swagger page loads scripts from a CDN, which our CSP forbids
        redoc_url=None,
        lifespan=_warm_before_serving if warm_up else None,
    )
    app.state.ctx = WebContext(
        office=office,
        settings=settings,
        templates=templates(),
        login_limiter=ClientLimiter(settings.client_login_attempts, settings.client_login_window.total_seconds()),
    )
    app.add_middleware(RefuseNul)  # added first, so the security headers wrap its refusals too
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
    install_static(app)

    return app


@asynccontextmanager
async def _warm_before_serving(app: FastAPI) -> AsyncIterator[None]:
    """Pay a fresh process's one-off costs before the first request instead of during it.

    uvicorn runs the lifespan start-up before it accepts a connection, so nobody waits on this;
    without it the first seconds under load were a p99 spike of 0.4-2.5 s (triage load test):
    FastAPI builds each router's routes on their first match, Jinja compiles each template on
    its first render, and the first queue pages opened and prepared everything in the database.
    Last, the heap that start-up built is frozen out of the garbage collector's full passes.
    """
    started = time.perf_counter()
    ctx = app.state.ctx
    await _request_nowhere(app)
    await run_in_threadpool(_compile_templates, ctx.templates)
    await run_in_threadpool(ctx.office.triage.warm_up, WARM_CONNECTIONS)
    await run_in_threadpool(ctx.office.audit.warm_up)
    _freeze_start_up_heap()
    _log.info("warmed up in %.2f s", time.perf_counter() - started)
    try:
        yield
    finally:
        gc.unfreeze()  # the process may live on (tests, an embedding program): leave the collector as found


async def _request_nowhere(app: FastAPI) -> None:
    """One in-process GET of a path no route takes: routing tries (and so builds) every route."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.warm-up",
        "raw_path": b"/.warm-up",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    await app(scope, receive, send)


def _freeze_start_up_heap() -> None:
    """Keep the garbage collector's full passes off everything that exists at start-up.

    The server's start-up heap (modules, routes, validators, compiled templates: about 190,000
    objects the collector tracks) lives as long as the process, yet every full collection walked
    all of it: 100-130 ms of CPU holding the GIL, about once per hundred requests, so every
    request in flight stalled together (the triage load test's p99). Frozen, those objects are
    never traversed again and a full collection covers only what requests allocated since.
    """
    gc.collect()
    gc.freeze()


def _compile_templates(env: Environment) -> None:
    for name in env.list_templates(filter_func=lambda n: "/" not in n):  # the console's own, not the portal's
        env.get_template(name)
