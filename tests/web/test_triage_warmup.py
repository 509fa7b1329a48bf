"""The server's start-up warm-up: what it prepares before the first request, and what it must not do.

It runs as the app's lifespan start-up (uvicorn finishes it before accepting connections); here a
``TestClient`` used as a context manager runs it the same way.
"""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from watchhouse.office.accounts.roles import Role
from watchhouse.office.triage.warmup import QUEUE_SHAPES, warm_queue
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade
from watchhouse.web.app import create_app
from watchhouse.web.settings import WebSettings

from .web_helpers import Clock, add_user, alert, api_login, make_office


def _queue_ids(client: TestClient, **params: str) -> list[str]:
    api = api_login(client, "ana")
    answer = api.get("/api/v1/alerts", limit=20, **params)
    assert answer.status_code == 200, answer.text
    return [a["id"] for a in answer.json()["alerts"]]


def test_warm_up_records_nothing_and_the_queue_answers_as_without_it(db_url: str, tmp_path: Path) -> None:
    office = make_office(db_url, tmp_path, Clock())
    add_user(office, "ana", Role.ANALYST)
    office.alerts.save([alert(n) for n in range(60)])
    try:
        frozen_before = gc.get_freeze_count()
        entries_before = office.audit.count()
        warm = create_app(office, WebSettings(), warm_up=True)
        with TestClient(warm, base_url="https://testserver") as client:
            assert office.audit.count() == entries_before, "warming must not read alerts on anyone's behalf"
            assert gc.get_freeze_count() > frozen_before, "the start-up heap is frozen out of full collections"
            warmed = _queue_ids(client), _queue_ids(client, status="new", min_severity="high")
        assert gc.get_freeze_count() == frozen_before, "shutdown leaves the collector as it found it"
        cold = TestClient(create_app(office, WebSettings()), base_url="https://testserver")
        assert (_queue_ids(cold), _queue_ids(cold, status="new", min_severity="high")) == warmed
        assert warmed[0] == [f"wh-{n:024d}" for n in range(59, 39, -1)]  # newest first, same severity
    finally:
        office.close()


def test_warm_up_compiles_the_console_templates_before_the_first_page(tmp_path: Path) -> None:
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path, Clock())
    try:
        app = create_app(office, WebSettings(), warm_up=True)
        templates = app.state.ctx.templates
        assert not templates.cache
        with TestClient(app, base_url="https://testserver"):
            compiled = {key[1] for key in templates.cache}
        assert {"alerts.html", "alert.html", "base.html", "login.html"} <= compiled
        assert not any("/" in name for name in compiled), "the portal's templates are its own"
    finally:
        office.close()


def test_warm_queue_keeps_the_connections_it_opened_and_returns_no_rows(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    try:
        upgrade(engine)
        run = warm_queue(engine, 3)
        assert run == 3 * 3 * len(QUEUE_SHAPES)  # per connection: each shape's page, next page and count
        assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_an_app_without_warm_up_starts_as_before(tmp_path: Path) -> None:
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path, Clock())
    try:
        app = create_app(office, WebSettings())
        frozen_before = gc.get_freeze_count()
        with TestClient(app, base_url="https://testserver") as client:
            assert client.get("/login").status_code == 200
            assert gc.get_freeze_count() == frozen_before
            assert not any(key[1] == "alerts.html" for key in app.state.ctx.templates.cache)
    finally:
        office.close()
