"""A live scan: lines piped in are detected while the pipe stays open, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ATTACK = (
    '203.0.113.9 - - [02/Mar/2026:10:00:01 +0000] "GET /item?id=1%20UNION%20SELECT%20password%20FROM%20users--'
    ' HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n'
)


def _wait_for(path: Path, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().endswith(b"\n"):
            return [orjson.loads(line) for line in path.read_bytes().splitlines()]
        time.sleep(0.1)
    return []


def test_piped_lines_are_detected_before_the_pipe_closes_and_ctrl_c_finishes(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    command = [sys.executable, "-m", "watchhouse", "scan", "-", "--format", "combined", "--no-progress"]
    command += ["--detector", "web.attack_patterns", "--home", str(tmp_path / "home"), "--out", str(out), "--no-db"]
    scan = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        assert scan.stdin is not None
        scan.stdin.write(ATTACK.encode())
        scan.stdin.flush()
        alerts = _wait_for(out, timeout=60)
        assert [a["evidence"][0]["line"] for a in alerts] == [1], "the alert must appear while the pipe is open"
        assert scan.poll() is None
        scan.send_signal(signal.SIGINT)
        stdout, stderr = scan.communicate(timeout=60)
    finally:
        if scan.poll() is None:
            scan.kill()
    assert scan.returncode == 130
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert b"events read" in stdout
