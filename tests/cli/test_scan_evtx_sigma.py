"""`watchhouse scan Security.evtx --sigma rules/`: an EVTX sniffed, read and matched end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.cli.test_cli import run

SAMPLE = "sigma/regression_data/rules/windows/process_creation/proc_creation_win_amsi_registry_tampering"
RULE = "sigma/rules/windows/process_creation/proc_creation_win_amsi_registry_tampering.yml"


@pytest.mark.corpus
def test_scan_evtx_with_a_sigma_rule_folder(
    corpora: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (evtx,) = (corpora / SAMPLE).glob("*.evtx")
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(corpora / RULE, rules)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["scan", str(evtx), "--sigma", str(rules)], monkeypatch, capsys)
    assert code in (0, 1), err  # 1: alerts were raised
    assert "events read" in out
    assert "alerts" in out
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 3}
    assert rows["events read"] == "1" and rows["lines quarantined"] == "0" and rows["alerts"] == "1"
