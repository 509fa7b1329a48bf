"""``eval accounts``: per-scenario precision, and the command on simulated data and the corpora."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from watchhouse.cli.eval_accounts_cmd import crowdsec_alerts, eval_accounts, fail2ban_attribution
from watchhouse.simulate import SimulationConfig, simulate


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acc") / "sim"
    simulate(SimulationConfig(out_dir=out, users=300, hours=6, seed=11, outputs=frozenset({"auth", "sshd"})))
    return out


def test_command_reports_every_account_scenario_precisely(sim: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(eval_accounts)
    figures = tmp_path / "figures.json"
    result = CliRunner().invoke(app, ["--sim", str(sim), "--json", str(figures)])
    assert result.exit_code == 0, result.output
    report = orjson.loads(figures.read_bytes())["simulation"]
    for scenario in ("brute_force", "password_spraying", "credential_stuffing", "ssh_brute_force", "account_takeover"):
        assert report["scenario_line_recall"][scenario]["rate"] >= 0.95, scenario
        assert report["scenario_precision"][scenario]["rate"] >= 0.95, scenario
    assert "credential_stuffing" in result.output


def test_fail2ban_failure_lines_are_attributed(corpora: Path) -> None:
    result = fail2ban_attribution(corpora / "logs/ssh_bruteforce/fail2ban_tests/sshd")
    # 102 labelled failures with a host, 13 of them only through an earlier line of the same sshd
    # connection (its address) or through the accounts it failed for (a switched-account "Accepted")
    assert result.expected == 102 and result.found == 102 and result.missed == []


@pytest.mark.parametrize("test", ["ssh-bf", "ssh-slow-bf", "ssh-time-based-bf", "sshd-invalid-bf", "opnsense-sshd"])
def test_crowdsec_expected_alerts_are_produced(corpora: Path, test: str) -> None:
    result = crowdsec_alerts(corpora / "logs/ssh_bruteforce/crowdsec_hub_tests" / test)
    assert result.expected >= 1 and result.missed == []
