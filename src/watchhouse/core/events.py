"""Typed event batches: the one currency between readers, detectors and runners.

An :class:`EventBatch` wraps a ``pyarrow.Table`` whose schema is fixed per :class:`Dataset`, so a
detector written against ``http`` works whatever the input format was. Field names follow the
Elastic Common Schema (ECS) where ECS has one; the few it lacks are namespaced and listed in
``docs/events.md``. Every row carries provenance (``log.file.path`` plus ``log.file.line`` or
``log.offset``) so an alert can always point back at the input line behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

# Dataset is defined apart (re-exported here) so the command line can name datasets without Arrow
from watchhouse.core.datasets import Dataset as Dataset
from watchhouse.core.errors import SchemaError
from watchhouse.core.findings import EventRef

TIMESTAMP = pa.timestamp("us", tz="UTC")

# Provenance and time: present in every dataset, in this order, first.
TIMESTAMP_FIELD = "@timestamp"
PATH_FIELD = "log.file.path"
LINE_FIELD = "log.file.line"
OFFSET_FIELD = "log.offset"

COMMON_FIELDS: tuple[pa.Field, ...] = (
    pa.field(TIMESTAMP_FIELD, TIMESTAMP),
    pa.field(PATH_FIELD, pa.string(), nullable=False),
    pa.field(LINE_FIELD, pa.int64()),
    pa.field(OFFSET_FIELD, pa.int64()),
)

_S = pa.string()
_I64 = pa.int64()

_DATASET_FIELDS: dict[Dataset, tuple[tuple[str, pa.DataType], ...]] = {
    Dataset.HTTP: (
        ("source.ip", _S),
        ("user.name", _S),
        ("http.request.method", _S),
        ("url.original", _S),
        ("url.domain", _S),
        ("http.version", _S),
        ("http.response.status_code", pa.int32()),
        ("http.response.body.bytes", _I64),
        ("http.request.referrer", _S),
        ("user_agent.original", _S),
        # Request headers as a JSON object text; Arrow maps are awkward for every consumer.
        ("http.request.headers", _S),
        ("http.request.body.content", _S),
    ),
    Dataset.AUTH: (
        ("source.ip", _S),
        ("user.name", _S),
        ("event.outcome", _S),  # success | failure | unknown
        ("event.action", _S),  # password, publickey, invalid_user, login, mfa, ...
        ("event.reason", _S),
        ("service.name", _S),  # sshd, web, api, ...
        ("host.name", _S),
        ("process.pid", _I64),
        ("user_agent.original", _S),
        ("device.id", _S),
        ("source.geo.country_iso_code", _S),
        ("source.as.number", _I64),
    ),
    Dataset.MESSAGE: (
        ("event.id", _S),
        ("source.ip", _S),
        ("user.name", _S),  # sender
        ("user.target.name", _S),  # recipient
        ("message", _S),
    ),
    Dataset.TRANSACTION: (
        ("event.id", _S),
        ("source.ip", _S),
        ("user.name", _S),  # payer
        ("user.target.name", _S),  # payee
        ("event.outcome", _S),
        ("event.reason", _S),  # decline reason
        ("transaction.amount", pa.float64()),
        ("transaction.currency", _S),
        ("payment.method", _S),  # card, bank_transfer, wallet, ...
        # A keyed fingerprint of the card number, never the number itself.
        ("payment.card.fingerprint", _S),
        ("payment.card.bin", _S),
    ),
    Dataset.MEDIA: (
        ("event.id", _S),
        ("source.ip", _S),
        ("user.name", _S),
        ("file.name", _S),
        ("file.mime_type", _S),
        ("file.size", _I64),
        ("file.hash.sha256", _S),
        ("file.hash.md5", _S),
        ("file.hash.pdq", _S),
    ),
    Dataset.DATA_ACCESS: (
        ("source.ip", _S),
        ("user.name", _S),  # the staff member or API client reading
        ("user.roles", _S),
        ("event.action", _S),  # read, search, export, update
        ("event.outcome", _S),
        ("user.target.name", _S),  # whose record
        ("data.record.type", _S),
        ("data.record.count", _I64),
        ("service.name", _S),
        ("url.original", _S),
    ),
    Dataset.HOST: (
        ("host.name", _S),
        ("process.name", _S),
        ("process.pid", _I64),
        ("user.name", _S),
        ("source.ip", _S),
        ("event.action", _S),
        ("message", _S),
        # Which host log the row came from: auditd, or null for syslog lines.
        ("event.module", _S),
        ("event.sequence", _I64),  # auditd: the serial shared by the records of one event
        # Open-ended fields (auditd record keys), one JSON object of strings as winlog.event_data.
        ("host.event_data", _S),
    ),
    # Windows event log records (EVTX, evtx_dump/Winlogbeat JSON). The System part is fixed;
    # EventData/UserData is open-ended (hundreds of providers), so it is kept as one JSON object
    # text whose values are all strings, and Sigma projects only the keys its rules name
    # (docs/adr/0003-open-ended-event-fields.md).
    Dataset.WINLOG: (
        ("host.name", _S),  # System/Computer
        ("winlog.channel", _S),
        ("winlog.provider_name", _S),
        ("winlog.event_id", _I64),
        ("winlog.record_id", _I64),
        ("winlog.user.identifier", _S),  # System/Security/@UserID (a SID)
        ("winlog.event_data", _S),
    ),
}

# Fields holding user identifiers: pseudonymised at ingest (see watchhouse.core.identity).
IDENTITY_FIELDS: frozenset[str] = frozenset({"user.name", "user.target.name"})


def schema_for(dataset: Dataset) -> pa.Schema:
    """The fixed Arrow schema of a dataset: provenance first, then its own fields."""
    own = tuple(pa.field(name, typ) for name, typ in _DATASET_FIELDS[dataset])
    return pa.schema(COMMON_FIELDS + own, metadata={"watchhouse.dataset": dataset.value})


SCHEMAS: dict[Dataset, pa.Schema] = {d: schema_for(d) for d in Dataset}


def field_names(dataset: Dataset) -> tuple[str, ...]:
    return tuple(SCHEMAS[dataset].names)


@dataclass(frozen=True)
class EventBatch:
    """A batch of events of one dataset, schema-checked at construction.

    Construct through :meth:`from_columns`, :meth:`from_polars` or :meth:`from_table`, which
    conform the data (missing optional columns become nulls, types are cast) so detectors never
    need to check what is present.
    """

    dataset: Dataset
    table: pa.Table
    _polars: list[pl.DataFrame] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        expected = SCHEMAS[self.dataset]
        if not self.table.schema.equals(expected, check_metadata=False):
            raise SchemaError(
                f"batch for dataset {self.dataset!s} does not match its schema: got {self.table.schema.names}"
            )

    @classmethod
    def from_table(cls, dataset: Dataset, table: pa.Table) -> EventBatch:
        """Conform an Arrow table: reorder, add missing columns as nulls, cast types."""
        schema = SCHEMAS[dataset]
        unknown = set(table.column_names) - set(schema.names)
        if unknown:
            raise SchemaError(f"fields not in the {dataset!s} schema: {sorted(unknown)}")
        columns: list[pa.ChunkedArray | pa.Array] = []
        for f in schema:
            if f.name in table.column_names:
                col = table.column(f.name)
                if not col.type.equals(f.type):
                    try:
                        col = col.cast(f.type)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise SchemaError(f"field {f.name!r}: cannot cast {col.type} to {f.type}") from exc
                columns.append(col)
            else:
                columns.append(pa.nulls(table.num_rows, f.type))
        conformed = pa.Table.from_arrays(columns, schema=schema)
        if conformed.column(PATH_FIELD).null_count:
            raise SchemaError(f"every {dataset!s} event needs provenance ({PATH_FIELD})")
        return cls(dataset, conformed)

    @classmethod
    def from_columns(cls, dataset: Dataset, columns: Mapping[str, Sequence[Any] | pa.Array]) -> EventBatch:
        """Build from plain Python columns (lists) or Arrow arrays, conforming them."""
        schema = SCHEMAS[dataset]
        arrays: dict[str, pa.Array] = {}
        for name, values in columns.items():
            if name not in schema.names:
                raise SchemaError(f"field {name!r} is not in the {dataset!s} schema")
            target = schema.field(name).type
            arrays[name] = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, type=target)
        return cls.from_table(dataset, pa.table(arrays))

    @classmethod
    def from_polars(cls, dataset: Dataset, frame: pl.DataFrame) -> EventBatch:
        return cls.from_table(dataset, frame.to_arrow())

    @classmethod
    def empty(cls, dataset: Dataset) -> EventBatch:
        return cls(dataset, SCHEMAS[dataset].empty_table())

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def __len__(self) -> int:
        return self.num_rows

    def to_polars(self) -> pl.DataFrame:
        """The batch as a Polars frame, converted once and cached (batches are immutable)."""
        if not self._polars:
            frame = pl.from_arrow(self.table)
            assert isinstance(frame, pl.DataFrame)
            self._polars.append(frame)
        return self._polars[0]

    def ref(self, row: int) -> EventRef:
        """Where row ``row`` came from."""
        return EventRef(
            path=str(self.table.column(PATH_FIELD)[row].as_py()),
            line=self.table.column(LINE_FIELD)[row].as_py(),
            offset=self.table.column(OFFSET_FIELD)[row].as_py(),
        )

    def refs(self, rows: Iterable[int]) -> tuple[EventRef, ...]:
        rows = list(rows)
        if not rows:
            return ()
        taken = self.table.select([PATH_FIELD, LINE_FIELD, OFFSET_FIELD]).take(pa.array(rows, type=pa.int64()))
        return tuple(
            EventRef(path=p, line=ln, offset=o)
            for p, ln, o in zip(
                taken.column(0).to_pylist(), taken.column(1).to_pylist(), taken.column(2).to_pylist(), strict=True
            )
        )

    def slice(self, offset: int, length: int | None = None) -> EventBatch:
        return EventBatch(self.dataset, self.table.slice(offset, length))

    def filter(self, mask: pa.Array | pa.ChunkedArray) -> EventBatch:
        return EventBatch(self.dataset, self.table.filter(mask))

    @staticmethod
    def concat(batches: Sequence[EventBatch]) -> EventBatch:
        if not batches:
            raise ValueError("concat needs at least one batch")
        dataset = batches[0].dataset
        if any(b.dataset != dataset for b in batches):
            raise SchemaError("cannot concatenate batches of different datasets")
        return EventBatch(dataset, pa.concat_tables([b.table for b in batches]))
