"""Opening sources and cutting them into line-aligned chunks.

Every parser works on a :class:`LineChunk`: whole lines only, with the number of its first line
and its byte offset in the decompressed stream, so provenance stays exact whatever the batch
size. Memory is bounded by the batch size plus the longest accepted line.
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from watchhouse.core.errors import InputError

STDIN = "-"
STDIN_LABEL = "<stdin>"
GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CountingReader:
    """Counts on-disk bytes so progress is measured against the compressed size of a .gz."""

    def __init__(self, raw: Readable, head: bytes = b"") -> None:
        self._raw = raw
        self._head = head
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            take = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(take) :]
            rest = self._raw.read(-1 if size < 0 else size - len(take)) if size != len(take) else b""
            self.count += len(take) + len(rest)
            return take + rest
        data = self._raw.read(size)
        self.count += len(data)
        return data


class _Available:
    """A pipe read that returns what has arrived instead of waiting for a full block.

    ``BufferedReader.read(n)`` blocks until ``n`` bytes or end of input; on a live pipe
    (``tail -F access.log | watchhouse scan -``) that would hold events back until megabytes
    piled up. ``read1`` returns as soon as anything is there, so lines are detected as they come.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return self._raw.read()
        return self._raw.read1(size) if hasattr(self._raw, "read1") else self._raw.read(size)


@dataclass
class OpenedSource:
    """A decoded byte stream plus a counter of the on-disk bytes consumed so far."""

    stream: Readable
    counter: _CountingReader
    closer: Callable[[], None]
    compressed: bool


def check_path(path: str) -> None:
    """Fail early, with the path, on the user mistakes that would otherwise surface mid-run."""
    if path == STDIN:
        return
    target = Path(path)
    if not target.exists():
        raise InputError("no such file", path=path)
    if target.is_dir():
        raise InputError("is a directory, not a log file", path=path)
    if not os.access(path, os.R_OK):
        raise InputError("permission denied", path=path)


def open_source(path: str) -> OpenedSource:
    """Open a file or stdin, decompressing gzip when the magic bytes say so (any extension)."""
    check_path(path)
    raw: Readable
    if path == STDIN:
        raw = _Available(sys.stdin.buffer)
        close: Callable[[], None] = lambda: None  # noqa: E731 - stdin is not ours to close
    else:
        try:
            file = Path(path).open("rb")  # noqa: SIM115 - closed by OpenedSource.closer
        except OSError as exc:
            raise InputError(exc.strerror or str(exc), path=path) from exc
        raw, close = file, file.close
    try:
        head = raw.read(2)
    except OSError as exc:
        close()
        raise InputError(exc.strerror or str(exc), path=path) from exc
    counter = _CountingReader(raw, head)
    if head == GZIP_MAGIC:
        return OpenedSource(gzip.GzipFile(fileobj=counter, mode="rb"), counter, close, True)  # type: ignore[call-overload]
    return OpenedSource(counter, counter, close, False)


def display_path(path: str) -> str:
    return STDIN_LABEL if path == STDIN else os.path.abspath(path)  # noqa: PTH100 - absolute, not symlink-resolved


def read_block(stream: Readable, size: int, path: str) -> bytes:
    """One read, turning decompression failures into an InputError that names the file."""
    try:
        return stream.read(size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"corrupt or truncated gzip data ({exc})", path=path) from exc
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path=path) from exc


@dataclass
class LineChunk:
    """Whole lines of the decoded stream; the last one lacks a newline only at end of input."""

    data: bytes
    first_line: int  # 1-based number of the first line in data
    offset: int  # byte offset of data[0] in the decoded stream

    @cached_property
    def starts(self) -> npt.NDArray[np.int64]:
        """Start of every line, relative to data."""
        newlines = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10).astype(np.int64)
        starts = np.concatenate((np.zeros(1, dtype=np.int64), newlines + 1))
        if self.data.endswith(b"\n"):
            starts = starts[:-1]
        return starts

    @property
    def n_lines(self) -> int:
        return 0 if not self.data else len(self.starts)

    @cached_property
    def ends(self) -> npt.NDArray[np.int64]:
        """End of every line's content (exclusive), before its newline."""
        ends = np.empty_like(self.starts)
        ends[:-1] = self.starts[1:] - 1
        if len(ends):
            ends[-1] = len(self.data) - 1 if self.data.endswith(b"\n") else len(self.data)
        return ends

    def line(self, index: int) -> bytes:
        """Line ``index`` (0-based within the chunk) without its newline or a trailing CR."""
        text = self.data[int(self.starts[index]) : int(self.ends[index])]
        return text[:-1] if text.endswith(b"\r") else text

    def lines(self) -> list[bytes]:
        """All lines, newline and trailing CR removed (for the per-line parsers)."""
        parts = self.data.split(b"\n")
        if self.data.endswith(b"\n"):
            parts.pop()
        if b"\r" in self.data:
            parts = [p[:-1] if p.endswith(b"\r") else p for p in parts]
        return parts

    def line_numbers(self) -> npt.NDArray[np.int64]:
        return np.arange(self.first_line, self.first_line + self.n_lines, dtype=np.int64)

    def offsets(self) -> npt.NDArray[np.int64]:
        return self.starts + self.offset


@dataclass
class OverlongLine:
    """A line longer than the limit: its head is kept for the quarantine, the rest skipped."""

    line: int
    offset: int
    head: bytes
    length: int


def iter_chunks(
    read: Callable[[int], bytes], batch_bytes: int, max_line_bytes: int, head: bytes = b""
) -> Iterator[LineChunk | OverlongLine]:
    """Cut a stream into chunks of about ``batch_bytes``, ending at the last newline of a read.

    The tail after that newline is carried into the next chunk; parts are joined once per chunk
    so a long line spanning many reads costs linear, not quadratic, copying. A carried tail that
    grows past ``max_line_bytes`` is skipped up to its newline and reported as overlong, so no
    line can hold more than ``max_line_bytes + batch_bytes`` in memory.
    """
    parts: list[bytes | memoryview] = [head] if head else []
    pending = len(head)
    line_no, offset = 1, 0
    skipping: OverlongLine | None = None
    while True:
        block = read(batch_bytes)
        if not block:
            break
        if skipping is not None:
            cut = block.find(b"\n")
            if cut < 0:
                skipping.length += len(block)
                continue
            skipping.length += cut
            yield skipping
            line_no, offset = line_no + 1, offset + skipping.length + 1
            skipping = None
            block = block[cut + 1 :]
            parts, pending = [], 0
        cut = block.rfind(b"\n")
        if cut < 0:
            parts.append(block)
            pending += len(block)
            if pending > max_line_bytes:
                joined = b"".join(parts)
                skipping = OverlongLine(line_no, offset, joined[:4096], len(joined))
                parts, pending = [], 0
            continue
        if not parts and cut + 1 == len(block):
            data = block  # the usual case of a file read in whole lines: no copy at all
        else:  # one copy: the carried tail and this block's whole lines, joined through a view
            parts.append(memoryview(block)[: cut + 1])
            data = b"".join(parts)
        parts = [block[cut + 1 :]] if cut + 1 < len(block) else []
        pending = len(block) - cut - 1
        chunk = LineChunk(data, line_no, offset)
        yield chunk
        line_no, offset = line_no + chunk.n_lines, offset + len(data)
    if skipping is not None:
        yield skipping
    elif parts:
        yield LineChunk(b"".join(parts), line_no, offset)
