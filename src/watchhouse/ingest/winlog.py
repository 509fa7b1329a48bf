"""Windows event log records (EVTX files and their JSON exports) as ``winlog`` batches.

Three inputs carry the same records: ``.evtx`` files (parsed by the maintained ``evtx`` package,
a binding of the Rust evtx parser), ``evtx_dump``-style JSON (``{"Event": {"System": ...,
"EventData": ...}}``, pretty-printed objects one after another), and Winlogbeat/ECS JSON lines
(``{"winlog": {"channel": ..., "event_data": ...}}``). All become one row per record: the System
part in fixed columns, EventData/UserData as a JSON object text with string values
(docs/adr/0003-open-ended-event-fields.md). A record that cannot be read is quarantined with its
line (JSON) or record number (EVTX) and the reason; nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from watchhouse.core.errors import InputError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.identity import Pseudonymizer
from watchhouse.ingest.fields import FieldError, parse_timestamp
from watchhouse.ingest.quarantine import Quarantine

BATCH_ROWS = 8192
_COLUMNS = (
    "host.name",
    "winlog.channel",
    "winlog.provider_name",
    "winlog.event_id",
    "winlog.record_id",
    "winlog.user.identifier",
    "winlog.event_data",
)


def _text(value: Any) -> str | None:
    """A leaf value as text; XML ``#text`` wrappers are unwrapped, containers become JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and "#text" in value:
        return _text(value["#text"])
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "\n".join(t for t in (_text(v) for v in value) if t is not None)
    return orjson.dumps(value).decode()


def _attr(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs.get(name)
    return None


def _int(value: Any, what: str) -> int | None:
    if isinstance(value, dict):
        value = value.get("#text")
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(f"invalid {what} {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise FieldError(f"invalid {what} {str(value)[:40]!r}") from None
    if not -(2**63) <= number < 2**63:  # past the column: it overflowed it and stopped the read
        raise FieldError(f"invalid {what} {str(value)[:40]!r}: past 64 bits")
    return number


def event_data(event: Mapping[str, Any]) -> dict[str, str]:
    """EventData and UserData flattened to ``name -> text``, the way Sigma rules name them.

    UserData wraps its fields in one provider-specific element, which is dropped. Names with
    spaces (Defender's "Source Name") also appear without them, as Sigma rules spell them.
    """
    out: dict[str, str] = {}
    for section in ("EventData", "UserData"):
        data = event.get(section)
        if not isinstance(data, dict):
            continue
        if section == "UserData" and len(data) == 1:
            (inner,) = data.values()
            if isinstance(inner, dict):
                data = inner
        for key, value in data.items():
            if key == "#attributes":
                continue
            if isinstance(value, dict) and "#text" not in value:
                for sub, subvalue in value.items():
                    text = _text(subvalue)
                    if text is not None and sub != "#attributes":
                        out[sub] = text
                continue
            text = _text(value)
            if text is not None:
                out[key] = text
                if " " in key:  # Defender names ("Source Name") are written without spaces in rules
                    out.setdefault(key.replace(" ", ""), text)
    return out


def from_evtx_json(obj: Any) -> dict[str, Any]:
    """One ``{"Event": {...}}`` object to a winlog row (without provenance)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("Event"), dict):
        raise FieldError('not an event record: expected an object with an "Event" object')
    event = obj["Event"]
    system = event.get("System")
    if not isinstance(system, dict):
        raise FieldError("record has no System part")
    stamp = _attr(system.get("TimeCreated"), "SystemTime")
    if stamp is None:
        raise FieldError("record has no System/TimeCreated/@SystemTime")
    return {
        TIMESTAMP_FIELD: parse_timestamp(str(stamp)),
        "host.name": _text(system.get("Computer")),
        "winlog.channel": _text(system.get("Channel")),
        "winlog.provider_name": _attr(system.get("Provider"), "Name"),
        "winlog.event_id": _int(system.get("EventID"), "EventID"),
        "winlog.record_id": _int(system.get("EventRecordID"), "EventRecordID"),
        "winlog.user.identifier": _attr(system.get("Security"), "UserID"),
        "winlog.event_data": orjson.dumps(event_data(event)).decode(),
    }


def from_winlogbeat(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One Winlogbeat/ECS document (``winlog.*`` fields) to a winlog row."""
    winlog = obj.get("winlog")
    if not isinstance(winlog, dict):
        raise FieldError('not a Winlogbeat record: no "winlog" object')
    data = winlog.get("event_data") or {}
    user_data = winlog.get("user_data") or {}
    if not isinstance(data, dict) or not isinstance(user_data, dict):
        raise FieldError("winlog.event_data is not an object")
    fields = {k: t for k, t in ((k, _text(v)) for k, v in {**user_data, **data}.items()) if t is not None}
    host = obj.get("host")
    user = winlog.get("user")
    return {
        TIMESTAMP_FIELD: parse_timestamp(obj.get(TIMESTAMP_FIELD)),
        "host.name": _text(winlog.get("computer_name") or (host.get("name") if isinstance(host, dict) else None)),
        "winlog.channel": _text(winlog.get("channel")),
        "winlog.provider_name": _text(winlog.get("provider_name")),
        "winlog.event_id": _int(winlog.get("event_id"), "event_id"),
        "winlog.record_id": _int(winlog.get("record_id"), "record_id"),
        "winlog.user.identifier": _text(user.get("identifier")) if isinstance(user, dict) else None,
        "winlog.event_data": orjson.dumps(fields).decode(),
    }


def to_row(obj: Any) -> dict[str, Any]:
    """Either JSON shape to a winlog row; raises FieldError with the quarantine reason."""
    if isinstance(obj, dict) and "Event" in obj:
        return from_evtx_json(obj)
    if isinstance(obj, dict) and "winlog" in obj:
        return from_winlogbeat(obj)
    raise FieldError('unknown record shape: expected "Event" (evtx_dump) or "winlog" (Winlogbeat)')


def rows_to_batch(rows: list[dict[str, Any]], path: str) -> EventBatch:
    columns: dict[str, pa.Array] = {
        TIMESTAMP_FIELD: pa.array([r[TIMESTAMP_FIELD] for r in rows], type=pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        ),
        PATH_FIELD: pa.array([path] * len(rows), type=pa.string()),
        LINE_FIELD: pa.array([r.get(LINE_FIELD) for r in rows], type=pa.int64()),
        OFFSET_FIELD: pa.array([r.get(OFFSET_FIELD) for r in rows], type=pa.int64()),
    }
    for name in _COLUMNS:
        typ = pa.int64() if name in ("winlog.event_id", "winlog.record_id") else pa.string()
        columns[name] = pa.array([r[name] for r in rows], type=typ)
    return EventBatch.from_table(Dataset.WINLOG, pa.table(columns))


def _batched(rows: Iterator[dict[str, Any]], path: str, batch_rows: int) -> Iterator[EventBatch]:
    pending: list[dict[str, Any]] = []
    for row in rows:
        pending.append(row)
        if len(pending) >= batch_rows:
            yield rows_to_batch(pending, path)
            pending = []
    if pending:
        yield rows_to_batch(pending, path)


def winlog_batches(rows: Iterator[dict[str, Any]], label: str, batch_rows: int = BATCH_ROWS) -> Iterator[EventBatch]:
    """Rows (from :func:`parse_json_records`) in batches of ``batch_rows``, labelled ``label``."""
    return _batched(rows, label, batch_rows)


def read_evtx(
    path: str | Path, quarantine: Quarantine, batch_rows: int = BATCH_ROWS, *, label: str | None = None
) -> Iterator[EventBatch]:
    """Records of an ``.evtx`` file; ``log.offset`` holds the EVTX record number.

    ``label`` names the source in batches and quarantine (the resolved path by default).
    """
    import evtx

    label = label or str(Path(path).resolve())
    try:
        parser = evtx.PyEvtxParser(str(path))
    except (OSError, RuntimeError) as exc:
        raise InputError(f"not a readable EVTX file ({exc})", path=label) from exc

    def rows() -> Iterator[dict[str, Any]]:
        records = parser.records_json()
        number = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (RuntimeError, OSError, ValueError) as exc:  # a corrupt chunk: skip the record
                number += 1
                quarantine.add(label, None, f"unreadable EVTX record: {exc}", b"", number)
                continue
            if not isinstance(record, dict):
                continue
            number = int(record.get("event_record_id") or number)
            try:
                row = from_evtx_json(orjson.loads(record["data"]))
            except (FieldError, orjson.JSONDecodeError) as exc:
                quarantine.add(label, None, str(exc), str(record.get("data", ""))[:4096], number)
                continue
            row[OFFSET_FIELD] = number
            yield row

    return _batched(rows(), label, batch_rows)


def parse_json_records(text: str, label: str, quarantine: Quarantine) -> Iterator[dict[str, Any]]:
    """JSON objects one after another (pretty-printed or one per line), with their line numbers.

    A malformed object is quarantined from its first line, and parsing resumes at the next line
    that starts with ``{`` so one bad record cannot hide the rest of the file.
    """
    decoder = json.JSONDecoder()
    pos, line, size = 0, 1, len(text)
    while pos < size:
        while pos < size and text[pos] in " \t\r\n":
            if text[pos] == "\n":
                line += 1
            pos += 1
        if pos >= size:
            return
        start, start_line = pos, line
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            resume = text.find("\n{", pos + 1)
            end = size if resume < 0 else resume + 1
            quarantine.add(label, start_line, f"malformed JSON: {exc.msg}", text[start:end], start)
            line += text.count("\n", start, end)
            pos = end
            continue
        line += text.count("\n", start, end)
        pos = end
        try:
            row = to_row(obj)
        except FieldError as exc:
            quarantine.add(label, start_line, str(exc), text[start:end], start)
            continue
        row[LINE_FIELD] = start_line
        row[OFFSET_FIELD] = start
        yield row


def read_winlog_json(path: str | Path, quarantine: Quarantine, batch_rows: int = BATCH_ROWS) -> Iterator[EventBatch]:
    """Records of an evtx_dump or Winlogbeat JSON file (the whole file is decoded in memory)."""
    label = str(Path(path).resolve())
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path=label) from exc
    text = data.decode("utf-8", "replace")
    return _batched(parse_json_records(text, label, quarantine), label, batch_rows)


# -- identities inside records (docs/adr/0003, privacy addendum) ----------------------------------

#: EventData/UserData names whose values identify a user account (name, SID or DN)
IDENTITY_KEYS: frozenset[str] = frozenset(
    {
        "SubjectUserName",
        "SubjectUserSid",
        "TargetUserName",
        "TargetUserSid",
        "TargetSid",
        "TargetOutboundUserName",
        "OldTargetUserName",
        "NewTargetUserName",
        "User",
        "UserName",
        "UserSid",
        "AccountName",
        "SamAccountName",
        "MemberName",
        "MemberSid",
        "ParentUser",
        "SourceUser",
        "TargetUser",
        "ClientUserName",
    }
)
#: the System part's Security/@UserID, a SID
USER_COLUMN = "winlog.user.identifier"

# Built-in and service identities name no person, and rules test for them; they stay readable.
_KEPT_NAMES = frozenset(
    n.casefold()
    for n in (
        "SYSTEM",
        "LOCAL SERVICE",
        "NETWORK SERVICE",
        "LOCALSERVICE",
        "NETWORKSERVICE",
        "LocalSystem",
        "ANONYMOUS LOGON",
        "Administrator",
        "Guest",
        "krbtgt",
        "DefaultAccount",
        "WDAGUtilityAccount",
        "СИСТЕМА",
        "Système",
        "-",
        "",
    )
)
# Domains of built-in principals ("NT AUTHORITY" in any language, window manager, services).
_KEPT_DOMAIN = re.compile(r"(?i)^(.*AUTHORI.*|.*AUTORI.*|window manager|font driver host|nt service|iis apppool)$")
_VIRTUAL = re.compile(r"(?i)^(DWM|UMFD)-\d+$")
# Well-known SIDs: everything outside the machine/domain space S-1-5-21-..., and in that space
# the built-in RIDs below 1000 (Administrator -500, Guest, krbtgt, Domain Admins -512, ...).
_DOMAIN_SID = re.compile(r"(?i)^S-1-5-21-\d+-\d+-\d+-(\d+)$")
_SID = re.compile(r"(?i)^S-1-\d+(-\d+)*$")


def keeps_identity(value: str) -> bool:
    """Whether an account value stays readable: built-in principals, machine accounts, well-known SIDs.

    Why: such values name no person (machine accounts ``HOST$`` name hosts, which Watchhouse
    keeps in ``host.name`` anyway), and Sigma rules match on exactly them (``NT AUTHORITY``,
    ``S-1-5-18``, ``-500``, ``$``); hashing them would blind those rules and protect nobody.
    """
    text = value.strip()
    if _SID.match(text):
        rid = _DOMAIN_SID.match(text)
        if rid is not None:
            return int(rid.group(1)) < 1000
        return not text.upper().startswith("S-1-5-21-")
    if text.endswith("$"):
        return True
    domain, _, name = text.rpartition("\\")
    if domain and _KEPT_DOMAIN.match(domain):
        return True
    return name.casefold() in _KEPT_NAMES or bool(_VIRTUAL.match(name))


_IDENTITY_PATTERN = '"(?:' + "|".join(sorted(IDENTITY_KEYS)) + ')":'


def pseudonymise_winlog(batch: EventBatch, pseudonymizer: Pseudonymizer) -> EventBatch:
    """Replace account names and SIDs in ``winlog.user.identifier`` and EventData by pseudonyms.

    Why here: EventData is one JSON text per record (ADR 0003), so the reader's column-wise
    pseudonymisation cannot reach the names inside it. Rows are prefiltered vectorised (only
    those naming an identity key are decoded), each distinct value is hashed once through
    :meth:`Pseudonymizer.column` (so the identity vault learns the pairs), and values
    :func:`keeps_identity` accepts stay as they are.
    """
    if batch.dataset is not Dataset.WINLOG or batch.num_rows == 0:
        return batch
    table = batch.table
    data = pl.Series(table.column("winlog.event_data").combine_chunks())
    hits = data.str.contains(_IDENTITY_PATTERN).fill_null(False)
    rows = hits.arg_true().to_list()
    decoded: dict[int, dict[str, Any]] = {}
    texts = data.to_list()
    wanted: set[str] = set()
    for row in rows:
        fields = orjson.loads(texts[row])
        if isinstance(fields, dict):
            decoded[row] = fields
            wanted.update(v for k, v in fields.items() if k in IDENTITY_KEYS and isinstance(v, str))
    users = table.column(USER_COLUMN).to_pylist()
    wanted.update(u for u in users if u is not None)
    secret = sorted(v for v in wanted if not keeps_identity(v))
    if not secret:
        return batch
    mapping = dict(zip(secret, pseudonymizer.column(pa.array(secret, type=pa.string())).to_pylist(), strict=True))
    for row, fields in decoded.items():
        changed = False
        for key, value in fields.items():
            if key in IDENTITY_KEYS and isinstance(value, str) and value in mapping:
                fields[key] = mapping[value]
                changed = True
        if changed:
            texts[row] = orjson.dumps(fields).decode()
    index = table.schema.get_field_index("winlog.event_data")
    table = table.set_column(index, table.schema.field(index), pa.array(texts, type=pa.string()))
    index = table.schema.get_field_index(USER_COLUMN)
    table = table.set_column(
        index, table.schema.field(index), pa.array([mapping.get(u, u) if u else u for u in users], pa.string())
    )
    return EventBatch(batch.dataset, table)
