"""What every format parser hands back to the reader, and the helpers they share.

A parser turns one :class:`~watchhouse.ingest.source.LineChunk` into typed tables plus an exact
account of the lines that did not become events, so the reader can keep the promise that every
physical line is an event, a blank or a quarantined line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, Dataset
from watchhouse.ingest.source import LineChunk

# A lone CR inside a line is replaced by U+FFFD: Arrow's CSV parser (and many log viewers) treat
# it as a line break, which would shift every later line number. CRLF endings are just stripped.
_LONE_CR_REPLACEMENT = "\ufffd".encode()


@dataclass
class Rejected:
    line: int
    offset: int
    reason: str
    raw: bytes


@dataclass
class ParseResult:
    """Tables carry the dataset's own fields plus log.file.line and log.offset (path is added later)."""

    tables: list[tuple[Dataset, pa.Table]] = field(default_factory=list)
    blank: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unknown_fields: dict[str, int] = field(default_factory=dict)

    def reject(self, chunk: LineChunk, index: int, reason: str) -> None:
        self.rejected.append(
            Rejected(chunk.first_line + index, chunk.offset + int(chunk.starts[index]), reason, chunk.line(index))
        )

    @property
    def events(self) -> int:
        return sum(t.num_rows for _, t in self.tables)


class Parser(Protocol):
    """One instance per source: parsers may keep state across chunks (CSV header, syslog year)."""

    def parse(self, chunk: LineChunk) -> ParseResult: ...


def normalise_newlines(data: bytes) -> bytes:
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", _LONE_CR_REPLACEMENT)


def ensure_utf8(data: bytes) -> bytes:
    """Invalid UTF-8 becomes U+FFFD so the row is kept; newlines are ASCII and survive intact."""
    if data.isascii():  # the usual case, answered without decoding (a fifth of the cost)
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


_UTF8_BOM = b"\xef\xbb\xbf"


def for_arrow_csv(data: bytes) -> bytes:
    """``data`` as Arrow's CSV reader can take it: a chunk that is one byte-order mark and nothing
    else (a last line without its newline) gets its newline back.

    Why: Arrow drops a UTF-8 byte-order mark at the start of its input, and input left empty by
    that is an error ("Empty CSV file") that would abort the whole read; with the newline the mark
    reads as the blank line it looks like, as it already did when the line had its newline.
    """
    return data + b"\n" if data == _UTF8_BOM else data


def provenance(chunk: LineChunk, rows: npt.NDArray[np.int64]) -> dict[str, pa.Array]:
    """log.file.line and log.offset for the chunk-relative line indices ``rows``."""
    return {
        LINE_FIELD: pa.array(rows + chunk.first_line, type=pa.int64()),
        OFFSET_FIELD: pa.array(chunk.starts[rows] + chunk.offset, type=pa.int64()),
    }


def frame_with_provenance(frame: pl.DataFrame, chunk: LineChunk, rows: npt.NDArray[np.int64]) -> pa.Table:
    table = frame.to_arrow()
    for name, array in provenance(chunk, rows).items():
        table = table.append_column(name, array)
    return table


def dash_to_null(name: str) -> pl.Expr:
    """Access logs write "-" for an absent value; the schema wants a null."""
    col = pl.col(name)
    return pl.when(col == "-").then(None).otherwise(col).alias(name)


def indices(mask: Sequence[bool] | npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    return np.flatnonzero(np.asarray(mask, dtype=bool)).astype(np.int64)
