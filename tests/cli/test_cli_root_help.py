"""`watchhouse --help` lists every command from fixed summaries, without importing the stacks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

RENDER = """
import sys
import watchhouse.cli.main as cli
if {real}:
    cli.LAZY_SUMMARIES.clear()  # list the lazy entries by importing them, as before the summaries
sys.argv = ["watchhouse", "--help"]
try:
    cli.main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.startswith("watchhouse.cli.") and m.endswith("_cmd"))
print("LOADED:" + ",".join(loaded))
"""


def _render(real: bool) -> tuple[str, list[str]]:
    env = dict(os.environ, COLUMNS="120", TERM="dumb", NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-c", RENDER.format(real=real)], capture_output=True, text=True, env=env, check=True
    )
    help_text, _, loaded = done.stdout.rpartition("LOADED:")
    return help_text, [name for name in loaded.strip().split(",") if name]


def test_root_help_matches_the_real_commands_without_importing_them() -> None:
    from watchhouse.cli.main import LAZY_COMMANDS, LAZY_GROUPS

    quick, quick_loaded = _render(real=False)
    real, real_loaded = _render(real=True)
    assert quick == real  # the fixed summaries say what the commands themselves say
    for name in [*LAZY_GROUPS, *LAZY_COMMANDS, "scan", "simulate"]:
        assert f" {name} " in quick
    assert quick_loaded == []  # no command is imported to list them
    assert "watchhouse.cli.portal_cmd" in real_loaded  # the comparison really imported the groups


def _help_and_heavy_imports(*command: str) -> tuple[str, str]:
    """The help screen of ``watchhouse COMMAND --help``, run in a fresh interpreter, and the heavy
    stacks it imported (comma-separated, empty where none)."""
    probe = (
        "import sys\n"
        "import watchhouse.cli.main as cli\n"
        f"sys.argv = ['watchhouse', *{list(command)!r}, '--help']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('polars', 'pyarrow', 'sqlalchemy', 'hyperscan', 'numpy')\n"
        "print('HEAVY:' + ','.join(sorted(m for m in sys.modules if m in heavy)))\n"
    )
    env = dict(os.environ, COLUMNS="120", TERM="dumb", NO_COLOR="1")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    help_text, _, heavy = done.stdout.rpartition("HEAVY:")
    return help_text, heavy.strip()


def test_scan_help_does_not_import_the_detection_stack() -> None:
    """`watchhouse scan --help` builds its options (formats, datasets, severities) from light
    modules; the detection stack is imported where a scan runs."""
    help_text, heavy = _help_and_heavy_imports("scan")
    assert "--format" in help_text and "jsonl" in help_text and "--dataset" in help_text  # the help is whole
    assert heavy == ""


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (("eval",), "--labels"),
        (("eval", "crs"), "--paranoia"),
        (("eval", "params"), "--threshold"),
        (("eval", "accounts"), "--corpora"),
        (("serve",), "--port"),
        (("audit",), "verify"),
    ],
)
def test_eval_and_serve_help_import_no_detection_or_office_stack(command: tuple[str, ...], shown: str) -> None:
    """Their help took 1.5-2 s: the eval group imported the detectors, the runner and the store,
    and `serve` the office services, to show options. They are imported where a command runs."""
    help_text, heavy = _help_and_heavy_imports(*command)
    assert shown in help_text
    assert heavy == ""
