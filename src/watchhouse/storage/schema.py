"""Office database tables (SQLAlchemy Core), shared by every store."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

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
    Index("ix_alerts_first_seen", "first_seen"),
    Index("ix_alerts_crime_severity", "crime_code", "severity"),
    Index("ix_alerts_status", "status"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("summary", JSON, nullable=False),
)
