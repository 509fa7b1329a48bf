"""``watchhouse disclosure``, ``report transparency`` and ``case export`` as a user drives them (SQLite home)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from watchhouse.cli import case_cmd, case_export_cmd, disclosure_cmd, report_cmd
from watchhouse.office.errors import FourEyesError, LegalBasisError, TransitionError
from watchhouse.storage.alert_store import AlertStore

runner = CliRunner(env={"COLUMNS": "200", "WATCHHOUSE_DB_URL": None, "WATCHHOUSE_ACTOR": None})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "wh"
    AlertStore.sqlite(root / "office.db").close()
    return root


def run(app: typer.Typer, home: Path, actor: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--home", str(home), "--actor", actor])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def opening(*extra: str) -> list[str]:
    return [
        "open",
        "--authority",
        "Bundeskriminalamt",
        "--country",
        "de",
        "--type",
        "subscriber_info",
        "--account",
        "alice@example.org",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--category",
        "subscriber",
        *extra,
    ]


def test_request_to_production_report_and_export(home: Path, tmp_path: Path) -> None:
    case_out = run(case_cmd.app, home, "rita", "open", "Takeover", "--crime", "illegal_access")
    case_id = case_out.split()[1]
    refused = runner.invoke(disclosure_cmd.app, [*opening(), "--home", str(home), "--actor", "rita"])
    assert isinstance(refused.exception, LegalBasisError)

    legal = ["--instrument", "production order", "--reference", "AZ-1", "--issuer", "AG Berlin", "--case", case_id]
    dr = run(disclosure_cmd.app, home, "rita", *opening(*legal)).split()[1]
    assert dr.startswith("DR-") and dr in run(disclosure_cmd.app, home, "x", "list")
    shown = run(disclosure_cmd.app, home, "auditor", "show", dr)
    assert '"p-' in shown and "alice@example.org" not in shown  # the named account was pseudonymised
    run(disclosure_cmd.app, home, "lena", "review", dr)
    own = runner.invoke(disclosure_cmd.app, ["approve", dr, "--home", str(home), "--actor", "rita"])
    assert isinstance(own.exception, FourEyesError)
    assert "1 approval(s)" in run(disclosure_cmd.app, home, "lena", "approve", dr)
    data = tmp_path / "subscriber.txt"
    data.write_text("subscriber record\n")
    early = runner.invoke(disclosure_cmd.app, ["produce", dr, str(data), "--home", str(home), "--actor", "sam"])
    assert isinstance(early.exception, TransitionError)
    assert "approved (2 approval(s))" in run(disclosure_cmd.app, home, "omar", "approve", dr)
    assert "produced as ev-" in run(disclosure_cmd.app, home, "sam", "produce", dr, str(data))
    assert "closed" in run(disclosure_cmd.app, home, "rita", "close", dr)
    assert "0 overdue" in run(disclosure_cmd.app, home, "auditor", "overdue")

    out = run(
        report_cmd.app,
        home,
        "pr",
        "transparency",
        "--from",
        "2020-01-01",
        "--to",
        "2100-12-31",
        "--out",
        str(tmp_path / "r"),
    )
    assert "1 request(s)" in out and (tmp_path / "r" / "transparency.html").exists()

    app = typer.Typer()
    app.callback()(lambda: None)
    case_export_cmd.register(app)
    for fmt in ("stix", "misp", "html"):
        target = tmp_path / f"case.{fmt}"
        done = run(app, home, "rita", "export", case_id, "--format", fmt, "--out", str(target))
        assert f"as {fmt}" in done and "sealed as ev-" in done and target.stat().st_size > 0


def test_emergency_without_followup_is_listed_overdue(home: Path) -> None:
    emergency = [
        "open",
        "--authority",
        "Police",
        "--country",
        "FR",
        "--type",
        "emergency",
        "--account",
        "bob",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-02",
        "--category",
        "ip_logs",
    ]
    bad = runner.invoke(disclosure_cmd.app, [*emergency, "--home", str(home), "--actor", "rita"])
    assert "justification" in str(bad.exception)
    out = run(disclosure_cmd.app, home, "rita", *emergency, "--justification", "threat to life")
    assert "follow-up instrument due" in out
    assert "0 overdue" in run(disclosure_cmd.app, home, "auditor", "overdue")  # due in 72 h
