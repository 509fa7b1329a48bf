"""A real uvicorn server on 127.0.0.1 (random free port), bounded in time; and the CLI's bind guard."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from typer.testing import CliRunner

from watchhouse.cli.serve_cmd import serve_command
from watchhouse.office.accounts.roles import Role

from .web_helpers import PASSWORD, Clock, add_user, make_office


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_uvicorn_serves_login_and_api_on_loopback(tmp_path: Path) -> None:
    from watchhouse.web.app import create_app
    from watchhouse.web.settings import WebSettings

    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path, Clock())
    add_user(office, "ana", Role.ANALYST)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(office, WebSettings(secure_cookies=False)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "server did not start in 15 s"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert "Log in" in client.get("/login").text
            assert client.post("/api/v1/session", json={"username": "ana", "password": PASSWORD}).status_code == 200
            answer = client.get("/api/v1/alerts")
            assert answer.status_code == 200 and answer.json()["count"] == 0
            assert answer.headers["x-frame-options"] == "DENY"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        office.close()
    assert not thread.is_alive()


def test_serve_command_refuses_a_public_address_without_public(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()
    app.command("serve")(serve_command)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "--public" in str(result.exception)
