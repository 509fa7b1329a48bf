"""The console's two static files, read once and served from memory.

Only these two exist, so a route each is simpler (and safer) than mounting a folder: nothing
else under ``static/`` can ever be served by accident.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"console.css": "text/css", "htmx.min.js": "text/javascript"}


def install_static(app: FastAPI) -> None:
    for name, media_type in ASSETS.items():
        body = (STATIC / name).read_bytes()

        def serve(body: bytes = body, media_type: str = media_type) -> Response:
            return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})

        app.add_api_route(f"/static/{name}", serve, methods=["GET"], include_in_schema=False)
