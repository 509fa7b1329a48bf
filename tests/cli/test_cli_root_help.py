"""`watchhouse --help` lists every command from fixed summaries, without importing the stacks."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_scan_help_does_not_import_the_detection_stack() -> None:
    """`watchhouse scan --help` builds its options (formats, datasets, severities) from light
    modules; the detection stack is imported where a scan runs."""
    probe = (
        "import sys\n"
        "import watchhouse.cli.main as cli\n"
        "sys.argv = ['watchhouse', 'scan', '--help']\n"
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
    assert "--format" in help_text and "jsonl" in help_text and "--dataset" in help_text  # the help is whole
    assert heavy.strip() == ""
