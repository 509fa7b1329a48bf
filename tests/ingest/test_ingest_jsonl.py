from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from tests.ingest.helpers import PSEUDO, quarantined, read_bytes

from watchhouse.core.events import Dataset


def _lines(*rows: object) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def test_mixed_datasets_nested_and_dotted(tmp_path: Path) -> None:
    data = _lines(
        {
            "@timestamp": "2026-03-02T10:00:00Z",
            "source": {"ip": "198.51.100.7"},
            "http.request.method": "POST",
            "url": {"original": "/login"},
            "http": {"request": {"headers": {"X-A": "1"}}, "response": {"status_code": "401"}},
            "extra": {"thing": 1},
        },
        {
            "@timestamp": 1772445600123,
            "event": {"outcome": "failure", "category": ["authentication"]},
            "user.name": "u",
        },
        b"",
        {"@timestamp": "2026-03-02T12:00:00+02:00", "event.dataset": "message", "message": "hi", "user.name": "a"},
        {"@timestamp": 1772445600, "transaction": {"amount": "12.5", "currency": "EUR"}},
    )
    out = read_bytes(tmp_path, data)
    assert out.reader.fmt == "jsonl"
    http = out.frame(Dataset.HTTP).row(0, named=True)
    assert http["source.ip"] == "198.51.100.7" and http["url.original"] == "/login"
    assert http["http.request.headers"] == '{"X-A":"1"}' and http["http.response.status_code"] == 401
    auth = out.frame(Dataset.AUTH).row(0, named=True)
    assert auth["@timestamp"] == datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=UTC)
    assert auth["user.name"] == PSEUDO.pseudonym("u") and auth["log.file.line"] == 2
    msg = out.frame(Dataset.MESSAGE).row(0, named=True)
    assert msg["@timestamp"] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC) and msg["log.file.line"] == 4
    assert out.frame(Dataset.TRANSACTION)["transaction.amount"].to_list() == [12.5]
    assert out.stats.blank == 1 and out.stats.unknown_fields["extra.thing"] == 1


def test_bad_rows_are_quarantined_with_reasons(tmp_path: Path) -> None:
    data = _lines(
        b"{not json",
        b"[1, 2]",
        {"url.original": "/no-time"},
        {"@timestamp": "yesterday", "url.original": "/"},
        {"@timestamp": "2026-01-01T00:00:00", "foo": 1},
        {"@timestamp": "2026-01-01T00:00:00", "url.original": "/", "http.response.status_code": "abc"},
        {"@timestamp": "2026-01-01T00:00:00", "url.original": "/ok"},
    )
    out = read_bytes(tmp_path, data + b'{"@timestamp": 1, "url.original": "/trunc"')
    reasons = [(e["line"], str(e["reason"]).split(":")[0]) for e in quarantined(out)]
    assert reasons == [
        (1, "malformed JSON"),
        (2, "not a JSON object but list"),
        (3, "missing @timestamp"),
        (4, "invalid @timestamp 'yesterday'"),
        (5, "cannot tell the dataset"),
        (6, "field http.response.status_code"),
        (8, "malformed JSON"),
    ]
    assert out.frame(Dataset.HTTP)["log.file.line"].to_list() == [7]


def test_field_map_and_forced_dataset(tmp_path: Path) -> None:
    data = _lines({"ts": "2026-01-01 00:00:00", "ip": "192.0.2.1", "who": "bob", "ok": "success"})
    out = read_bytes(
        tmp_path,
        data,
        fmt="ndjson",
        dataset=Dataset.AUTH,
        field_map={"ts": "@timestamp", "ip": "source.ip", "who": "user.name", "ok": "event.outcome"},
    )
    row = out.frame(Dataset.AUTH).row(0, named=True)
    assert (row["source.ip"], row["event.outcome"]) == ("192.0.2.1", "success")
    assert row["user.name"] == PSEUDO.pseudonym("bob")
