"""Where alerts live: an embedded SQLite office database by default.

Alert ids are deterministic, so saving is an idempotent upsert: a re-scan of the same input finds
its alerts already stored and adds none, which is what lets a runner safely replay after a crash.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.findings import EventRef, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.storage.engine import open_engine, sqlite_url
from watchhouse.storage.migrate import upgrade
from watchhouse.storage.schema import alerts, scans
from watchhouse.storage.text_hygiene import storable, storable_text

QUEUE_ORDER = (alerts.c.severity.desc(), alerts.c.first_seen.desc(), alerts.c.id.desc())
"""The triage queue's order: most severe, then newest; the id breaks ties so keyset pages are exact.
The ``ix_alerts_*_queue`` indexes (migration 0010) end in these three columns, so a filtered page
is an index range read in this order, never a sort of every match."""

COUNT_CAP = 1_000
"""Queue totals are counted up to here and reported as "at least" beyond (see :func:`count_capped`).

The cap bounds the count's work: with two criteria (status and crime code, say) only one is an
index range, and every entry in it is looked up until ``cap`` matches are found."""


@dataclass(frozen=True)
class QueueCursor:
    """Where a queue page ended: the last alert's sort key. The next page starts strictly after it.

    Keyset instead of ``OFFSET``: page 2,000 costs what page 1 costs, and alerts arriving while an
    analyst pages through do not shift rows between pages.
    """

    severity: int
    first_seen: datetime
    alert_id: str

    def encode(self) -> str:
        text = f"{self.severity}|{_utc(self.first_seen).isoformat()}|{self.alert_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> QueueCursor:
        """The cursor from :meth:`encode`'s text; anything else is the caller's error, not ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            severity, seen, alert_id = raw.split("|", 2)
            return cls(int(Severity(int(severity))), _utc(datetime.fromisoformat(seen)).astimezone(UTC), alert_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise UsageError(f"not a queue cursor: {token[:60]!r}") from None

    @classmethod
    def after(cls, alert: Alert) -> QueueCursor:
        return cls(int(alert.severity), alert.first_seen, alert.id)


@dataclass(frozen=True)
class AlertFilter:
    """The triage queue's filters; ``since``/``until`` bound ``first_seen`` (inclusive, exclusive)."""

    crime_code: CrimeCode | None = None
    min_severity: Severity = Severity.INFO
    detector: str | None = None
    subject: str | None = None
    status: str | None = None
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    after: QueueCursor | None = None
    """Keyset position: only alerts after this one in queue order (the next page)."""

    def narrows(self) -> bool:
        """Whether any criterion is set (bulk actions refuse a filter that matches everything)."""
        return (
            any(
                v is not None
                for v in (
                    self.crime_code,
                    self.detector,
                    self.subject,
                    self.status,
                    self.assignee,
                    self.since,
                    self.until,
                )
            )
            or self.min_severity > Severity.INFO
        )

    def to_record(self) -> dict[str, Any]:
        """The filter as canonical-JSON-ready values, for the audit entry of a search."""
        return {
            "crime_code": self.crime_code.value if self.crime_code else None,
            "min_severity": str(self.min_severity),
            "detector": self.detector,
            "subject": self.subject,
            "status": self.status,
            "assignee": self.assignee,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "limit": self.limit,
            "after": self.after.encode() if self.after else None,
        }


def filtered(query: Select[Any], flt: AlertFilter, *, severity_floor: bool = True) -> Select[Any]:
    """Apply every criterion of ``flt`` (but not its limit or order) to a query over ``alerts``.

    ``severity_floor=False`` leaves out ``severity >= info``, which matches every alert: counts use
    it so the planner is free to pick the index of the most selective criterion (a time range),
    while queue pages keep it, which steers them to the queue indexes already in queue order.
    """
    if severity_floor or flt.min_severity > Severity.INFO:
        query = query.where(alerts.c.severity >= int(flt.min_severity))
    if flt.crime_code is not None:
        query = query.where(alerts.c.crime_code == flt.crime_code.value)
    if flt.detector is not None:
        query = query.where(alerts.c.detector == flt.detector)
    if flt.subject is not None:
        query = query.where(alerts.c.subject_value == flt.subject)
    if flt.status is not None:
        query = query.where(alerts.c.status == flt.status)
    if flt.assignee is not None:
        query = query.where(alerts.c.assignee == flt.assignee)
    if flt.since is not None:
        query = query.where(alerts.c.first_seen >= flt.since)
    if flt.until is not None:
        query = query.where(alerts.c.first_seen < flt.until)
    if flt.after is not None:
        key = tuple_(alerts.c.severity, alerts.c.first_seen, alerts.c.id)
        query = query.where(key < tuple_(flt.after.severity, flt.after.first_seen, flt.after.alert_id))
    return query


def queue_page(flt: AlertFilter) -> Select[Any]:
    """One page of the queue: the filter's matches in :data:`QUEUE_ORDER`, at most ``flt.limit``."""
    return filtered(select(alerts), flt).order_by(*QUEUE_ORDER).limit(flt.limit)


def count_capped(conn: Connection, flt: AlertFilter, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many alerts match (ignoring the cursor), counting no further than ``cap``.

    An exact ``count(*)`` of a broad filter reads every matching index entry — a million for the
    unfiltered queue — on every page view. Nobody triages by the exact figure past a thousand,
    so we stop at ``cap`` and say "at least": the count is one bounded index range read.
    Returns ``(count, capped)``.
    """
    # ``SELECT 1``, not the id: the count is then answered from index entries alone.
    inner: Select[Any] = select(literal_column("1")).select_from(alerts)
    inner = filtered(inner, replace(flt, after=None), severity_floor=False).limit(cap + 1)
    found = int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())
    return min(found, cap), found > cap


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        upgrade(engine)

    @classmethod
    def sqlite(cls, path: Path) -> AlertStore:
        try:
            return cls(open_engine(sqlite_url(path)))
        except SQLAlchemyError as exc:
            raise InputError(f"cannot open the office database: {exc}", path=str(path)) from exc

    @classmethod
    def open(cls, url: str) -> AlertStore:
        """The store behind any supported database URL (SQLite or PostgreSQL)."""
        try:
            return cls(open_engine(url))
        except SQLAlchemyError as exc:
            raise InputError(f"cannot open the office database: {exc}") from exc

    def close(self) -> None:
        """Release pooled connections (SQLite keeps the file open otherwise)."""
        self._engine.dispose()

    def save(self, batch: Sequence[Alert], scan_id: str | None = None) -> int:
        """Store alerts not stored yet; returns how many were new.

        Why the driver's row count: counting the table before and after the insert read every
        row of the alerts table's smallest index twice per batch, however few alerts the batch
        held, and a live scan (``tail -F``) of a long-running office writes many small batches
        into a table of millions of alerts. sqlite3 sums the rows a batch changed; PostgreSQL
        returns the ids it inserted.
        """
        if not batch:
            return 0
        now = datetime.now(UTC)
        rows = [_to_row(a, scan_id, now) for a in batch]
        dialect = self._engine.dialect
        upsert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
        statement = upsert(alerts).on_conflict_do_nothing(index_elements=["id"])
        with self._engine.begin() as conn:
            # an id stored already (or twice in the batch) is skipped by the conflict clause, and
            # neither counted by sqlite3 nor returned by PostgreSQL
            if dialect.name == "sqlite":  # sqlite3 sums the rows each statement of the batch changed
                return int(conn.execute(statement, rows).rowcount)
            # PostgreSQL (the only other backend open_engine makes): psycopg's batched insert
            # counts -1, the ids it returns say
            return len(conn.execute(statement.returning(alerts.c.id), rows).all())

    def record_scan(self, scan_id: str, started: datetime, summary: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                scans.insert().values(id=scan_id, started_at=started, finished_at=datetime.now(UTC), summary=summary)
            )

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())

    def query(self, flt: AlertFilter) -> list[Alert]:
        with self._engine.connect() as conn:
            return [_from_row(r._mapping) for r in conn.execute(queue_page(flt))]

    def get(self, alert_id: str) -> Alert | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return _from_row(row._mapping) if row is not None else None

    def find_prefix(self, prefix: str) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.execute(select(alerts.c.id).where(alerts.c.id.startswith(prefix)).limit(5)).scalars())

    def all(self) -> Iterable[Alert]:
        with self._engine.connect() as conn:
            for row in conn.execute(select(alerts).order_by(alerts.c.first_seen)):
                yield _from_row(row._mapping)


def _to_row(alert: Alert, scan_id: str | None, now: datetime) -> dict[str, Any]:
    """One row; attacker-chosen text is made storable on PostgreSQL too (see ``text_hygiene``)."""
    return {
        "id": alert.id,
        "detector": alert.detector,
        "detector_version": alert.detector_version,
        "key": storable_text(alert.key),
        "crime_code": alert.crime_code.value,
        "stage": alert.stage.value,
        "severity": int(alert.severity),
        "confidence": alert.confidence,
        "title": storable_text(alert.title),
        "explanation": storable_text(alert.explanation),
        "subject_kind": alert.subject.kind,
        "subject_value": storable_text(alert.subject.value),
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "evidence": [storable(r.to_dict()) for r in alert.evidence],
        "evidence_count": len(alert.evidence),
        "details": storable(alert.details),
        "tags": storable(list(alert.tags)),
        "status": "new",
        "scan_id": scan_id,
        "created_at": now,
    }


def from_row(row: Any) -> Alert:
    """An :class:`Alert` from an ``alerts`` row mapping (triage columns are read separately)."""
    return _from_row(row)


def _from_row(row: Any) -> Alert:
    return Alert(
        id=row["id"],
        detector=row["detector"],
        detector_version=row["detector_version"],
        key=row["key"],
        crime_code=CrimeCode(row["crime_code"]),
        stage=Stage(row["stage"]),
        severity=Severity(row["severity"]),
        confidence=row["confidence"],
        title=row["title"],
        explanation=row["explanation"],
        subject=Subject(row["subject_kind"], row["subject_value"]),
        first_seen=_utc(row["first_seen"]),
        last_seen=_utc(row["last_seen"]),
        evidence=tuple(EventRef.from_dict(r) for r in row["evidence"]),
        details=dict(row["details"]),
        tags=tuple(row["tags"]),
    )
