"""Mounting the portal into the app: its routers, its state, its stylesheet and script."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

from watchhouse.office.services import Office
from watchhouse.web.context import ClientLimiter
from watchhouse.web.portal import desk_routes, routes
from watchhouse.web.portal.challenge import Challenges
from watchhouse.web.portal.context import PortalContext
from watchhouse.web.portal.reporter_session import ReporterSessions
from watchhouse.web.portal.settings import PortalSettings

STATIC = Path(__file__).resolve().parent / "static"


def _match_first(app: FastAPI, start: int) -> None:
    """Move the routes added since ``start`` to the front of the app's route list.

    Routing tries routes in order, and each included router costs a match attempt: the public
    ``/report`` pages, which take the traffic of a whole platform's users, were tried after every
    console and API router (a fifth of the server's CPU per submission under load). Nothing else
    serves a path under ``/report``, so trying these first changes no answer, only the cost.
    """
    added = app.router.routes[start:]
    del app.router.routes[start:]
    app.router.routes[0:0] = added


def install_portal(app: FastAPI, office: Office, settings: PortalSettings) -> None:
    key = office.portal.keys.token_key
    app.state.portal = PortalContext(
        settings=settings,
        challenges=Challenges(key, settings.pow_difficulty, settings.challenge_ttl_s),
        sessions=ReporterSessions(key, settings.reporter_session_s),
        submit_limiter=ClientLimiter(settings.submissions_per_client, settings.submission_window_s),
        status_limiter=ClientLimiter(settings.status_logins_per_client, settings.status_window_s),
    )
    first_public = len(app.router.routes)
    app.include_router(routes.router)
    _match_first(app, first_public)
    for router in (desk_routes.pages, desk_routes.api):
        app.include_router(router)
    assets = {
        "portal.css": ((STATIC / "portal.css").read_bytes(), "text/css"),
        "pow.js": ((STATIC / "pow.js").read_bytes(), "text/javascript"),
    }

    @app.get("/report/static/{name}", include_in_schema=False)
    def _asset(name: str) -> Response:
        if name not in assets:
            return Response("not found", status_code=404, media_type="text/plain")
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
