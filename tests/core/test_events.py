from __future__ import annotations

import pyarrow as pa
import pytest

from watchhouse.core.errors import SchemaError
from watchhouse.core.events import SCHEMAS, Dataset, EventBatch
from watchhouse.core.findings import EventRef
from watchhouse.testing.factories import make_batch, split_batch


def test_every_dataset_has_provenance_first() -> None:
    for dataset in Dataset:
        assert SCHEMAS[dataset].names[:4] == ["@timestamp", "log.file.path", "log.file.line", "log.offset"]


def test_conforming_fills_missing_fields_and_casts() -> None:
    table = pa.table({"log.file.path": ["a.log"], "log.file.line": pa.array([7], pa.int32()), "url.original": ["/x"]})
    batch = EventBatch.from_table(Dataset.HTTP, table)
    assert batch.table.schema.equals(SCHEMAS[Dataset.HTTP], check_metadata=False)
    assert batch.table.column("log.file.line").type == pa.int64()
    assert batch.table.column("source.ip").null_count == 1
    assert batch.ref(0) == EventRef("a.log", 7, None)


def test_unknown_fields_and_missing_provenance_are_refused() -> None:
    with pytest.raises(SchemaError, match="not in the http schema"):
        EventBatch.from_table(Dataset.HTTP, pa.table({"log.file.path": ["a"], "nonsense": [1]}))
    with pytest.raises(SchemaError, match="provenance"):
        EventBatch.from_table(Dataset.HTTP, pa.table({"log.file.path": pa.array([None], pa.string())}))


def test_uncastable_values_name_the_field() -> None:
    with pytest.raises(SchemaError, match=r"http\.response\.status_code"):
        EventBatch.from_table(
            Dataset.HTTP, pa.table({"log.file.path": ["a"], "http.response.status_code": ["not a number"]})
        )


def test_slices_concat_and_refs_keep_provenance() -> None:
    batch = make_batch(Dataset.AUTH, [{"source.ip": f"10.0.0.{i}"} for i in range(10)], path="x.jsonl")
    pieces = split_batch(batch, 3)
    assert [p.num_rows for p in pieces] == [3, 3, 3, 1]
    joined = EventBatch.concat(pieces)
    assert joined.refs([0, 9]) == (EventRef("x.jsonl", 1), EventRef("x.jsonl", 10))
    assert joined.to_polars()["source.ip"].to_list()[-1] == "10.0.0.9"
    with pytest.raises(SchemaError):
        EventBatch.concat([batch, make_batch(Dataset.HTTP, [{}])])


def test_docs_events_md_is_current() -> None:
    from pathlib import Path

    from watchhouse.core.schema_doc import render

    doc = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert doc.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m watchhouse.core.schema_doc > docs/events.md"
    )
