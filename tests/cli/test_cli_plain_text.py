"""The command line prints other people's text as it is. An attacker's ``[/]`` in a request once
made ``alerts show`` fail with a markup error, ``[black on black]`` could hide part of a payload
from the analyst, and a file name with brackets crashed the error message about that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_cli import run

CLI = Path(__file__).resolve().parents[2] / "src" / "watchhouse" / "cli"
PAYLOAD = "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--%20[/bold][black%20on%20black]hidden[/]"
LINE = f'203.0.113.9 - - [02/Mar/2026:10:00:01 +0000] "GET {PAYLOAD} HTTP/1.1" 200 512 "-" "agent [/x] [red]"\n'


def test_markup_in_an_attack_is_shown_as_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log, home = tmp_path / "access.log", tmp_path / "home"
    log.write_text(LINE)
    code, _, err = run(["scan", str(log), "--home", str(home), "--no-progress"], monkeypatch, capsys)
    assert code == 0, err
    code, listed, err = run(["alerts", "list", "--home", str(home)], monkeypatch, capsys)
    assert code == 0, err
    alert_id = re.search(r"wh-[0-9a-f]{24}", listed)
    assert alert_id is not None
    code, shown, err = run(["alerts", "show", alert_id.group(0), "--home", str(home)], monkeypatch, capsys)
    assert code == 0, err
    assert "[/bold][black on black]hidden[/]" in shown  # the URL as sent, nothing hidden or dropped
    assert "agent [/x] [red]" in shown


def test_an_error_about_a_bracketed_file_name_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "logs [/x] [red]" / "access.log"
    code, _, err = run(["scan", str(missing), "--no-db", "--home", str(tmp_path)], monkeypatch, capsys)
    assert code == 3
    assert f"error: {missing}: no such file" in err and "Traceback" not in err


def test_every_console_of_the_command_line_reads_no_markup() -> None:
    """Consoles come from ``plain_console``; one made directly would read markup again."""
    direct = [
        f"{path.name}:{number}"
        for path in sorted(CLI.glob("*.py"))
        if path.name != "console.py"
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"(?<![\w.])Console\(", text)
    ]
    assert direct == []
