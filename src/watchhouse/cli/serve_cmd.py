"""``watchhouse serve``: the office's API and console on this machine (127.0.0.1 unless --public).

Binding beyond loopback exposes case data to the network, so it needs ``--public`` and prints a
warning; put a TLS-terminating proxy in front and keep ``--secure-cookies`` on there.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer
from rich.console import Console

from watchhouse.core.errors import UsageError

from .audit_cmd import DbUrlOption, HomeOption, open_local_office


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
) -> None:
    """Serve the JSON API (/api/v1) and the web console. Create accounts with `watchhouse user add`."""
    import uvicorn

    from watchhouse.web.app import create_app
    from watchhouse.web.settings import WebSettings

    warning = check_bind(host, public)
    if warning:
        Console(stderr=True).print(f"[bold yellow]{warning}[/bold yellow]", highlight=False)
    office = open_local_office(home, db_url, must_exist=False)
    settings = WebSettings(secure_cookies=public if secure_cookies is None else secure_cookies)
    try:
        Console().print(f"Watchhouse office on http://{host}:{port}/ (Ctrl-C to stop)", highlight=False)
        uvicorn.run(create_app(office, settings), host=host, port=port, log_level="info", server_header=False)
    finally:
        office.close()
