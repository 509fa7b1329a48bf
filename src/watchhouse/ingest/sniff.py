"""Guessing a source's format from its first ~64 KiB.

Each candidate is scored by the share of sampled non-blank lines it accepts; the first format
that fits most lines wins. Comment lines ('#') are ignored, because annotated sample logs
(fail2ban's, ours) start with them.
"""

from __future__ import annotations

import re

import orjson

from watchhouse.core.errors import UsageError
from watchhouse.ingest.auditd import RECORD
from watchhouse.ingest.options import AUDITD, COMBINED, COMMON, CSV, EVTX, JSONL, SYSLOG, WINLOG_JSON

_SAMPLE_LINES = 50
_THRESHOLD = 0.6
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_ACCESS_HEAD = r"\S+ \S+ \S+ \[[^\]]+ [+-][0-9]{4}\] " + _QUOTED + r" [0-9]{3} (?:[0-9]+|-)"
_COMBINED = re.compile(_ACCESS_HEAD + " " + _QUOTED + " " + _QUOTED + r"\s*")
_COMMON = re.compile(_ACCESS_HEAD + r"\s*")
_SYSLOG = re.compile(
    r"(?:<[0-9]{1,3}>)?(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}[0-9]{1,2} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|1 [0-9]{4}-[0-9]{2}-[0-9]{2}T\S+|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}\S*) \S+"
)
_CSV_NAME = re.compile(r"[\w@.\- ]{1,64}")
EVTX_MAGIC = b"ElfFile\x00"
# evtx_dump's pretty-printed records open with {"Event": {...; its one-line form matches too
_EVTX_DUMP = re.compile(rb'\A\s*\{\s*"Event"\s*:\s*\{')


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _looks_like_csv(lines: list[str]) -> bool:
    header = lines[0].split(",")
    if len(header) < 2 or not all(_CSV_NAME.fullmatch(h.strip().strip('"')) for h in header):
        return False
    rows = lines[1:] or [lines[0]]
    return sum(1 for r in rows if r.count(",") >= len(header) - 1) >= _THRESHOLD * len(rows)


def _is_winlogbeat(line: str) -> bool:
    """A JSON line whose ``winlog`` object names a channel or event id (Winlogbeat/ECS)."""
    if not line.startswith("{") or '"winlog"' not in line:
        return False
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    winlog = obj.get("winlog") if isinstance(obj, dict) else None
    return isinstance(winlog, dict) and ("channel" in winlog or "event_id" in winlog)


def detect_format(sample: bytes) -> str:
    """The format of a decompressed sample; raises UsageError naming what was tried.

    Windows event logs come first: EVTX files by their magic bytes, evtx_dump JSON by its
    ``{"Event": {`` opening (pretty-printed, so not line-oriented), Winlogbeat documents by a
    ``winlog`` object in most lines (they are JSON lines too, but carry their own dataset).
    """
    if sample.startswith(EVTX_MAGIC):
        return EVTX
    if _EVTX_DUMP.match(sample):
        return WINLOG_JSON
    text = sample.decode("utf-8", "replace")
    raw_lines = text.split("\n")
    if len(sample) >= 64 * 1024 and len(raw_lines) > 1:
        raw_lines.pop()  # the sample probably cut the last line in half
    lines = [ln.strip("\r") for ln in raw_lines if ln.strip() and not ln.startswith("#")][:_SAMPLE_LINES]
    if not lines:
        raise UsageError("cannot detect the format of an empty input; pass --format explicitly")
    need = _THRESHOLD * len(lines)

    def share(test: re.Pattern[str]) -> int:
        return sum(1 for ln in lines if test.match(ln))

    if sum(1 for ln in lines if _is_winlogbeat(ln)) >= need:
        return WINLOG_JSON
    if sum(1 for ln in lines if _is_json_object(ln)) >= need:
        return JSONL
    combined, common = sum(1 for ln in lines if _COMBINED.fullmatch(ln)), share(_COMMON)
    if combined >= need:
        return COMBINED
    if common >= need:
        return COMBINED if combined >= common - combined and combined else COMMON
    if share(RECORD) >= need:  # auditd: type=... msg=audit(EPOCH.MS:SERIAL): ... (node=... first)
        return AUDITD
    if share(_SYSLOG) >= need:
        return SYSLOG
    if _looks_like_csv(lines):
        return CSV
    first = lines[0][:80]
    raise UsageError(
        "cannot detect the log format (tried jsonl, combined, common, auditd, syslog, csv, evtx, winlog-json; "
        f"first line: {first!r}); pass --format explicitly"
    )
