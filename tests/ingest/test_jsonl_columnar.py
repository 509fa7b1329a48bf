"""The column-wise JSON-lines reading must give exactly what the per-line reading gives.

Same typed rows in the same order, same provenance, same quarantined lines with the same reasons,
same unknown fields counted in the same order, on generated lines that mix key sets, nesting,
datasets, wrong types, odd timestamps, blanks and malformed JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.jsonl import JsonLinesParser
from watchhouse.ingest.source import LineChunk

_STAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:00.5Z",
            "2026-03-02T10:00:00.123456+02:00",
            "2026-03-02T23:59:59-05:30",
            "2026-02-30T00:00:00Z",  # no such day: Arrow refuses, the exact parser names it
            "2026-03-02T24:00:00Z",
            "0000-01-01T00:00:00Z",
            "2026-03-02 10:00:00",
            " 2026-03-02T10:00:00Z",
            "1772445600",
            "soon",
            "",
        ]
    ),
    st.integers(min_value=-(2**40), max_value=2**45),
    st.floats(min_value=0, max_value=2e12, allow_nan=False),
    st.none(),
    st.booleans(),
)
_SCALARS = st.one_of(
    st.text(max_size=6),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what JSON numbers orjson reads
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["401", "12.5", "-3", " 7 ", "auth", "http", "login", "authentication"]),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
    st.dictionaries(st.sampled_from(["Host", "X-A", "a"]), _SCALARS, max_size=2),
)
# Field names the schemas know (some with a type to miss), nested parents, and unknown ones.
_KEYS = [
    "source.ip",
    "url.original",
    "http.request.method",
    "http.response.status_code",
    "http.request.headers",
    "user.name",
    "event.outcome",
    "event.category",
    "event.action",
    "event.dataset",
    "transaction.amount",
    "message",
    "user.target.name",
    "source.as.number",
    "tenant",
]


@st.composite
def _event(draw: st.DrawFn, shapes: list[tuple[str, ...]]) -> dict[str, Any]:
    keys = draw(st.sampled_from(shapes))
    event: dict[str, Any] = {}
    for key in keys:
        if key == "@timestamp":
            event[key] = draw(_STAMPS)
        elif key == "event.dataset":
            event[key] = draw(st.sampled_from(["http", "auth", "message", "nope", 3, None]))
        elif key in ("source", "http", "event", "user"):  # a nested object: ECS as producers nest it
            inner = draw(st.sampled_from([("ip",), ("ip", "as"), ("request",), ("outcome", "category"), ("name",)]))
            value: dict[str, Any] = {}
            for name in inner:
                value[name] = draw(st.one_of(_SCALARS, st.just({"number": 7}), st.just({"headers": {"X": "1"}})))
            event[key] = draw(st.one_of(st.just(value), _SCALARS, st.just({})))
        else:
            event[key] = draw(_VALUES)
    return event


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    """Lines from a few key sets (as a producer writes them), with broken lines among them."""
    pool = ["@timestamp", *_KEYS, "source", "http", "event", "user", "source.ip"]
    shapes = draw(
        st.lists(
            st.lists(st.sampled_from(pool), min_size=1, max_size=6, unique=True).map(tuple), min_size=1, max_size=4
        )
    )
    shapes = [("@timestamp", *shape) if draw(st.booleans()) or "@timestamp" in shape else shape for shape in shapes]
    out: list[bytes] = []
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        kind = draw(st.integers(min_value=0, max_value=30))
        if kind == 0:
            out.append(
                draw(st.sampled_from([b"", b"   ", b"{not json", b"[1, 2]", b"null", b'"x"', b'{"a": 1', b"{}"]))
            )
        else:
            out.append(orjson.dumps(draw(_event(shapes))))
    return b"\n".join(out) + draw(st.sampled_from([b"\n", b""]))


def _summary(result: ParseResult) -> tuple[object, ...]:
    # timestamps as integers: a far epoch number is a valid event here but not a Python datetime
    tables = [
        (dataset, [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in table.columns])
        for dataset, table in result.tables
    ]
    tables = [(dataset, [c.to_pylist() for c in columns]) for dataset, columns in tables]
    rejected = [(r.line, r.offset, r.reason, r.raw) for r in sorted(result.rejected, key=lambda r: r.line)]
    return tables, rejected, result.blank, list(result.unknown_fields.items())


def _both(data: bytes, dataset: Dataset | None, field_map: dict[str, str]) -> tuple[ParseResult, ParseResult]:
    chunk = LineChunk(data, first_line=5, offset=100)
    columns = JsonLinesParser(dataset, field_map, group_min_rows=1).parse(chunk)
    lines = JsonLinesParser(dataset, field_map).parse_by_line(LineChunk(data, first_line=5, offset=100))
    return columns, lines


@settings(max_examples=150, deadline=None)
@example(  # found by this test: the per-line path had remembered AUTH for the key set
    b'{"@timestamp":"2026-03-02T10:00:00Z","event.outcome":"","message":"","event.category":["authentication"]}\n'
    b'{"@timestamp":"2026-03-02T10:00:00Z","event.outcome":"","message":"","event.category":""}\n',
    None,
    {},
)
@given(
    _lines(),
    st.sampled_from([None, Dataset.HTTP, Dataset.AUTH]),
    st.sampled_from([{}, {"tenant": "user.name"}, {"tenant": "source.ip"}]),
)
def test_columns_and_lines_agree_on_generated_lines(
    data: bytes, dataset: Dataset | None, field_map: dict[str, str]
) -> None:
    columns, lines = _both(data, dataset, field_map)
    assert _summary(columns) == _summary(lines)
    for (_, fast), (_, slow) in zip(columns.tables, lines.tables, strict=True):
        assert fast.schema == slow.schema


def test_full_requests_in_interleaved_key_sets_keep_line_order_and_counts() -> None:
    """Three key sets interleaved as the CRS requests are, a bad status code and a bad time among
    them: rows in line order, offsets exact, the two bad lines quarantined with their reasons."""
    rows: list[bytes] = []
    for i in range(3000):
        request: dict[str, Any] = {
            "@timestamp": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "source.ip": f"192.0.2.{i % 250}",
            "http.request.method": "GET",
            "url.original": f"/item/{i}",
            "http.request.headers": {"Host": "shop.example", "X-N": str(i)},
        }
        if i % 3:
            request["user_agent.original"] = "curl/8"
        if i % 7 == 0:
            request["http.request.body.content"] = f"q={i}"
        if i % 11 == 0:
            request["tenant"] = "blue"
        rows.append(orjson.dumps(request))
    rows[1234] = rows[1234].replace(b'"GET"', b'"GET","http.response.status_code":"4xx"')
    rows[2345] = rows[2345].replace(b"2026-01-01T", b"2026-13-01T")
    data = b"\n".join(rows) + b"\n"
    columns, lines = _both(data, Dataset.HTTP, {})
    assert _summary(columns) == _summary(lines)
    (dataset, table), *others = columns.tables
    assert dataset is Dataset.HTTP and not others and table.num_rows == 2998
    numbers = table.column("log.file.line").to_pylist()
    assert numbers == [5 + i for i in range(3000) if i not in (1234, 2345)]
    assert table.column("url.original")[1234].as_py() == "/item/1235"
    assert table.column("http.request.headers")[0].as_py() == '{"Host":"shop.example","X-N":"0"}'
    reasons = [(r.line, r.reason.split(":")[0]) for r in columns.rejected]
    assert reasons == [(5 + 1234, "field http.response.status_code"), (5 + 2345, "invalid @timestamp '2026-13-01T00")]
    assert columns.unknown_fields == {"tenant": len([i for i in range(3000) if i % 11 == 0])}


def test_nested_auth_events_flatten_like_the_per_line_path() -> None:
    """ECS auth events as the simulator writes them (nested, some keys only on some lines)."""
    rows = []
    for i in range(2500):
        event: dict[str, Any] = {"dataset": "auth", "action": "login", "outcome": "failure" if i % 4 else "success"}
        if i % 4:
            event["reason"] = "bad password"
        source: dict[str, Any] = {"ip": f"198.51.100.{i % 200}", "geo": {"country_iso_code": "FR"}}
        if i % 5:
            source["as"] = {"number": 3215 + i % 3}
        row: dict[str, Any] = {"@timestamp": f"2026-03-02T00:00:{i % 60:02d}.{i % 1000:03d}Z", "event": event}
        row["source"] = source
        row["user"] = {"name": f"user{i % 97}"}
        if i % 9 == 0:
            row["device"] = {"id": f"d-{i}"}
        rows.append(orjson.dumps(row))
    data = b"\n".join(rows) + b"\n"
    columns, lines = _both(data, None, {})
    assert _summary(columns) == _summary(lines)
    ((dataset, table),) = columns.tables
    assert dataset is Dataset.AUTH and table.num_rows == 2500
    assert table.column("source.as.number").to_pylist()[:6] == [None, 3216, 3217, 3215, 3216, None]
    assert table.column("event.reason").null_count == 625


def test_a_dataset_told_by_values_belongs_to_that_event_not_to_its_key_set() -> None:
    """Events without an account name say they are logins by their values (event.category or
    event.action), event by event: one of the same keys that says nothing of the kind is
    quarantined with the reason, by both paths, whichever came first."""
    login = b'{"@timestamp":"2026-03-02T10:00:00Z","event.outcome":"failure","event.category":"authentication"}'
    other = b'{"@timestamp":"2026-03-02T10:00:01Z","event.outcome":"failure","event.category":"network"}'
    for data in (login + b"\n" + other + b"\n", other + b"\n" + login + b"\n" + login + b"\n"):
        columns, lines = _both(data, None, {})
        for result in (columns, lines):
            ((dataset, table),) = result.tables
            assert dataset is Dataset.AUTH and table.num_rows == data.count(b'"authentication"')
            assert [r.reason for r in result.rejected] == [
                "cannot tell the dataset: set event.dataset or choose one with --dataset"
            ]
