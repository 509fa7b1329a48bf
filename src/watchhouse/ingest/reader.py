"""SourceReader: one input (file, .gz or stdin) to typed, pseudonymised event batches.

It wires the pieces together: open and chunk the source, sniff the format from the first
64 KiB, run the format's parser per chunk, quarantine what failed, pseudonymise identity
columns, and keep the per-source statistics that prove no line went missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from watchhouse.core.errors import UsageError
from watchhouse.core.events import IDENTITY_FIELDS, PATH_FIELD, SCHEMAS, Dataset, EventBatch
from watchhouse.core.identity import Pseudonymizer
from watchhouse.ingest.access_log import AccessLogParser
from watchhouse.ingest.auditd import AuditdParser
from watchhouse.ingest.base import Parser, ParseResult
from watchhouse.ingest.csv_reader import CsvParser
from watchhouse.ingest.jsonl import JsonLinesParser
from watchhouse.ingest.options import (
    ACCESS,
    AUDITD,
    COMBINED,
    COMMON,
    CSV,
    EVTX,
    JSONL,
    SYSLOG,
    WINLOG_FORMATS,
    ReaderOptions,
    ReadStats,
    resolve_format,
)
from watchhouse.ingest.quarantine import Quarantine
from watchhouse.ingest.sniff import detect_format
from watchhouse.ingest.source import (
    SNIFF_BYTES,
    STDIN,
    LineChunk,
    OpenedSource,
    OverlongLine,
    check_path,
    display_path,
    iter_chunks,
    open_source,
    read_block,
)
from watchhouse.ingest.syslog import SyslogParser
from watchhouse.ingest.url_identities import mask_owner_in_urls


class SourceReader:
    def __init__(self, path: str, options: ReaderOptions, quarantine: Quarantine, pseudonymizer: Pseudonymizer) -> None:
        check_path(path)
        self.path = path
        self.options = options
        self._quarantine = quarantine
        self._pseudonymizer = pseudonymizer
        self._label = display_path(path)
        self._requested = resolve_format(options.fmt) if options.fmt else None
        self._opened: OpenedSource | None = None
        self._head = b""
        self._fmt: str | None = self._requested if self._requested not in (None, ACCESS) else None
        self.stats = ReadStats(path=self._label, fmt=self._fmt or "")

    def size_hint(self) -> int | None:
        if self.path == STDIN:
            return None
        try:
            return Path(self.path).stat().st_size
        except OSError:
            return None

    @property
    def fmt(self) -> str:
        """The resolved format; sniffing it reads (and keeps) the first 64 KiB of the source."""
        if self._fmt is None:
            opened = self._open()
            parts: list[bytes] = []
            size = 0
            while size < SNIFF_BYTES:  # short reads happen on pipes; sniff a full sample anyway
                part = read_block(opened.stream, SNIFF_BYTES - size, self._label)
                if not part:
                    break
                parts.append(part)
                size += len(part)
            self._head = b"".join(parts)
            fmt = detect_format(self._head)
            if self._requested == ACCESS and fmt not in (COMBINED, COMMON):
                fmt = COMBINED
            self._fmt = fmt
            self.stats.fmt = fmt
        return self._fmt

    def _open(self) -> OpenedSource:
        if self._opened is None:
            self._opened = open_source(self.path)
        return self._opened

    def _parser(self, fmt: str) -> Parser:
        if fmt in (COMBINED, COMMON):
            return AccessLogParser(fmt)
        if fmt == JSONL:
            return JsonLinesParser(self.options.dataset, self.options.field_map)
        if fmt == SYSLOG:
            return SyslogParser(self._syslog_year())
        if fmt == CSV:
            return CsvParser(self.options.dataset, self.options.field_map, self._label)
        if fmt == AUDITD:
            return AuditdParser()
        raise AssertionError(f"no parser for {fmt}")

    def _syslog_year(self) -> int | None:
        if self.options.year is not None or self.path == STDIN:
            return self.options.year
        return datetime.fromtimestamp(Path(self.path).stat().st_mtime, UTC).year

    def batches(self, progress: Callable[[int], None] | None = None) -> Iterator[EventBatch]:
        fmt = self.fmt
        if fmt in WINLOG_FORMATS:
            yield from self._winlog_batches(fmt, progress)
            return
        opened = self._open()
        parser = self._parser(fmt)
        reported = 0
        stream = opened.stream

        def read(size: int) -> bytes:
            return read_block(stream, size, self._label)

        try:
            for piece in iter_chunks(read, self.options.batch_bytes, self.options.max_line_bytes, self._head):
                self._head = b""
                if isinstance(piece, OverlongLine):
                    self.stats.lines += 1
                    self._reject(
                        piece.line,
                        piece.offset,
                        f"line longer than {self.options.max_line_bytes} bytes ({piece.length} bytes)",
                        piece.head,
                    )
                else:
                    yield from self._chunk(parser, piece)
                if progress is not None and opened.counter.count > reported:
                    progress(opened.counter.count - reported)
                    reported = opened.counter.count
                self.stats.bytes_read = opened.counter.count
        finally:
            opened.closer()
        self.stats.bytes_read = opened.counter.count
        if progress is not None and opened.counter.count > reported:
            progress(opened.counter.count - reported)

    def _winlog_batches(self, fmt: str, progress: Callable[[int], None] | None) -> Iterator[EventBatch]:
        """Windows records: EVTX streamed by record from the file, JSON exports decoded whole.

        Stats count records where other formats count lines (``lines`` = events + quarantined),
        so ``balanced`` holds the same way; quarantined records come from the readers.
        """
        from watchhouse.ingest.winlog import parse_json_records, pseudonymise_winlog, read_evtx, winlog_batches

        before = self._quarantine.count
        if fmt == EVTX:
            if self.path == STDIN or self.path.endswith(".gz"):
                raise UsageError(f"{self._label}: EVTX is read from a plain file, not stdin or .gz")
            if self._opened is not None:
                self._opened.closer()
                self._opened = None
            batches = read_evtx(self.path, self._quarantine, label=self._label)
            size = self.size_hint() or 0
        else:
            opened = self._open()
            parts = [self._head]
            while part := read_block(opened.stream, self.options.batch_bytes, self._label):
                parts.append(part)
            opened.closer()
            self._opened = None
            data = b"".join(parts)
            self._head = b""
            size = opened.counter.count
            records = parse_json_records(data.decode("utf-8", "replace"), self._label, self._quarantine)
            batches = winlog_batches(records, self._label)
        for batch in batches:
            # account names and SIDs inside the records get the same keyed pseudonyms as elsewhere
            conformed = self._pseudonymise(pseudonymise_winlog(batch, self._pseudonymizer))
            self.stats.events[Dataset.WINLOG] += conformed.num_rows
            self.stats.lines += conformed.num_rows
            yield conformed
        quarantined = self._quarantine.count - before
        self.stats.quarantined += quarantined
        self.stats.lines += quarantined
        self.stats.bytes_read = size
        if progress is not None and size:
            progress(size)

    def _chunk(self, parser: Parser, chunk: LineChunk) -> Iterator[EventBatch]:
        result: ParseResult = parser.parse(chunk)
        self.stats.lines += chunk.n_lines
        self.stats.blank += result.blank
        for rejected in sorted(result.rejected, key=lambda r: r.line):
            self._reject(rejected.line, rejected.offset, rejected.reason, rejected.raw)
        self.stats.unknown_fields.update(result.unknown_fields)
        for dataset, table in result.tables:
            if table.num_rows == 0:
                continue
            batch = self._finish(dataset, table)
            self.stats.events[dataset] += batch.num_rows
            yield batch

    def _reject(self, line: int, offset: int, reason: str, raw: bytes) -> None:
        self.stats.quarantined += 1
        self._quarantine.add(self._label, line, reason, raw, offset)

    def _finish(self, dataset: Dataset, table: pa.Table) -> EventBatch:
        """Add the path, conform to the schema, then pseudonymise identity columns."""
        table = table.append_column(PATH_FIELD, pa.repeat(pa.scalar(self._label, pa.string()), table.num_rows))
        return self._pseudonymise(EventBatch.from_table(dataset, table))

    def _pseudonymise(self, batch: EventBatch) -> EventBatch:
        """Replace identity columns with their pseudonyms (batches already conform)."""
        dataset = batch.dataset
        conformed = batch.table
        schema = SCHEMAS[dataset]
        if dataset is Dataset.DATA_ACCESS:  # before the owner column turns into pseudonyms
            index = schema.get_field_index("url.original")
            urls = mask_owner_in_urls(
                conformed.column(index), conformed.column("user.target.name"), self._pseudonymizer.pseudonym
            )
            conformed = conformed.set_column(index, schema.field("url.original"), urls)
        for name in IDENTITY_FIELDS:
            if name in schema.names:
                index = schema.get_field_index(name)
                column = conformed.column(index)
                if column.null_count < len(column):
                    conformed = conformed.set_column(index, schema.field(name), self._pseudonymizer.column(column))
        return EventBatch(dataset, conformed)
