from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from watchhouse.cli.rules_cmd import app
from watchhouse.sigma.loader import load_rules
from watchhouse.sigma.pack import PACK_DIR

GOOD = """title: ok
id: 22222222-2222-2222-2222-222222222222
logsource:
    category: webserver
detection:
    sel:
        c-uri|contains: '/admin'
    condition: sel
level: low
"""
BROKEN_YAML = "title: broken\ndetection:\n    sel: [unclosed\n"
BAD_CONDITION = """title: bad
id: 33333333-3333-3333-3333-333333333333
logsource:
    product: windows
detection:
    sel:
        Image: x
    condition: sel and missing
"""
BAD_LEVEL = GOOD.replace("level: low", "level: extreme").replace("2222", "4444")


def _pack(tmp_path: Path) -> Path:
    (tmp_path / "good.yml").write_text(GOOD)
    (tmp_path / "broken.yml").write_text(BROKEN_YAML)
    (tmp_path / "bad_condition.yml").write_text(BAD_CONDITION)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad_level.yaml").write_text(BAD_LEVEL)
    return tmp_path


def test_every_problem_is_collected_with_file_and_line(tmp_path: Path) -> None:
    loaded = load_rules([_pack(tmp_path)])
    assert len(loaded.files) == 4
    by_file = {Path(p.path).name: p for p in loaded.problems}
    assert by_file["broken.yml"].line == 4 and "YAML syntax error" in by_file["broken.yml"].message
    assert by_file["bad_level.yaml"].line == 9 and "level" in by_file["bad_level.yaml"].message.lower()
    assert [r.title for r in loaded.rules] == ["bad", "ok"]  # the condition error surfaces at compile time


def test_validate_reports_all_and_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(_pack(tmp_path))])
    assert result.exit_code == 1
    assert "broken.yml:4:" in result.output
    assert "bad_level.yaml:9:" in result.output
    assert "unsupported rule 33333333-3333-3333-3333-333333333333" in result.output


def test_list_counts_by_logsource_and_explains(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", str(_pack(tmp_path)), "--details"])
    assert result.exit_code == 0
    assert "-/webserver/-" in result.output
    assert "no Windows" not in result.output
    assert "unsupported\t33333333-3333-3333-3333-333333333333" in result.output


def test_our_pack_validates_cleanly() -> None:
    result = CliRunner().invoke(app, ["validate", str(PACK_DIR)])
    assert result.exit_code == 0, result.output
    assert "0 problems, 0 unsupported" in result.output
