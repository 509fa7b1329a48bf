"""Syslog chunks as line columns: the one step every syslog path starts from.

Why its own module: it decides whether the chunk's bytes can be used as they lie, which is what
the byte head reader (:mod:`watchhouse.ingest.syslog_heads`) depends on, and it has nothing to do
with what a syslog line means.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from watchhouse.ingest.base import ensure_utf8, normalise_newlines
from watchhouse.ingest.source import LineChunk


def _lines(chunk: LineChunk) -> pl.Series:
    """The chunk's lines as one string column, without their newlines."""
    return _split(chunk)[0]


def _split(chunk: LineChunk) -> tuple[pl.Series, bool]:
    """The chunk's lines (as :func:`_lines`), and whether they are its bytes as they lie.

    A chunk of valid UTF-8 without carriage returns (nearly every log) is handed to Arrow as it
    lies, cut at the line starts the chunk already knows; that spares splitting a copy of it, and
    lets :func:`~watchhouse.ingest.syslog_heads._quick_heads` read line heads straight from the
    bytes. Anything else is normalised first (lone CR, invalid UTF-8) and split as text.
    """
    data = chunk.data
    if b"\r" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            offsets = np.append(chunk.starts, len(data)).astype(np.int64)
            array = pa.LargeStringArray.from_buffers(chunk.n_lines, pa.py_buffer(offsets), pa.py_buffer(data))
            lines = pl.Series("line", array, dtype=pl.String)
            return lines.str.strip_suffix("\n"), True
    data = normalise_newlines(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ensure_utf8(data).decode("utf-8")
    lines = pl.Series("line", [text], dtype=pl.String).str.split("\n").explode()
    return (lines.slice(0, len(lines) - 1) if text.endswith("\n") else lines), False
