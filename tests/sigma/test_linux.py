"""SigmaHQ's Linux rules over host events: auditd records and syslog lines, routed per log source.

The log lines are written for these tests (auditd and syslog as a Debian host writes them); the
rules are SigmaHQ's own, read from the corpus, so a routing or field-name mistake shows up as a
rule that stays silent or fires on the wrong line.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from watchhouse.core.events import PATH_FIELD, Dataset, EventBatch
from watchhouse.ingest.auditd import AuditdParser
from watchhouse.ingest.source import LineChunk
from watchhouse.ingest.syslog import SyslogParser
from watchhouse.sigma.engine import SigmaEngine, Status
from watchhouse.sigma.loader import load_rules

pytestmark = pytest.mark.corpus

AUDIT = """\
type=SYSCALL msg=audit(1764126000.101:4101): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 \
a3=8 items=2 ppid=2210 pid=2290 auid=1000 uid=0 gid=0 euid=0 tty=pts0 ses=3 comm="sh" exe="/usr/bin/dash" key=(null)
type=EXECVE msg=audit(1764126000.101:4101): argc=3 a0="sh" a1="-c" \
a2=63686F776E20726F6F74202F746D702F782026262063686D6F6420752B73202F746D702F78
type=CWD msg=audit(1764126000.101:4101): cwd="/root"
type=PROCTITLE msg=audit(1764126000.101:4101): \
proctitle=7368002D630063686F776E20726F6F74202F746D702F7820262620636D6F6420752B73202F746D702F78
type=SYSCALL msg=audit(1764126004.000:4102): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 \
ppid=2210 pid=2291 auid=1000 uid=1000 comm="ls" exe="/usr/bin/ls" key=(null)
type=EXECVE msg=audit(1764126004.000:4102): argc=2 a0="ls" a1="-la"
type=SYSCALL msg=audit(1764126009.000:4103): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 \
ppid=2210 pid=2292 auid=1000 uid=1000 comm="chmod" exe="/usr/bin/chmod" key="perm_mod"
type=EXECVE msg=audit(1764126009.000:4103): argc=3 a0="chmod" a1="600" a2="/home/dana/.ssh/id_ed25519"
"""
SYSLOG = """\
2026-11-26T03:00:01.000000+00:00 web-3 sshd[912]: Corrupted MAC on input.
2026-11-26T03:00:02.000000+00:00 web-3 CRON[881]: (root) CMD (echo Corrupted MAC on input)
2026-11-26T03:00:03.000000+00:00 web-3 useradd[1337]: new user: name=backup2, UID=0, GID=0, home=/root, shell=/bin/bash
2026-11-26T03:00:04.000000+00:00 web-3 useradd[1338]: new user: name=dana, UID=1001, GID=1001, home=/home/dana
"""


def _batch(table: pa.Table) -> EventBatch:
    table = table.append_column(PATH_FIELD, pa.array(["host.log"] * table.num_rows, type=pa.string()))
    return EventBatch.from_table(Dataset.HOST, table)


def _fired(engine: SigmaEngine, batch: EventBatch) -> dict[str, list[int]]:
    """Rule title -> the input lines (log.file.line) it fired on."""
    lines = batch.table.column("log.file.line").to_pylist()
    return {engine.rules[i].title: [lines[r] for r in rows] for i, rows in engine.match(batch).items()}


@pytest.fixture(scope="module")
def engine(corpora: Path) -> SigmaEngine:
    return SigmaEngine(load_rules([corpora / "sigma" / "rules" / "linux"]).rules)


def test_linux_rules_route_to_host_events(engine: SigmaEngine) -> None:
    unrouted = [v for v in engine.verdicts if v.status is not Status.ROUTED]
    assert engine.summary()[Status.ROUTED] > 200
    # only Sysmon-for-Linux network events have no host log behind them
    assert {v.logsource for v in unrouted} <= {"linux/network_connection/-"}, unrouted
    assert Dataset.HOST in engine.datasets


def test_auditd_and_process_creation_rules_fire_on_their_records(engine: SigmaEngine) -> None:
    ((_, table),) = AuditdParser().parse(LineChunk(AUDIT.encode(), 1, 0)).tables
    fired = _fired(engine, _batch(table))
    assert fired["Setuid and Setgid"] == [2]  # the joined CommandLine of the EXECVE record only
    assert fired["File or Folder Permissions Change"] == [8]  # a0 of chmod's EXECVE, not its SYSCALL
    assert not any(6 in rows for rows in fired.values())  # a plain "ls -la" fires nothing


def test_syslog_rules_see_only_their_programs(engine: SigmaEngine) -> None:
    tables = SyslogParser(2026).parse(LineChunk(SYSLOG.encode(), 1, 0)).tables
    (table,) = [t for d, t in tables if d is Dataset.HOST]
    fired = _fired(engine, _batch(table))
    assert fired["Suspicious OpenSSH Daemon Error"] == [1]  # not the cron line with the same words
    assert fired["Privileged User Has Been Created"] == [3]
