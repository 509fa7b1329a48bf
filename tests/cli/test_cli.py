"""The command line as a user meets it: one clear line for mistakes, documented exit codes."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from watchhouse.cli.main import main

ATTACK = (
    '203.0.113.9 - - [02/Mar/2026:10:00:01 +0000] "GET /search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--'
    ' HTTP/1.1" 200 512 "-" "sqlmap/1.7.2#stable (https://sqlmap.org)"\n'
)
BENIGN = '198.51.100.4 - - [02/Mar/2026:10:00:02 +0000] "GET /products/42 HTTP/1.1" 200 5120 "-" "Mozilla/5.0"\n'


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("sys.argv", ["watchhouse", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(BENIGN + "this is not an access log line\n" + ATTACK + BENIGN)
    return path


def test_scan_finds_stores_and_quarantines(
    access_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, out = tmp_path / "home", tmp_path / "alerts.jsonl"
    code, stdout, _ = run(
        ["scan", str(access_log), "--home", str(home), "--out", str(out), "--no-progress"], monkeypatch, capsys
    )
    assert code == 0
    assert "1 malformed line(s) quarantined" in stdout
    alerts = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(alerts) == 1
    (evidence,) = alerts[0]["evidence"]
    assert (evidence["path"], evidence["line"]) == (str(access_log.resolve()), 3)
    assert "sqli" in alerts[0]["details"]["classes"] and alerts[0]["severity"] == "high"
    assert alerts[0]["crime_code"] == "illegal_access"
    (quarantined,) = [orjson.loads(x) for p in (home / "quarantine").iterdir() for x in p.read_bytes().splitlines()]
    assert quarantined["line"] == 2 and "not an access log" in quarantined["raw"]

    code, stdout, _ = run(["alerts", "list", "--home", str(home)], monkeypatch, capsys)
    assert code == 0 and alerts[0]["id"] in stdout
    code, stdout, _ = run(["alerts", "show", alerts[0]["id"][:12], "--home", str(home)], monkeypatch, capsys)
    assert code == 0 and "Article 2" in stdout and f"{access_log.resolve()}:3" in stdout

    # re-scanning the same input adds no alert to the office database
    run(["scan", str(access_log), "--home", str(home), "--no-progress"], monkeypatch, capsys)
    code, stdout, _ = run(["alerts", "list", "--home", str(home), "--json"], monkeypatch, capsys)
    assert stdout.count('"id"') == 1


def test_fail_on_sets_exit_status(
    access_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["scan", str(access_log), "--home", str(tmp_path), "--no-db", "--no-progress", "--fail-on"]
    assert run([*args, "high"], monkeypatch, capsys)[0] == 1
    assert run([*args, "critical"], monkeypatch, capsys)[0] == 0


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["scan", "/no/such/file.log"], 3, "/no/such/file.log"),
        (["scan", "{tmp}", "--format", "klingon"], 2, "klingon"),
        (["scan", "{gz}"], 3, "{gz}"),
        (["scan", "{log}", "--min-severity", "urgent"], 2, "unknown severity"),
        (["scan", "{log}", "--detector", "web.nope"], 2, "unknown detector"),
        (["alerts", "list", "--db", "{tmp}/none.db"], 2, "no office database"),
        (["eval", "--labels", "{tmp}/l.jsonl"], 2, "--alerts"),
    ],
)
def test_user_mistakes_are_one_line_not_a_traceback(
    argv: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken_gz = tmp_path / "broken.log.gz"
    broken_gz.write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate" * 3)
    log = tmp_path / "ok.log"
    log.write_text(BENIGN)
    values = {"tmp": str(tmp_path), "gz": str(broken_gz), "log": str(log)}
    argv = [a.format(**values) for a in argv] + ["--home", str(tmp_path / "h")] * (argv[0] == "scan")
    got, stdout, stderr = run(argv, monkeypatch, capsys)
    assert got == code, stderr
    assert message.format(**values) in stderr
    assert "Traceback" not in stderr + stdout


def test_help_teaches(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["scan", "--help"], monkeypatch, capsys)
    assert code == 0
    for text in ("--format", "quarantine", "Exit status", "Examples"):
        assert text in stdout


def test_detectors_list(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["detectors", "list"], monkeypatch, capsys)
    assert code == 0 and "web.attack_patterns" in stdout and "accounts.failed_login_burst" in stdout
