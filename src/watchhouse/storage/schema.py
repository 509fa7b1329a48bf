"""Office database tables (SQLAlchemy Core), shared by every store."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

QUEUE_KEY = ("severity", "first_seen", "id")
"""The triage queue's sort key (descending), the tail of every queue index."""

QUEUE_INDEXES: dict[str, tuple[str, ...]] = {
    "all": (),
    "crime": ("crime_code",),
    "status": ("status",),
    "detector": ("detector",),
    "subject": ("subject_value",),
    "assignee": ("assignee",),
}
"""Queue index name -> the equality-filter columns in front of :data:`QUEUE_KEY`."""

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("detector", String(120), nullable=False),
    Column("detector_version", String(40), nullable=False),
    Column("key", Text, nullable=False),
    Column("crime_code", String(60), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("title", Text, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("subject_kind", String(60), nullable=False),
    Column("subject_value", String(200), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("evidence_count", Integer, nullable=False),
    Column("details", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(20), nullable=False, default="new"),
    Column("assignee", String(200), nullable=True),
    Column("verdict", String(20), nullable=True),
    Column("scan_id", String(40), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Time ranges (``since``/``until``); with the severity in it, a capped count of a time window
    # is answered from this index alone (migration 0010).
    Index("ix_alerts_seen_severity", "first_seen", "severity"),
    # The triage queue (migration 0010): each filter column first, then the queue's sort key, so a
    # filtered page is read from the index in order and stops after ``limit`` rows.
    *(Index(f"ix_alerts_{name}_queue", *columns, *QUEUE_KEY) for name, columns in QUEUE_INDEXES.items()),
)

scans = Table(
    "scans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("summary", JSON, nullable=False),
)
