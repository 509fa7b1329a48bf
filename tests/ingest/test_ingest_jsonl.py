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


def test_full_requests_sharing_key_sets_keep_their_own_values_and_datasets(tmp_path: Path) -> None:
    """Key sets are planned once and timestamp texts parsed once: neither may leak a value, a
    dataset or a verdict from one line to the next."""
    request = {
        "@timestamp": "2026-01-01T00:00:01Z",
        "source.ip": "192.0.2.1",
        "http.request.method": "POST",
        "url.original": "/login?next=%2F",
        "http.request.headers": {"Host": "shop.example", "Cookie": "sid=1"},
        "http.request.body.content": "user=a&pass=b",
        "tenant": "blue",
    }
    data = _lines(
        request,
        {**request, "url.original": "/cart", "http.request.headers": {"Host": "x"}, "source.ip": "192.0.2.2"},
        {**request, "@timestamp": "2026-01-01T00:00:01+01:00"},  # same key set, another instant
        {**request, "@timestamp": "soon"},  # same key set, bad timestamp
        {**request, "@timestamp": "soon"},  # ... quarantined again, not remembered as good
        {**request, "http.request.method": None},  # a null stays null
        {"@timestamp": "2026-01-01T00:00:01Z", "event.dataset": "message", "message": "hi", "user.name": "a"},
        {"@timestamp": "2026-01-01T00:00:01Z", "event.dataset": "http", "message": "hi", "user.name": "a"},
        {**request, "http": {"response": {"status_code": "not a number"}}},  # nested, bad value
        # one key set, two verdicts: the dataset comes from a value here
        {"@timestamp": 1767225601, "event.outcome": "failure", "event.category": "process", "source.ip": "x"},
        {"@timestamp": 1767225601, "event.outcome": "failure", "event.category": "authentication", "source.ip": "x"},
    )
    out = read_bytes(tmp_path, data)
    http = out.frame(Dataset.HTTP)
    assert http["log.file.line"].to_list() == [1, 2, 3, 6, 8]
    assert http["url.original"].to_list()[:4] == ["/login?next=%2F", "/cart", "/login?next=%2F", "/login?next=%2F"]
    assert http["http.request.headers"].to_list()[:2] == ['{"Host":"shop.example","Cookie":"sid=1"}', '{"Host":"x"}']
    stamps = http["@timestamp"].to_list()
    assert stamps[0] == stamps[1] == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert stamps[2] == datetime(2025, 12, 31, 23, 0, 1, tzinfo=UTC)
    assert http["http.request.method"].to_list()[3] is None
    assert http["source.ip"].to_list()[4] is None  # the http-tagged message line has no request fields
    assert out.frame(Dataset.MESSAGE)["log.file.line"].to_list() == [7]
    reasons = [(e["line"], str(e["reason"]).split(":")[0]) for e in quarantined(out)]
    assert reasons == [
        (4, "invalid @timestamp 'soon'"),
        (5, "invalid @timestamp 'soon'"),
        (9, "field http.response.status_code"),
        (10, "cannot tell the dataset"),
    ]
    assert out.frame(Dataset.AUTH)["log.file.line"].to_list() == [11]
    # unknown fields are counted for the lines that became events
    assert out.stats.unknown_fields["tenant"] == 4


def test_integer_texts_int_cannot_read_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """``str.isdigit`` holds for "²" and, once every leading minus is stripped, for "--5": such
    a status code stopped the whole read with a ValueError (found by the columnar property test).
    Digits of other scripts are refused too; plain texts with a sign and blanks are read."""
    good = {"@timestamp": "2026-01-01T00:00:00Z", "url.original": "/ok", "http.response.status_code": 200}
    odd = ["\u00b2", "--5", "4\u00b2", "\u0664\u0660\u0664", "1_000", "+5"]
    data = _lines(
        good,
        *({**good, "http.response.status_code": text} for text in odd),
        {**good, "http.response.status_code": " -404 "},
    )
    out = read_bytes(tmp_path, data)
    frame = out.frame(Dataset.HTTP)
    assert frame["log.file.line"].to_list() == [1, 2 + len(odd)]
    assert frame["http.response.status_code"].to_list() == [200, -404]
    reasons = [(e["line"], str(e["reason"])) for e in quarantined(out)]
    assert reasons == [
        (2 + i, f"field http.response.status_code: cannot convert {text!r} to a 32-bit integer")
        for i, text in enumerate(odd)
    ]


def test_epoch_numbers_past_the_year_9999_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """An epoch number past any calendar went on to the timestamp column and overflowed it, which
    stopped the read; as text, as an integer or as a float, it now costs its own line."""
    good = {"@timestamp": "2026-01-01T00:00:00Z", "url.original": "/ok"}
    data = _lines(
        good,
        {**good, "@timestamp": "99999999999999999999999"},
        b'{"@timestamp": 10000000000000000000000, "url.original": "/ok"}',  # past what orjson writes
        {**good, "@timestamp": 1e300},
        {**good, "@timestamp": -(10**17)},  # milliseconds before the year 1
        {**good, "@timestamp": 253402300799000},  # the last second of 9999 (as milliseconds): still a time
    )
    out = read_bytes(tmp_path, data)
    frame = out.frame(Dataset.HTTP)
    assert frame["log.file.line"].to_list() == [1, 6]
    assert str(frame["@timestamp"][1]) == "9999-12-31 23:59:59+00:00"
    reasons = [(e["line"], str(e["reason"])) for e in quarantined(out)]
    assert [line for line, _ in reasons] == [2, 3, 4, 5]
    assert all(reason.endswith("not a time between the years 1 and 9999") for _, reason in reasons)


def test_values_past_their_column_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """A status code past 32 bits, a byte count past 64 and headers nested deeper than JSON text
    can be written back once stopped the whole read; now each costs only its own line."""
    good = {"@timestamp": "2026-01-01T00:00:00Z", "url.original": "/ok", "http.response.status_code": 200}
    data = _lines(
        good,
        {**good, "http.response.status_code": 2**40},
        {**good, "http.response.status_code": "3000000000"},
        {**good, "http.response.body.bytes": 2**63},
        # orjson reads 300 levels but writes at most 254: written here by hand
        b'{"@timestamp": "2026-01-01T00:00:00Z", "url.original": "/deep", "http.request.headers": '
        + b'{"a":' * 300
        + b"1"
        + b"}" * 301,
        {**good, "http.response.status_code": 2**31 - 1},
    )
    out = read_bytes(tmp_path, data)
    assert out.frame(Dataset.HTTP)["log.file.line"].to_list() == [1, 6]
    assert out.frame(Dataset.HTTP)["http.response.status_code"].to_list() == [200, 2**31 - 1]
    reasons = [(e["line"], str(e["reason"])) for e in quarantined(out)]
    assert reasons == [
        (2, "field http.response.status_code: cannot convert 1099511627776 to a 32-bit integer"),
        (3, "field http.response.status_code: cannot convert '3000000000' to a 32-bit integer"),
        (4, "field http.response.body.bytes: cannot convert 9223372036854775808 to an integer"),
        (5, "field http.request.headers: object nested too deeply to keep as text"),
    ]
