"""``watchhouse alerts`` triage, ``watchhouse case`` and ``watchhouse identity`` as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchhouse.cli import alerts_cmd, case_cmd, identity_cmd
from watchhouse.core.identity import Pseudonymizer
from watchhouse.detect.suppression import load_suppressions
from watchhouse.office.errors import AccessDeniedError, FourEyesError, TransitionError
from watchhouse.office.identity.keys import load_or_create_vault_key
from watchhouse.office.identity.recorder import VaultRecorder
from watchhouse.office.services import OfficeLocation, open_office
from watchhouse.storage.alert_store import AlertStore
from watchhouse.storage.engine import sqlite_url

from ..office.office_helpers import alert

runner = CliRunner(env={"COLUMNS": "200", "WATCHHOUSE_ACTOR": "ana", "WATCHHOUSE_DB_URL": None})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "wh"
    store = AlertStore.sqlite(root / "office.db")
    store.save([alert(1), alert(2, minutes=5), alert(3, ip="198.51.100.7")])
    store.close()
    return root


def test_triage_assign_verdict_and_cluster(home: Path) -> None:
    at = ["--home", str(home)]
    out = runner.invoke(alerts_cmd.app, ["triage", alert(1).id, "--to", "in_progress", "--reason", "looking", *at])
    assert out.exit_code == 0 and "1 alert(s) now in_progress" in out.output
    out = runner.invoke(alerts_cmd.app, ["assign", "--detector", "web.attack_patterns", "--to", "bob", *at])
    assert out.exit_code == 0 and "3 alert(s) assigned to bob" in out.output
    everything = runner.invoke(alerts_cmd.app, ["triage", "--to", "closed", *at])
    assert everything.exit_code != 0 and "at least one filter" in str(everything.exception)
    out = runner.invoke(
        alerts_cmd.app,
        ["verdict", alert(3).id, "--is", "benign", "--reason", "office NAT", "--suppress-days", "30", *at],
    )
    assert out.exit_code == 0, out.output
    (rule,) = load_suppressions(home / "suppressions.toml")
    assert rule.subject == "source.ip=198.51.100.7" and rule.reason == "office NAT"
    shown = runner.invoke(alerts_cmd.app, ["show", alert(3).id, *at])
    assert "status closed · assignee bob · verdict benign" in shown.output and "verdict: - → benign" in shown.output
    listed = runner.invoke(alerts_cmd.app, ["list", "--status", "closed", "--json", *at])
    (line,) = listed.output.splitlines()  # JSON lines: one compact object per alert
    assert json.loads(line)["verdict"] == "benign"
    clustered = runner.invoke(alerts_cmd.app, ["cluster", "--by", "subject", "--window", "30", *at])
    assert "2 cluster(s) by subject" in clustered.output


def test_case_lifecycle_and_refusals(home: Path) -> None:
    at = ["--home", str(home)]
    opened = runner.invoke(case_cmd.app, ["open", "Scanner", "--crime", "illegal_access", "--severity", "high", *at])
    assert opened.exit_code == 0 and "opened WH-" in opened.output
    case = opened.output.split()[1]
    assert runner.invoke(case_cmd.app, ["link-alert", case, alert(1).id[:27], *at]).exit_code == 0
    assert runner.invoke(case_cmd.app, ["note", case, "first look", *at]).exit_code == 0
    assert runner.invoke(case_cmd.app, ["task", case, "block IP", "--assignee", "bob", *at]).exit_code == 0
    bad = runner.invoke(case_cmd.app, ["transition", case, "closed", *at])
    assert isinstance(bad.exception, TransitionError)
    assert runner.invoke(case_cmd.app, ["transition", case, "investigating", *at]).exit_code == 0
    review = runner.invoke(case_cmd.app, ["transition", case, "awaiting_review", "--reviewer", "rita", *at])
    assert review.exit_code == 0
    own = runner.invoke(case_cmd.app, ["transition", case, "closed", *at])
    assert isinstance(own.exception, FourEyesError)
    closed = runner.invoke(case_cmd.app, ["transition", case, "closed", "--actor", "rita", *at])
    assert closed.exit_code == 0 and "is now closed" in closed.output
    timeline = runner.invoke(case_cmd.app, ["timeline", case, *at])
    assert "alert linked" in timeline.output and "note 1: first look" in timeline.output
    assert "status awaiting_review → closed" in timeline.output
    # as JSON lines: one object a line, a note's "[...]" kept as written (not read as console markup)
    assert runner.invoke(case_cmd.app, ["note", case, "seen [bold]twice[/bold] from [203.0.113.9]", *at]).exit_code == 0
    as_json = runner.invoke(case_cmd.app, ["timeline", case, "--json", *at])
    items = [json.loads(line) for line in as_json.output.splitlines()]
    assert any("seen [bold]twice[/bold] from [203.0.113.9]" in item["text"] for item in items)
    assert len(items) >= 5


def test_need_to_know_case_and_identity_reveal(home: Path) -> None:
    at = ["--home", str(home)]
    opened = runner.invoke(case_cmd.app, ["open", "Images", "--crime", "child_sexual_abuse_material", *at])
    assert "TLP:RED · need-to-know" in opened.output
    case = opened.output.split()[1]
    refused = runner.invoke(case_cmd.app, ["show", case, "--actor", "mallory", *at])
    assert isinstance(refused.exception, AccessDeniedError)
    assert runner.invoke(case_cmd.app, ["list", "--actor", "mallory", *at]).output.count("WH-") == 0

    office = open_office(
        OfficeLocation(
            sqlite_url(home / "office.db"),
            home / "audit-signing.key",
            home / "evidence",
            vault_key=home / "identity-vault.key",
        )
    )
    pseudonymizer = Pseudonymizer(b"k" * 32, on_mapping=VaultRecorder(office.identities) if office.identities else None)
    pseudonym = pseudonymizer.pseudonym("uploader@example.org")
    assert office.identities is not None
    office.identities.record({"uploader@example.org": pseudonym})
    office.close()
    assert (home / "identity-vault.key").stat().st_mode & 0o777 == 0o600
    assert len(load_or_create_vault_key(home / "identity-vault.key")) == 32

    args = ["reveal", pseudonym, "--purpose", "referral to police", "--case", case, *at]
    assert "= uploader@example.org" in runner.invoke(identity_cmd.app, args).output
    denied = runner.invoke(identity_cmd.app, [*args, "--actor", "mallory"])
    assert isinstance(denied.exception, AccessDeniedError)
