"""The small tables the burst tracker builds from columns (no Polars query): their schema and
contents, against plain Python recounts, including nulls where a name or watermark is missing."""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND, KEY_SEP, ROW_SCHEMA, keyed
from watchhouse.detectors.accounts.burst_tracker import SEGMENT_SCHEMA, segmented

WINDOW = 600_000_000  # ten minutes in microseconds
T0 = 1_772_000_000_000_000
THRESHOLDS = {IP_KIND: 3, ACCOUNT_KIND: 2}


def _events() -> pl.DataFrame:
    """sshd and web logins, some without an address, an account or a service."""
    rows = [
        (T0, 0, "198.51.100.7", "root", "sshd"),
        (T0 + 1, 1, None, "admin", "web"),
        (T0 + 2, 2, "198.51.100.7", None, "sshd"),
        (T0 + 3, 3, "203.0.113.9", "root", None),
        (T0 + 4, 4, "198.51.100.7", "root", "sshd"),
    ]
    return pl.DataFrame(
        [
            {"ts": ts, "seq": seq, "path": "auth.log", "line": seq + 1, "offset": None, "ip": ip, "user": user}
            | {"service": service}
            for ts, seq, ip, user, service in rows
        ],
        schema={name: ROW_SCHEMA[name] for name in ("ts", "seq", "path", "line", "offset", "ip", "user", "service")},
    )


def test_keyed_rows_are_one_per_present_name_with_the_row_schema() -> None:
    events = _events()
    rows = keyed(events)
    assert rows.schema == pl.Schema(ROW_SCHEMA)
    expected = [
        (IP_KIND, ip, seq) for seq, ip in zip(events["seq"].to_list(), events["ip"].to_list(), strict=True) if ip
    ] + [
        (ACCOUNT_KIND, f"{service or ''}{KEY_SEP}{user}", seq)
        for seq, user, service in events.select("seq", "user", "service").iter_rows()
        if user is not None
    ]
    assert list(rows.select("kind", "key", "seq").iter_rows()) == expected
    # every other column is the event's own
    by_seq = {row["seq"]: row for row in events.to_dicts()}
    for row in rows.to_dicts():
        assert {name: row[name] for name in by_seq[row["seq"]]} == by_seq[row["seq"]]


def test_keyed_rows_of_one_kind_only() -> None:
    rows = keyed(_events(), kinds=(IP_KIND,))
    assert rows.schema == pl.Schema(ROW_SCHEMA)
    assert rows["key"].to_list() == ["198.51.100.7", "198.51.100.7", "203.0.113.9", "198.51.100.7"]
    assert keyed(_events().clear()).height == 0


def test_segment_tables_at_the_end_of_input_have_no_watermark() -> None:
    """At the end of input (no watermark) every segment closes; those reaching their threshold
    are emitted with a null watermark, and none stays open."""
    rows = keyed(_events())
    parts = segmented(rows, WINDOW, None, THRESHOLDS)
    assert parts.tracked.schema == pl.Schema(SEGMENT_SCHEMA)
    assert parts.open.height == 0
    got = parts.emit.select("kind", "key", "first", "last", "n").rows()
    assert sorted(got) == [
        (ACCOUNT_KIND, f"sshd{KEY_SEP}root", T0, T0 + 4, 2),
        (IP_KIND, "198.51.100.7", T0, T0 + 4, 3),
    ]
    assert parts.emit["wm"].null_count() == parts.emit.height


def test_segment_tables_under_a_watermark_split_emitted_from_open() -> None:
    """A watermark past one key's last failure plus a window closes it; the other stays open."""
    rows = keyed(_events())
    late = rows.filter(pl.col("key") == "198.51.100.7").with_columns(ts=pl.col("ts") + 2 * WINDOW)
    rows = pl.concat([rows.filter(pl.col("key") != "198.51.100.7"), late])
    mark = T0 + WINDOW + 10
    parts = segmented(rows, WINDOW, {"auth.log": mark}, THRESHOLDS)
    assert parts.tracked.schema == pl.Schema(SEGMENT_SCHEMA)
    assert parts.emit.select("kind", "key", "n", "wm").rows() == [(ACCOUNT_KIND, f"sshd{KEY_SEP}root", 2, mark)]
    assert parts.open.select("kind", "key", "n", "wm").rows() == [(IP_KIND, "198.51.100.7", 3, mark)]
    # ``start`` is each segment's first sorted position: its rows are the next ``n`` positions
    for start, n, first in parts.tracked.select("start", "n", "first").iter_rows():
        assert parts.ts[start] == first and len(set(parts.seg[start : start + n].tolist())) == 1
