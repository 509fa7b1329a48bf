"""Linux audit logs: records assembled by serial, hex values decoded, process creation named.

The sample below is written for these tests in the shape auditd 3.x writes on a Debian host (raw
and enriched ``log_format``); it is not copied from any corpus.
"""

from __future__ import annotations

import orjson
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.ingest.auditd import AuditdParser, decode_value, parse_body
from watchhouse.ingest.sniff import detect_format
from watchhouse.ingest.source import LineChunk

GS = "\x1d"  # the enriched format's separator
AUDIT_LOG = f"""\
type=SYSCALL msg=audit(1764126000.101:4101): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c2a1f2a0 \
a1=55d0c2a1f320 a2=55d0c2a1e010 a3=8 items=2 ppid=2210 pid=2290 auid=1000 uid=1000 gid=1000 euid=1000 tty=pts0 \
ses=3 comm="bash" exe="/usr/bin/bash" subj=unconfined key="exec"
type=EXECVE msg=audit(1764126000.101:4101): argc=1 a0="bash"
type=PROCTITLE msg=audit(1764126000.101:4101): proctitle="bash"

node=web-3 type=SYSCALL msg=audit(1764126012.553:4107): arch=c000003e syscall=59 success=yes exit=0 a0=5603 \
a1=5604 a2=5605 a3=8 items=2 ppid=2290 pid=2301 auid=1000 uid=1000 gid=1000 euid=1000 tty=pts0 ses=3 \
comm="chmod" exe="/usr/bin/chmod" subj=unconfined key="perm_mod"{GS}ARCH=x86_64 SYSCALL=execve AUID="dana" UID="dana"
node=web-3 type=EXECVE msg=audit(1764126012.553:4107): argc=3 a0="chmod" a1="u+s" a2=2F746D702F6D7920736865
node=web-3 type=CWD msg=audit(1764126012.553:4107): cwd="/tmp"
node=web-3 type=PATH msg=audit(1764126012.553:4107): item=0 name="/usr/bin/chmod" inode=1402 nametype=NORMAL
node=web-3 type=PATH msg=audit(1764126012.553:4107): item=1 name="notes.txt" inode=1777 nametype=CREATE
node=web-3 type=PROCTITLE msg=audit(1764126012.553:4107): proctitle=63686D6F6400752B73002F746D702F6D7920736865
type=USER_AUTH msg=audit(1764126020.000:4110): pid=2333 uid=0 auid=4294967295 ses=4294967295 subj=unconfined \
msg='op=PAM:authentication grantors=? acct="root" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 \
terminal=ssh res=failed'
Nov 26 03:00:01 web-3 CRON[881]: (root) CMD (run-parts /etc/cron.hourly)
"""


def parse(text: str, parser: AuditdParser | None = None, first_line: int = 1) -> tuple[pl.DataFrame, list[int]]:
    chunk = LineChunk(text.encode(), first_line, 0)
    result = (parser or AuditdParser()).parse(chunk)
    assert result.events + result.blank + len(result.rejected) == chunk.n_lines  # every line accounted for
    tables = [EventBatch.from_table(d, t.append_column("log.file.path", pl.Series(["a"] * t.num_rows).to_arrow()))
              for d, t in result.tables]  # fmt: skip
    assert all(b.dataset is Dataset.HOST for b in tables)
    frame = pl.concat([b.to_polars() for b in tables]) if tables else pl.DataFrame()
    return frame, [r.line for r in result.rejected]


def data(frame: pl.DataFrame, line: int) -> dict[str, str]:
    row = frame.filter(pl.col("log.file.line") == line)
    loaded: dict[str, str] = orjson.loads(row.get_column("host.event_data")[0])
    return loaded


def test_records_keep_their_lines_and_share_event_fields() -> None:
    frame, rejected = parse(AUDIT_LOG)
    assert rejected == [12]  # the syslog line, with its line number
    assert frame.get_column("log.file.line").to_list() == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert frame.get_column("event.sequence").to_list()[:3] == [4101] * 3
    path = data(frame, 8)
    assert (path["type"], path["name"], path["key"], path["exe"]) == (
        "PATH",
        "/usr/bin/chmod",
        "perm_mod",
        "/usr/bin/chmod",
    )
    assert path["proctitle"] == "chmod u+s /tmp/my she"  # hex, NULs between arguments, came later
    syscall = data(frame, 5)
    assert (syscall["a0"], syscall["SYSCALL"], syscall["UID"]) == ("5603", "execve", "dana")  # registers stay
    first = frame.row(0, named=True)
    assert first["event.module"] == "auditd" and first["event.action"] == "SYSCALL"
    assert str(first["@timestamp"]) == "2025-11-26 03:00:00.101000+00:00"
    assert frame.filter(pl.col("log.file.line") == 5).get_column("host.name").to_list() == ["web-3"]


def test_a_pid_that_is_no_number_is_left_empty_not_fatal() -> None:
    """``str.isdigit`` holds for "²", which ``int`` refuses, and twenty digits overflow the column:
    each stopped the whole read. Now the pid is empty and the record is kept, its text intact."""
    pids = ["\u00b2", "9" * 20, "-1", "", "2290"]
    text = "".join(
        f"type=USER_AUTH msg=audit(1764126020.000:{4110 + i}): pid={pid} uid=0 res=failed\n"
        for i, pid in enumerate(pids)
    )
    frame, rejected = parse(text)
    assert rejected == []
    assert frame.get_column("process.pid").to_list() == [None, None, None, None, 2290]
    assert [data(frame, line + 1)["pid"] for line in range(len(pids))] == pids


def test_a_serial_past_64_bits_is_quarantined_not_fatal() -> None:
    """The record pattern admits 20 digits (auditd's counter is 32 bits): one past the
    event.sequence column overflowed it and stopped the read; now it costs its own line."""
    text = (
        "type=USER_AUTH msg=audit(1764126020.000:18446744073709551615): pid=1 res=failed\n"
        "type=USER_AUTH msg=audit(1764126020.000:9223372036854775807): pid=2 res=failed\n"
    )
    frame, rejected = parse(text)
    assert rejected == [1]
    assert frame.get_column("event.sequence").to_list() == [2**63 - 1]


def test_execve_carries_process_creation_names() -> None:
    frame, _ = parse(AUDIT_LOG)
    execve = data(frame, 6)
    assert execve["a2"] == "/tmp/my she"
    assert execve["CommandLine"] == "chmod u+s /tmp/my she"
    assert (execve["Image"], execve["CurrentDirectory"], execve["User"]) == ("/usr/bin/chmod", "/tmp", "dana")
    assert (execve["ParentImage"], execve["ParentCommandLine"]) == ("/usr/bin/bash", "bash")  # pid 2290's execve
    created = data(frame, 9)
    assert created["TargetFilename"] == "/tmp/notes.txt"
    assert "TargetFilename" not in data(frame, 8)


def test_nested_user_message_is_flattened() -> None:
    frame, _ = parse(AUDIT_LOG)
    auth = data(frame, 11)
    assert (auth["acct"], auth["exe"], auth["res"], auth["addr"]) == ("root", "/usr/sbin/sshd", "failed", "203.0.113.9")
    assert frame.filter(pl.col("log.file.line") == 11).get_column("user.name").to_list() == ["root"]


def test_event_split_across_chunks_keeps_the_syscall_fields() -> None:
    lines = [line + "\n" for line in AUDIT_LOG.split("\n")[:-1]]
    parser = AuditdParser()
    head, _ = parse("".join(lines[:6]), parser)
    tail, _ = parse("".join(lines[6:11]), parser, first_line=7)
    assert data(tail, 7)["key"] == "perm_mod"
    assert data(tail, 9)["TargetFilename"] == "/tmp/notes.txt"
    assert data(head, 6)["CommandLine"] == "chmod u+s /tmp/my she"


def test_sniffing_audit_logs() -> None:
    assert detect_format(AUDIT_LOG.encode()) == "auditd"
    assert detect_format(b"Nov 26 03:00:01 web-3 CRON[881]: (root) CMD (x)\n") == "syslog"


def test_values_decode_as_auditd_encodes_them() -> None:
    assert decode_value("a1", "2D6C61", "EXECVE") == "-la"
    assert decode_value("a1", "2D6C61", "SYSCALL") == "2D6C61"  # a register, not text
    assert decode_value("proctitle", '"top"', "PROCTITLE") == "top"
    assert decode_value("name", "(null)", "PATH") == "(null)"
    assert parse_body("EXECVE", ' argc=2 a0="ls" a1=""') == {"argc": "2", "a0": "ls", "a1": ""}
    # a long argument split in pieces; the two-byte "é" (C3 A9) spans the cut
    pieces = parse_body("EXECVE", ' argc=2 a0="echo" a1_len=8 a1[1]=A921 a1[0]=636166C3')
    assert pieces["a1"] == "café!" and pieces["a0"] == "echo"


_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters='"\x7f'), max_size=20)


@settings(max_examples=150, deadline=None)
@given(args=st.lists(_TEXT, min_size=1, max_size=5), serial=st.integers(1, 2**40), hexed=st.booleans())
def test_execve_arguments_round_trip(args: list[str], serial: int, hexed: bool) -> None:
    """Any argument list written the way auditd writes it comes back as the same arguments."""
    encoded = [
        arg.encode().hex().upper() if (hexed or " " in arg) and arg else f'"{arg}"' for arg in args
    ]  # fmt: skip
    body = " ".join(f"a{i}={v}" for i, v in enumerate(encoded))
    text = (
        f'type=SYSCALL msg=audit(1764126000.000:{serial}): syscall=59 pid=7 ppid=1 exe="/bin/x" key="k"\n'
        f"type=EXECVE msg=audit(1764126000.000:{serial}): argc={len(args)} {body}\n"
    )
    frame, rejected = parse(text)
    assert rejected == []
    execve = data(frame, 2)
    assert [execve[f"a{i}"] for i in range(len(args))] == args
    assert execve["CommandLine"] == " ".join(args)
    assert (execve["Image"], execve["key"]) == ("/bin/x", "k")


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n\r")), max_size=6))
def test_arbitrary_lines_are_events_blanks_or_quarantined(lines: list[str]) -> None:
    """Fuzz: nothing raises, and every line is accounted for (checked inside ``parse``)."""
    parse("".join(line + "\n" for line in lines))
