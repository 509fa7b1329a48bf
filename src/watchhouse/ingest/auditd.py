"""Linux audit logs (``/var/log/audit/audit.log``, raw or enriched format) to ``host`` events.

A kernel audit *event* is written as several *records*, one per line, that share the serial in
``msg=audit(EPOCH.MS:SERIAL)``: a ``SYSCALL`` record (who: ``exe``, ``comm``, ``uid``, ``key``),
then ``EXECVE`` (the arguments ``a0..aN``), ``CWD``, one ``PATH`` per file touched and a
``PROCTITLE``. Why one row per record, each enriched with its event's shared fields, rather than
one row per event:

* SigmaHQ's auditd rules test one record at a time (``type: PATH`` with that path's ``name``,
  ``type: EXECVE`` with ``a0``/``a1``); an event holds several ``PATH`` records whose ``name``
  values a single merged row could not keep apart, and ``SYSCALL``'s ``a0..a3`` are registers,
  not the ``EXECVE`` arguments of the same name.
* Every event still points at its own input line, and the reader's promise "each line is an
  event, a blank or a quarantined line" holds unchanged.

So every record keeps its own fields and gains, where it lacks them, the event-level ones of its
siblings (:data:`SHARED`: ``exe``, ``comm``, ``key``, ``uid``, ``syscall``, decoded
``proctitle``, ``cwd`` ...). ``EXECVE`` records also carry the Sysmon-for-Linux names SigmaHQ's
``category: process_creation`` rules read: ``Image`` (the ``exe``), ``CommandLine`` (the
arguments joined by spaces), ``CurrentDirectory``, ``User``, ``ProcessId``/``ParentProcessId``
and, when this source showed the parent's own ``execve`` earlier, ``ParentImage`` and
``ParentCommandLine``. ``PATH`` records that created a file carry ``TargetFilename`` for
``category: file_event`` rules.

Values: auditd writes untrusted strings quoted, or as upper-case hex when they hold spaces,
quotes or control bytes (``proctitle`` always separates arguments with NULs). Hex is decoded for
the fields that may be encoded (:data:`_HEX_FIELDS`, and ``aN`` of ``EXECVE``); NULs between
arguments become spaces. ``USER_*`` records nest their own ``key=value`` list in ``msg='...'``;
it is flattened into the record. The enriched format's upper-case translations (after ``\\x1d``:
``SYSCALL=execve``, ``UID="root"``) are kept under their upper-case names, as rules spell them.

The open-ended fields go into ``host.event_data`` as one JSON object of strings (the winlog
precedent, ADR 0003); ``event.module`` is ``auditd``, ``event.action`` the record type,
``event.sequence`` the serial and ``message`` the record line (what keyword rules search).
Records of an event split across two chunks are enriched from the part already seen (the
``SYSCALL`` record comes first, so ``exe``/``key`` are never lost; a trailing ``PROCTITLE`` may be).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa

from watchhouse.core.digits import ascii_digits
from watchhouse.core.events import TIMESTAMP, Dataset
from watchhouse.ingest.base import ParseResult, ensure_utf8, normalise_newlines, provenance
from watchhouse.ingest.options import AUDITD
from watchhouse.ingest.source import LineChunk

#: ``node=host type=SYSCALL msg=audit(1364481363.243:24287): body``
RECORD = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_]+) "
    r"msg=audit\((?P<sec>[0-9]{1,12})\.(?P<ms>[0-9]{3}):(?P<serial>[0-9]{1,20})\):(?P<body>.*)"
)
#: the largest serial the event.sequence column holds (a 20-digit one overflowed it, stopping the read)
_LAST_SERIAL = 2**63 - 1
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*(?:\[[0-9]+\])?)=(\"[^\"]*\"?|'[^']*'?|\S*)")
#: an argument too long for one field, split by auditd into ``a1[0]=HEX a1[1]=HEX ...``
_SPLIT_ARG = re.compile(r"(a[0-9]+)\[([0-9]+)\]")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
_ARG = re.compile(r"a[0-9]+")
#: fields auditd may write hex-encoded (``audit_log_untrustedstring`` and friends)
_HEX_FIELDS = frozenset({"proctitle", "name", "cwd", "comm", "exe", "path", "key", "data", "acct", "cmd", "dir"})
#: event-level fields a record takes from its siblings when it lacks them
SHARED = (
    "arch",
    "syscall",
    "success",
    "exit",
    "ppid",
    "pid",
    "auid",
    "uid",
    "gid",
    "euid",
    "suid",
    "fsuid",
    "egid",
    "tty",
    "ses",
    "comm",
    "exe",
    "subj",
    "key",
    "proctitle",
    "cwd",
    "ARCH",
    "SYSCALL",
    "AUID",
    "UID",
    "GID",
    "EUID",
)
_SHARED_FROM = frozenset({"SYSCALL", "PROCTITLE", "CWD"})
#: parent processes remembered for ParentImage, per source (bounded: memory stays flat)
_PROCESS_MEMORY = 65_536


def decode_value(name: str, raw: str, record_type: str) -> str:
    """A field's text: quotes removed, hex decoded where auditd may have encoded it."""
    if raw[:1] in ('"', "'"):
        return raw[1:-1] if len(raw) > 1 and raw[-1] == raw[0] else raw[1:]
    hexable = name in _HEX_FIELDS or (record_type == "EXECVE" and _ARG.fullmatch(name) is not None)
    if hexable and _HEX.fullmatch(raw):
        text = bytes.fromhex(raw).decode("utf-8", "replace")
        return text.rstrip("\x00").replace("\x00", " ")
    return raw


def parse_body(record_type: str, body: str) -> dict[str, str]:
    """The fields of one record body (plain, nested ``msg='...'`` and enriched parts)."""
    plain, _, enriched = body.partition("\x1d")
    fields: dict[str, str] = {}
    split: dict[str, list[tuple[int, str]]] = {}
    for name, raw in _PAIR.findall(plain):
        part = _SPLIT_ARG.fullmatch(name)
        if part is not None:
            split.setdefault(part[1], []).append((int(part[2]), raw))
            continue
        if name == "msg" and raw.startswith("'"):
            inner = raw[1:-1] if raw.endswith("'") and len(raw) > 1 else raw[1:]
            for inner_name, inner_raw in _PAIR.findall(inner):
                fields.setdefault(inner_name, decode_value(inner_name, inner_raw, record_type))
            continue
        fields[name] = decode_value(name, raw, record_type)
    for name, parts in split.items():  # hex pieces joined before decoding: UTF-8 may span two
        fields[name] = decode_value(name, "".join(raw for _, raw in sorted(parts)), record_type)
    for name, raw in _PAIR.findall(enriched):
        fields[name] = decode_value(name, raw, record_type)
    return fields


@dataclass
class _Record:
    row: int
    node: str | None
    type: str
    micros: int
    serial: int
    fields: dict[str, str]


@dataclass
class _Process:
    exe: str | None
    command_line: str


@dataclass
class AuditdParser:
    """One instance per source: remembers the last event's shared fields and recent processes."""

    _carry: tuple[tuple[str | None, int], dict[str, str]] | None = None
    _processes: OrderedDict[str, _Process] = field(default_factory=OrderedDict)

    def parse(self, chunk: LineChunk) -> ParseResult:
        result = ParseResult()
        if chunk.n_lines == 0:
            return result
        text = ensure_utf8(normalise_newlines(chunk.data)).decode("utf-8")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        records: list[_Record] = []
        for row, line in enumerate(lines):
            if not line.strip():
                result.blank += 1
                continue
            match = RECORD.fullmatch(line.strip())
            if match is None:
                result.reject(chunk, row, "not an auditd record (type=... msg=audit(EPOCH.MS:SERIAL): ...)")
                continue
            serial = int(match["serial"])
            if serial > _LAST_SERIAL:  # the kernel counts in 32 bits; the column holds 64
                result.reject(chunk, row, f"auditd serial {match['serial']} is past 64 bits")
                continue
            kind = match["type"]
            records.append(
                _Record(
                    row,
                    match["node"],
                    kind,
                    int(match["sec"]) * 1_000_000 + int(match["ms"]) * 1_000,
                    serial,
                    parse_body(kind, match["body"]),
                )
            )
        if records:
            self._enrich(records)
            result.tables.append((Dataset.HOST, self._table(chunk, records, lines)))
        return result

    def _enrich(self, records: list[_Record]) -> None:
        events: dict[tuple[str | None, int], list[_Record]] = {}
        for record in records:
            events.setdefault((record.node, record.serial), []).append(record)
        for key, members in events.items():
            shared: dict[str, str] = {}
            if self._carry is not None and self._carry[0] == key:
                shared.update(self._carry[1])
            for record in members:
                if record.type in _SHARED_FROM:
                    shared.update((n, record.fields[n]) for n in SHARED if n in record.fields)
            for record in members:
                for name, value in shared.items():
                    record.fields.setdefault(name, value)
            self._processes_seen(members)
            self._carry = (key, shared)

    def _processes_seen(self, members: list[_Record]) -> None:
        """Sysmon-style names on EXECVE and created-file PATH records; remember the process."""
        for record in members:
            fields = record.fields
            if record.type == "PATH" and fields.get("nametype") == "CREATE" and "name" in fields:
                fields["TargetFilename"] = _absolute(fields["name"], fields.get("cwd"))
                if "exe" in fields:
                    fields["Image"] = fields["exe"]
            if record.type != "EXECVE":
                continue
            args = [fields[n] for n in sorted((n for n in fields if _ARG.fullmatch(n)), key=lambda n: int(n[1:]))]
            command_line = " ".join(args)
            fields["CommandLine"] = command_line
            for sigma, audit in (
                ("Image", "exe"),
                ("CurrentDirectory", "cwd"),
                ("ProcessId", "pid"),
                ("ParentProcessId", "ppid"),
                ("LogonId", "ses"),
            ):
                if audit in fields:
                    fields[sigma] = fields[audit]
            user = fields.get("UID", fields.get("uid"))
            if user is not None:
                fields["User"] = user
            parent = self._processes.get(fields.get("ppid", ""))
            if parent is not None:
                if parent.exe is not None:
                    fields["ParentImage"] = parent.exe
                fields["ParentCommandLine"] = parent.command_line
            pid = fields.get("pid")
            if pid is not None:
                self._processes[pid] = _Process(fields.get("exe"), command_line)
                self._processes.move_to_end(pid)
                while len(self._processes) > _PROCESS_MEMORY:
                    self._processes.popitem(last=False)

    def _table(self, chunk: LineChunk, records: list[_Record], lines: list[str]) -> pa.Table:
        rows = np.asarray([r.row for r in records], dtype=np.int64)
        pids = [r.fields.get("pid") for r in records]
        columns: dict[str, pa.Array] = {
            "@timestamp": pa.array([r.micros for r in records], type=pa.int64()).cast(TIMESTAMP),
            "host.name": pa.array([r.node for r in records], type=pa.string()),
            "process.name": pa.array([r.fields.get("comm") for r in records], type=pa.string()),
            "process.pid": pa.array([_pid(p) for p in pids], type=pa.int64()),
            "user.name": pa.array([r.fields.get("UID", r.fields.get("acct")) for r in records], type=pa.string()),
            "event.action": pa.array([r.type for r in records], type=pa.string()),
            "message": pa.array([lines[r.row].strip() for r in records], type=pa.string()),
            "event.module": pa.array([AUDITD] * len(records), type=pa.string()),
            "event.sequence": pa.array([r.serial for r in records], type=pa.int64()),
            "host.event_data": pa.array(
                [orjson.dumps({"type": r.type, **r.fields}).decode() for r in records], type=pa.string()
            ),
        }
        columns.update(provenance(chunk, rows))
        return pa.table(columns)


def _absolute(name: str, cwd: str | None) -> str:
    if name.startswith("/") or not cwd:
        return name
    return cwd.rstrip("/") + "/" + name


def _pid(text: str | None) -> int | None:
    """A record's ``pid`` as a number, or None where it is not one (the text stays in the event data).

    Why not ``str.isdigit`` alone: it holds for "²", which ``int`` refuses, and a digit run past
    64 bits does not fit the column; either stopped the whole read.
    """
    if text is None or not ascii_digits(text) or len(text) > 18:
        return None
    return int(text)
