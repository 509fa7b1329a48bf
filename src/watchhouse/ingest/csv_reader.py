"""CSV exports with a header row, mapped onto one dataset's ECS fields.

Columns are renamed through the field map; an unmapped column is kept only when its header is
already a field of the dataset, so a spreadsheet's extra columns never leak into events. Quoted
values may not span lines: line numbers must stay exact, so such a row is quarantined instead.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from watchhouse.core.errors import UsageError
from watchhouse.core.events import SCHEMAS, TIMESTAMP_FIELD, Dataset
from watchhouse.ingest.base import ParseResult, ensure_utf8, for_arrow_csv, frame_with_provenance, normalise_newlines
from watchhouse.ingest.fields import FIELD_KINDS, PROVENANCE, FieldError, convert, infer_dataset
from watchhouse.ingest.source import LineChunk


class CsvParser:
    def __init__(self, dataset: Dataset | None, field_map: Mapping[str, str], path: str) -> None:
        self._forced = dataset
        self._field_map = dict(field_map)
        self._path = path
        self._header: list[str] | None = None
        self._targets: dict[str, str] = {}  # source column -> schema field
        self._dataset: Dataset | None = None

    def parse(self, chunk: LineChunk) -> ParseResult:
        result = ParseResult()
        first = 0
        if self._header is None:
            first = self._read_header(chunk, result)
            if first >= chunk.n_lines:
                return result
        rows = np.arange(first, chunk.n_lines, dtype=np.int64)
        data = for_arrow_csv(ensure_utf8(normalise_newlines(chunk.data[int(chunk.starts[first]) :])))
        assert self._header is not None and self._dataset is not None
        invalid: dict[int, str] = {}
        joined = False

        def handler(row: pacsv.InvalidRow) -> str:
            nonlocal joined
            if row.number is None or "\n" in row.text:
                joined = True
            else:
                invalid[row.number - 1] = f"expected {row.expected_columns} fields, got {row.actual_columns}"
            return "skip"

        names = [f"c{i}" for i in range(len(self._header))]
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=len(data) + 1),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
        if joined or table.num_rows + len(invalid) != len(rows):
            for i in rows:
                result.reject(chunk, int(i), "quoted value spans lines (or unbalanced quotes) in this chunk")
            return result
        good = np.ones(len(rows), dtype=bool)
        for index, reason in invalid.items():
            good[index] = False
            if chunk.line(int(rows[index])).strip():
                result.reject(chunk, int(rows[index]), reason)
            else:
                result.blank += 1
        self._convert(chunk, table, rows[good], result)
        return result

    def _read_header(self, chunk: LineChunk, result: ParseResult) -> int:
        index = 0
        while index < chunk.n_lines and not chunk.line(index).strip():
            result.blank += 1
            index += 1
        if index >= chunk.n_lines:
            return index
        header_line = ensure_utf8(chunk.line(index))
        header: dict[str, object] = next(
            iter(
                pacsv.read_csv(
                    io.BytesIO(header_line + b"\n"), read_options=pacsv.ReadOptions(autogenerate_column_names=True)
                ).to_pylist()
            ),
            {},
        )
        self._header = [str(v).strip() for v in header.values()]
        mapped = [self._field_map.get(h, h) for h in self._header]
        dataset = self._forced or infer_dataset(mapped)
        if dataset is None:
            raise UsageError(
                f"{self._path}: cannot tell which dataset the CSV columns {self._header} belong to; "
                "choose one with --dataset and map columns with --map"
            )
        self._dataset = dataset
        fields = set(SCHEMAS[dataset].names) - PROVENANCE
        self._targets = {f"c{i}": name for i, name in enumerate(mapped) if name in fields}
        if TIMESTAMP_FIELD not in self._targets.values():
            raise UsageError(f"{self._path}: no column maps to {TIMESTAMP_FIELD}; map one, e.g. --map time=@timestamp")
        # The header is a line too: account for it as consumed (it is neither event nor junk).
        result.blank += 1
        return index + 1

    def _convert(self, chunk: LineChunk, table: pa.Table, rows: npt.NDArray[np.int64], result: ParseResult) -> None:
        assert self._dataset is not None
        kinds = FIELD_KINDS[self._dataset]
        frame = pl.from_arrow(table.select([c for c in self._targets if c in table.column_names]))
        assert isinstance(frame, pl.DataFrame)
        frame = frame.rename(self._targets)
        columns: dict[str, list[object]] = {name: [] for name in frame.columns}
        keep: list[int] = []
        for i, record in enumerate(frame.iter_rows(named=True)):
            if all(v == "" for v in record.values()):
                result.blank += 1
                continue
            try:
                converted = {
                    name: convert(name, kinds[name], None if value == "" else value) for name, value in record.items()
                }
                if converted.get(TIMESTAMP_FIELD) is None:
                    raise FieldError(f"missing {TIMESTAMP_FIELD}")
            except FieldError as exc:
                result.reject(chunk, int(rows[i]), str(exc))
                continue
            for name, value in converted.items():
                columns[name].append(value)
            keep.append(i)
        schema = SCHEMAS[self._dataset]
        out = pl.from_arrow(pa.table({n: pa.array(v, type=schema.field(n).type) for n, v in columns.items()}))
        assert isinstance(out, pl.DataFrame)
        result.tables.append((self._dataset, frame_with_provenance(out, chunk, rows[np.asarray(keep, dtype=np.int64)])))
