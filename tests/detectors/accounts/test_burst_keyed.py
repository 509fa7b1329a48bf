"""``burst_keys.keyed``: the keyed rows it puts together from series, names missing or not."""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND, KEY_SEP, ROW_SCHEMA, keyed

_EVENT_SCHEMA = {name: dtype for name, dtype in ROW_SCHEMA.items() if name not in ("kind", "key")}


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [1, 2, 3, 4],
            "seq": [10, 11, 12, 13],
            "path": ["a.log", None, "b.log", "a.log"],
            "line": [1, None, 3, 4],
            "offset": [None, None, None, None],
            "ip": ["10.0.0.1", None, "10.0.0.3", "10.0.0.4"],
            "user": ["root", "admin", None, "bob"],
            "service": ["sshd", None, "web", None],
        },
        schema=_EVENT_SCHEMA,
    )


def test_rows_per_kind_skip_missing_names_and_keep_the_schema() -> None:
    out = keyed(_events())
    assert out.schema == pl.Schema(ROW_SCHEMA)
    assert out.get_column("kind").to_list() == [IP_KIND] * 3 + [ACCOUNT_KIND] * 3
    assert out.get_column("key").to_list() == [
        "10.0.0.1",
        "10.0.0.3",
        "10.0.0.4",
        f"sshd{KEY_SEP}root",
        f"{KEY_SEP}admin",  # no service: the empty name
        f"{KEY_SEP}bob",
    ]
    assert out.get_column("seq").to_list() == [10, 12, 13, 10, 11, 13]


def test_one_kind_and_no_rows() -> None:
    assert keyed(_events(), kinds=(ACCOUNT_KIND,)).get_column("kind").to_list() == [ACCOUNT_KIND] * 3
    empty = keyed(_events().clear())
    assert empty.height == 0
    assert empty.schema == pl.Schema(ROW_SCHEMA)
