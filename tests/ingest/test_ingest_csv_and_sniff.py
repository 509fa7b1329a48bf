from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.ingest.helpers import PSEUDO, quarantined, read_bytes

from watchhouse.core.errors import UsageError
from watchhouse.core.events import Dataset
from watchhouse.ingest import FORMATS, detect_format, resolve_format


def test_csv_with_mapping(tmp_path: Path) -> None:
    data = (
        b"time,payer,amount,currency,note\r\n"
        b"2026-03-02T10:00:00Z,alice,12.50,EUR,x\r\n"
        b"\r\n"
        b"2026-03-02T10:01:00Z,bob,lots,EUR,y\r\n"
        b"2026-03-02T10:02:00Z,carol,3\r\n"
        b"2026-03-02 10:03:00,dave,4,USD,z"
    )
    out = read_bytes(
        tmp_path,
        data,
        name="pay.csv",
        dataset=Dataset.TRANSACTION,
        field_map={
            "time": "@timestamp",
            "payer": "user.name",
            "amount": "transaction.amount",
            "currency": "transaction.currency",
        },
    )
    assert out.reader.fmt == "csv"
    frame = out.frame(Dataset.TRANSACTION)
    assert frame["log.file.line"].to_list() == [2, 6]
    assert frame["transaction.amount"].to_list() == [12.5, 4.0]
    assert frame["user.name"].to_list() == [PSEUDO.pseudonym("alice"), PSEUDO.pseudonym("dave")]
    assert frame["@timestamp"][1] == datetime(2026, 3, 2, 10, 3, tzinfo=UTC)
    assert [e["line"] for e in quarantined(out)] == [4, 5]


def test_csv_needs_a_dataset_and_a_timestamp(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="dataset"):
        read_bytes(tmp_path, b"a,b\n1,2\n", fmt="csv")
    with pytest.raises(UsageError, match="@timestamp"):
        read_bytes(tmp_path, b"url.original,b\n1,2\n", fmt="csv")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (b'{"@timestamp": 1}\n{"a": 2}\n', "jsonl"),
        (b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n', "combined"),
        (b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 -\n', "common"),
        (b"# comment\nMar  1 12:00:01 h sshd[1]: x\n", "syslog"),
        (b"2026-03-02T00:00:01+00:00 h sshd[1]: x\n", "syslog"),
        (b"@timestamp,source.ip\n2026-01-01,1.2.3.4\n", "csv"),
    ],
)
def test_detect_format(sample: bytes, expected: str) -> None:
    assert detect_format(sample) == expected


def test_detect_format_failure_and_aliases() -> None:
    with pytest.raises(UsageError, match="tried jsonl"):
        detect_format(b"hello world\n")
    assert FORMATS == ("combined", "common", "jsonl", "syslog", "csv", "auditd")
    assert [resolve_format(a) for a in ("nginx", "ECS", "journal", "csv")] == ["access", "jsonl", "syslog", "csv"]
