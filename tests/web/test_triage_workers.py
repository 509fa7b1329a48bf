"""``watchhouse serve --workers N``: several server processes behave as one office.

A session opened through one process must work in every other (sessions and CSRF tokens live in
the database), and audit entries appended by several processes at once must still form one
intact, checkpointed chain.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from watchhouse.cli.audit_cmd import open_local_office
from watchhouse.cli.serve_cmd import WORKER_ENV, ServeTarget, worker_app
from watchhouse.office.accounts.roles import Role
from watchhouse.office.audit.entries import Action
from watchhouse.storage.alert_store import AlertFilter

from .web_helpers import PASSWORD, alert


def _office_home(tmp_path: Path, alerts: int = 30) -> Path:
    home = tmp_path / "office"
    with open_local_office(home, None, must_exist=False) as office:
        office.accounts.add("local:admin", "ana", PASSWORD, (Role.ANALYST,))
        office.alerts.save([alert(n) for n in range(alerts)])
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_serve_target_reaches_a_worker_through_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _office_home(tmp_path)
    target = ServeTarget(str(home), None, secure_cookies=False)
    assert ServeTarget.from_env(target.to_env()) == target
    monkeypatch.setenv(WORKER_ENV, target.to_env())
    app = worker_app()
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:  # the worker's warm-up runs here
            login = client.post("/api/v1/session", json={"username": "ana", "password": PASSWORD})
            assert login.status_code == 200
            assert "secure" not in login.headers["set-cookie"].lower()
            assert client.get("/api/v1/alerts").json()["count"] == 30
    finally:
        app.state.ctx.office.close()


def _start(home: Path, port: int, workers: int) -> subprocess.Popen[str]:
    code = (
        "import sys; from watchhouse.cli.serve_cmd import ServeTarget, run_server; "
        "run_server(ServeTarget(sys.argv[1], None, False), '127.0.0.1', int(sys.argv[2]), int(sys.argv[3]), "
        "access_log=False)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(home), str(port), str(workers)], stderr=subprocess.PIPE, text=True
    )


def _wait_ready(server: subprocess.Popen[str], workers: int, seconds: float = 120) -> None:
    assert server.stderr is not None
    deadline, ready = time.monotonic() + seconds, 0
    while ready < workers:
        assert time.monotonic() < deadline, "the workers did not start"
        line = server.stderr.readline()
        assert line, f"the server exited (code {server.poll()})"
        ready += "Application startup complete" in line


@pytest.mark.slow
def test_two_workers_share_sessions_csrf_and_one_intact_audit_chain(tmp_path: Path) -> None:
    home = _office_home(tmp_path)
    port = _free_port()
    server = _start(home, port, 2)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, 2)  # each worker process reports its own start-up
        login = httpx.post(f"{base}/api/v1/session", json={"username": "ana", "password": PASSWORD}, timeout=30)
        assert login.status_code == 200
        cookies, csrf = {"wh_session": login.cookies["wh_session"]}, login.json()["csrf_token"]

        def read(n: int) -> int:  # a fresh connection each time: any worker may take it
            return httpx.get(
                f"{base}/api/v1/alerts", params={"limit": 5 + n % 3}, cookies=cookies, timeout=30
            ).status_code

        def change(n: int, token: str) -> int:
            url = f"{base}/api/v1/alerts/wh-{n:024d}/assign"
            body = {"value": "ana", "reason": "taking it"}
            return httpx.post(url, json=body, cookies=cookies, headers={"X-CSRF-Token": token}, timeout=30).status_code

        with ThreadPoolExecutor(4) as pool:
            reads = list(pool.map(read, range(140)))
            changes = list(pool.map(change, range(10), [csrf] * 10))
            forged = list(pool.map(change, range(10, 14), ["not-the-token"] * 4))
        assert reads == [200] * 140
        assert changes == [200] * 10
        assert forged == [403] * 4
    finally:
        server.terminate()
        server.wait(timeout=30)

    with open_local_office(home, None) as office:
        searches = [e for e in office.audit.tail(500) if e.action == Action.SEARCH]
        assert len(searches) == 140, "every read was audited, whichever process served it"
        assert office.audit.checkpoints(), "the processes took automatic checkpoints"
        report = office.audit.verify()
        assert report.ok, report.problems
        assigned = {v.alert.id for v in office.triage.search("auditor", AlertFilter(assignee="ana", limit=100))}
    assert assigned == {f"wh-{n:024d}" for n in range(10)}
