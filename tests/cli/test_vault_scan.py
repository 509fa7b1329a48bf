"""Scan with --vault, then reveal one pseudonym for a case: the whole accountable path from the CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from watchhouse.cli.main import main


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("WATCHHOUSE_ACTOR", "analyst-1")
    monkeypatch.setattr("sys.argv", ["watchhouse", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out + err


def test_scanned_identities_can_be_revealed_only_for_a_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    logins = tmp_path / "auth.jsonl"
    rows = [
        {
            "@timestamp": f"2026-03-02T10:00:{i:02d}Z",
            "event.dataset": "auth",
            "source.ip": "203.0.113.5",
            "user.name": "alice@example.org",
            "event.outcome": "failure",
            "service.name": "web",
        }
        for i in range(30)
    ]
    logins.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    home, out = tmp_path / "home", tmp_path / "alerts.jsonl"
    code, text = run(
        [
            "scan",
            str(logins),
            "--home",
            str(home),
            "--vault",
            "--no-progress",
            "--out",
            str(out),
            "--detector",
            "accounts.failed_login_burst",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, text
    alerts = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    pseudonym = next(a["subject"]["value"] for a in alerts if a["subject"]["kind"] == "user.name")
    assert pseudonym.startswith("p-") and "alice" not in out.read_text()

    code, text = run(
        ["identity", "reveal", pseudonym, "--purpose", "victim notice", "--case", "WH-2026-0001", "--home", str(home)],
        monkeypatch,
        capsys,
    )
    assert code != 0 and "alice@example.org" not in text  # no such case yet: refused
    code, text = run(
        ["case", "open", "Account attack on one user", "--crime", "illegal_access", "--home", str(home)],
        monkeypatch,
        capsys,
    )
    assert code == 0, text
    case_number = next(word for word in text.split() if word.startswith("WH-"))
    code, text = run(
        ["identity", "reveal", pseudonym, "--purpose", "victim notice", "--case", case_number, "--home", str(home)],
        monkeypatch,
        capsys,
    )
    assert code == 0 and "alice@example.org" in text, text
    code, text = run(["audit", "verify", "--home", str(home)], monkeypatch, capsys)
    assert code == 0, text
