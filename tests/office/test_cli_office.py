"""``watchhouse audit`` and ``watchhouse evidence`` as a user drives them (SQLite home)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchhouse.cli import audit_cmd, evidence_cmd
from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.findings import EventRef
from watchhouse.office.errors import IntegrityError
from watchhouse.storage.alert_store import AlertStore

from .test_evidence import make_alert, write_log

runner = CliRunner(env={"COLUMNS": "200", "WATCHHOUSE_ACTOR": "tester", "WATCHHOUSE_DB_URL": None})


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, str]:
    """An office home with one stored alert whose source log exists."""
    root = tmp_path / "wh"
    log = tmp_path / "access.log"
    offsets = write_log(log, gz=False)
    alert = make_alert((EventRef(str(log), 1, offsets[0]), EventRef(str(log), 2, offsets[1])))
    store = AlertStore.sqlite(root / "office.db")
    store.save([alert])
    store.close()
    return root, alert.id


def test_seal_list_show_export_verify_then_audit(home: tuple[Path, str], tmp_path: Path) -> None:
    root, alert_id = home
    at = ["--home", str(root)]
    sealed = runner.invoke(evidence_cmd.app, ["seal-alert", alert_id[:12], "--purpose", "case 7", *at])
    assert sealed.exit_code == 0, sealed.output
    assert "sealed ev-" in sealed.output and "2 line(s)" in sealed.output
    item_id = sealed.output.split("sealed ")[1].split(":")[0]
    assert item_id in runner.invoke(evidence_cmd.app, ["list", *at]).output
    shown = runner.invoke(evidence_cmd.app, ["show", item_id[:10], *at])
    assert shown.exit_code == 0 and '"collected"' in shown.output and '"viewed"' in shown.output
    exported = runner.invoke(evidence_cmd.app, ["export", item_id, "--to", str(tmp_path / "out"), *at])
    assert exported.exit_code == 0 and (tmp_path / "out" / item_id / "manifest.json").exists()
    checked = runner.invoke(evidence_cmd.app, ["verify", *at])
    assert checked.exit_code == 0 and "1 item(s) intact" in checked.output

    assert runner.invoke(audit_cmd.app, ["checkpoint", *at]).exit_code == 0
    verified = runner.invoke(audit_cmd.app, ["verify", *at])
    assert verified.exit_code == 0 and "audit log intact: 6 entries, 1 signed checkpoint(s)" in verified.output
    tail = runner.invoke(audit_cmd.app, ["tail", "-n", "3", *at])
    assert "tester  export  evidence:" + item_id in tail.output
    assert '"seq": 2' in runner.invoke(audit_cmd.app, ["show", "2", *at]).output
    proof = runner.invoke(audit_cmd.app, ["prove", "--from", "3", "--to", "6", *at])
    assert proof.exit_code == 0 and '"first": 3' in proof.output
    inclusion = runner.invoke(audit_cmd.app, ["prove-inclusion", "4", *at])
    assert inclusion.exit_code == 0 and '"tree_size": 6' in inclusion.output

    pem = runner.invoke(audit_cmd.app, ["public-key", *at]).output
    key_file = tmp_path / "audit.pub"
    key_file.write_text(pem)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert runner.invoke(audit_cmd.app, ["verify", "--public-key", str(key_file), *at]).exit_code == 0


def test_tampering_is_reported_with_the_entry(home: tuple[Path, str]) -> None:
    root, alert_id = home
    at = ["--home", str(root)]
    runner.invoke(evidence_cmd.app, ["seal-alert", alert_id, *at])
    with sqlite3.connect(root / "office.db") as conn:
        conn.execute("UPDATE audit_entries SET purpose = 'nothing to see' WHERE seq = 2")
    result = runner.invoke(audit_cmd.app, ["verify", *at])
    assert isinstance(result.exception, IntegrityError)
    assert "entry 2: content-changed" in result.output
    assert "entry 2" in str(result.exception)


def test_export_of_tampered_evidence_fails_with_one_error(home: tuple[Path, str], tmp_path: Path) -> None:
    root, alert_id = home
    at = ["--home", str(root)]
    sealed = runner.invoke(evidence_cmd.app, ["seal-alert", alert_id, *at])
    sha = sealed.output.split("sha256 ")[1].strip()
    blob = root / "evidence" / "sha256" / sha[:2] / sha[2:4] / sha
    blob.chmod(0o600)
    blob.write_bytes(b"{}")
    result = runner.invoke(evidence_cmd.app, ["export", "ev-", "--to", str(tmp_path / "x"), *at])
    assert isinstance(result.exception, IntegrityError) and "export refused" in str(result.exception)
    assert isinstance(runner.invoke(evidence_cmd.app, ["verify", *at]).exception, IntegrityError)


def test_user_mistakes_are_watchhouse_errors(home: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = home
    missing = runner.invoke(audit_cmd.app, ["verify", "--home", str(tmp_path / "none")])
    assert isinstance(missing.exception, UsageError) and "no office database" in str(missing.exception)
    unknown = runner.invoke(evidence_cmd.app, ["show", "ev-zzz", "--home", str(root)])
    assert isinstance(unknown.exception, UsageError)
    no_alert = runner.invoke(evidence_cmd.app, ["seal-alert", "wh-zzz", "--home", str(root)])
    assert isinstance(no_alert.exception, UsageError)
    bad_range = runner.invoke(audit_cmd.app, ["prove", "--from", "5", "--to", "2", "--home", str(root)])
    assert isinstance(bad_range.exception, UsageError)
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    result = runner.invoke(audit_cmd.app, ["verify", "--public-key", str(bad_key), "--home", str(root)])
    assert isinstance(result.exception, InputError)
