"""The evaluation corpora in ../shared: real files, counted results."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import polars as pl
import pytest
from tests.ingest.helpers import read

from watchhouse.core.events import Dataset

pytestmark = pytest.mark.corpus


def test_apache_combined(corpora: Path) -> None:
    out = read(corpora / "logs/web_attacks/elastic_examples/apache_logs")
    assert out.reader.fmt == "combined" and out.stats.lines == 10_000
    # Line 8899 is truncated in the source (its user agent lacks the closing quote).
    assert out.stats.events[Dataset.HTTP] == 9_999 and out.stats.quarantined == 1


@pytest.mark.parametrize(
    ("relative", "failed", "accepted"),
    [
        ("logs/ssh_bruteforce/loghub/OpenSSH/OpenSSH_2k.log", 520, 1),
        ("logs/ssh_bruteforce/elastic_examples/auth.log", 713, 226),
    ],
)
def test_ssh_corpora(corpora: Path, relative: str, failed: int, accepted: int) -> None:
    out = read(corpora / relative)
    assert out.reader.fmt == "syslog" and out.stats.quarantined == 0
    auth = out.frame(Dataset.AUTH)
    assert auth.filter(pl.col("event.reason") == "failed password").height == failed
    assert auth.filter(pl.col("event.outcome") == "success").height == accepted
    assert out.stats.events[Dataset.AUTH] + out.stats.events[Dataset.HOST] + out.stats.blank == out.stats.lines


def test_fail2ban_sshd_labels(corpora: Path) -> None:
    path = corpora / "logs/ssh_bruteforce/fail2ban_tests/sshd"
    lines = path.read_text(errors="replace").split("\n")
    expected = {}
    for i, line in enumerate(lines):
        label = re.match(r"# failJSON: (.*)$", line)
        if label and orjson.loads(label.group(1)).get("match"):
            expected[i + 2] = orjson.loads(label.group(1)).get("host")
    out = read(path, fmt="syslog", year=2005)
    auth = {r["log.file.line"]: r for r in out.frame(Dataset.AUTH).iter_rows(named=True)}
    found = [n for n, host in expected.items() if n in auth and auth[n]["source.ip"] == host]
    failures = [n for n in found if auth[n]["event.outcome"] == "failure"]
    # 103 labelled lines: 100 become failures with the expected address (lines without one take it
    # from an earlier line of the same sshd connection, host + pid, as fail2ban joins them), 2 are
    # "Accepted" lines (fail2ban counts them in context; for us they are successes), and line
    # 170's label names no host.
    assert len(expected) == 103 and len(failures) == 100 and len(found) == 102
