"""``watchhouse serve``: the office's API and console on this machine (127.0.0.1 unless --public).

Binding beyond loopback exposes case data to the network, so it needs ``--public`` and prints a
warning; put a TLS-terminating proxy in front and keep ``--secure-cookies`` on there.

``--workers N`` runs N server processes on one socket (uvicorn's workers). One Python process
runs one request's Python at a time, so on a multi-core machine under concurrent use a second
process cuts queueing (see ``bench/triage_load.py``). Everything a request depends on is shared
through the database (sessions and their CSRF tokens, per-account lockouts, the audit chain and
its checkpoints, portal replay protection); only the per-address attempt limiters are counted in
each process, so one address gets up to N times their limit before the durable per-account
lockout takes over.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError

from .audit_cmd import DbUrlOption, HomeOption, open_local_office

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_WORKERS = 1
WORKER_ENV = "WATCHHOUSE_SERVE_WORKER"
"""How the serving command tells its worker processes which office to open (they are spawned
fresh by uvicorn and import :func:`worker_app`, so the office cannot be handed over as an object)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, public: bool) -> str | None:
    """Refuse a non-loopback address without ``--public``; return the warning to print with it."""
    if is_loopback(host):
        return None
    if not public:
        raise UsageError(f"{host} is not a loopback address; pass --public to serve the office to the network")
    return f"warning: serving the office on {host}: anyone who can reach it can try to log in; use TLS in front"


@dataclass(frozen=True)
class ServeTarget:
    """What a server process opens: the office (home or database URL) and its cookie setting."""

    home: str | None
    db_url: str | None
    secure_cookies: bool

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> ServeTarget:
        values = json.loads(text)
        return cls(values["home"], values["db_url"], bool(values["secure_cookies"]))

    def app(self) -> FastAPI:
        """The app over this process's own connection to the office, warmed before it serves."""
        from watchhouse.web.app import create_app
        from watchhouse.web.settings import WebSettings

        office = open_local_office(Path(self.home) if self.home else None, self.db_url)
        return create_app(office, WebSettings(secure_cookies=self.secure_cookies), warm_up=True)


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process of ``serve --workers N``."""
    return ServeTarget.from_env(os.environ[WORKER_ENV]).app()


def run_server(
    target: ServeTarget,
    host: str,
    port: int,
    workers: int = DEFAULT_WORKERS,
    *,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    """Serve ``target`` until interrupted: in this process, or in ``workers`` worker processes.

    The office must exist (the caller creates it): workers must not race to run its migrations.
    """
    import uvicorn

    serve = partial(uvicorn.run, host=host, port=port, log_level=log_level, access_log=access_log, server_header=False)
    if workers > 1:
        os.environ[WORKER_ENV] = target.to_env()
        serve(f"{__name__}:worker_app", factory=True, workers=workers)
        return
    app = target.app()
    try:
        serve(app)
    finally:
        app.state.ctx.office.close()


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    public: Annotated[bool, typer.Option("--public", help="Allow a non-loopback address.")] = False,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--insecure-cookies",
            help="Mark cookies Secure (needs HTTPS). Default: on with --public, off on loopback HTTP.",
        ),
    ] = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port. More than one uses more cores under concurrent use; "
            "per-address login limits are then counted in each process.",
        ),
    ] = DEFAULT_WORKERS,
) -> None:
    """Serve the JSON API (/api/v1) and the web console. Create accounts with `watchhouse user add`."""
    warning = check_bind(host, public)
    if warning:
        plain_console(stderr=True).print(warning, style="bold yellow", highlight=False)
    open_local_office(home, db_url, must_exist=False).close()  # created and migrated once, here
    target = ServeTarget(str(home) if home else None, db_url, public if secure_cookies is None else secure_cookies)
    plain_console().print(f"Watchhouse office on http://{host}:{port}/ (Ctrl-C to stop)", highlight=False)
    run_server(target, host, port, workers)
