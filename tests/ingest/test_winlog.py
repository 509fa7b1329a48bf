from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.errors import InputError
from watchhouse.ingest.quarantine import Quarantine
from watchhouse.ingest.winlog import parse_json_records, read_evtx, read_winlog_json

RECORD = {
    "Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1,
            "TimeCreated": {"#attributes": {"SystemTime": "2025-01-02T03:04:05.5Z"}},
            "EventRecordID": 7,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "ws1",
        },
        "EventData": {"Image": "C:\\x.exe", "ProcessId": 42, "Source Name": "RTP"},
    }
}


def test_pretty_printed_records_keep_their_line_numbers(tmp_path: Path) -> None:
    text = orjson.dumps(RECORD, option=orjson.OPT_INDENT_2).decode()
    path = tmp_path / "events.json"
    path.write_text(text + "\n" + text + "\n")
    (batch,) = read_winlog_json(path, Quarantine(None))
    assert batch.table.column("log.file.line").to_pylist() == [1, 1 + text.count("\n") + 1]
    data = orjson.loads(batch.table.column("winlog.event_data")[0].as_py())
    assert data == {"Image": "C:\\x.exe", "ProcessId": "42", "Source Name": "RTP", "SourceName": "RTP"}
    assert batch.table.column("winlog.event_id").to_pylist() == [1, 1]


def test_malformed_and_foreign_records_are_quarantined_with_line_and_reason(tmp_path: Path) -> None:
    good = orjson.dumps(RECORD).decode()
    path = tmp_path / "mixed.json"
    path.write_text(f'{good}\n{{"Event": broken\n{{"other": 1}}\n{good}\n')
    quarantine = Quarantine(tmp_path / "q.jsonl")
    (batch,) = read_winlog_json(path, quarantine)
    quarantine.close()
    assert batch.num_rows == 2
    entries = [orjson.loads(x) for x in (tmp_path / "q.jsonl").read_bytes().splitlines()]
    assert [(e["line"], e["reason"].split(":")[0]) for e in entries] == [
        (2, "malformed JSON"),
        (3, "unknown record shape"),
    ]


def test_numbers_past_64_bits_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """An EventID or EventRecordID past the 64-bit column overflowed it and stopped the read."""
    good = orjson.dumps(RECORD).decode()
    big = good.replace('"EventRecordID":7', '"EventRecordID":99999999999999999999')
    huge = good.replace('"EventID":1', '"EventID":1e30')
    assert big != good and huge != good
    path = tmp_path / "numbers.json"
    path.write_text(f"{good}\n{big}\n{huge}\n{good}\n")
    quarantine = Quarantine(tmp_path / "q.jsonl")
    (batch,) = read_winlog_json(path, quarantine)
    quarantine.close()
    assert batch.table.column("log.file.line").to_pylist() == [1, 4]
    entries = [orjson.loads(x) for x in (tmp_path / "q.jsonl").read_bytes().splitlines()]
    assert [(e["line"], e["reason"]) for e in entries] == [
        (2, "invalid EventRecordID '99999999999999999999': past 64 bits"),
        (3, "invalid EventID '1e+30': past 64 bits"),
    ]


def test_winlogbeat_documents_are_read() -> None:
    doc = {
        "@timestamp": "2025-01-02T03:04:05Z",
        "winlog": {"channel": "Security", "event_id": "4688", "event_data": {"NewProcessName": "C:\\a.exe"}},
        "host": {"name": "dc1"},
    }
    quarantine = Quarantine(None)
    (row,) = parse_json_records(orjson.dumps(doc).decode(), "x", quarantine)
    assert row["winlog.event_id"] == 4688 and row["host.name"] == "dc1"
    assert orjson.loads(row["winlog.event_data"]) == {"NewProcessName": "C:\\a.exe"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_json_reader(data: bytes) -> None:
    quarantine = Quarantine(None)
    rows = list(parse_json_records(data.decode("utf-8", "replace"), "fuzz", quarantine))
    assert all("winlog.event_data" in r for r in rows)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_are_not_an_evtx_file(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("evtx") / "fuzz.evtx"
    path.write_bytes(data)
    try:
        batches = list(read_evtx(path, Quarantine(None)))
    except InputError:
        return
    assert sum(b.num_rows for b in batches) == 0


def test_real_evtx_and_its_json_export_agree(corpora: Path) -> None:
    folder = next((corpora / "sigma" / "regression_data").rglob("*.evtx")).parent
    (evtx_batch,) = read_evtx(next(folder.glob("*.evtx")), Quarantine(None))
    (json_batch,) = read_winlog_json(next(folder.glob("*.json")), Quarantine(None))
    for column in ("winlog.event_id", "winlog.channel", "host.name", "winlog.event_data", "@timestamp"):
        assert evtx_batch.table.column(column).to_pylist() == json_batch.table.column(column).to_pylist()
