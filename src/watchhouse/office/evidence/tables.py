"""Runtime view of the evidence tables; their history lives in ``storage/migrations`` (rev 0003)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("sha512", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("original_name", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("source", Text, nullable=False),
    Column("acquired_by", String(200), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("method", String(80), nullable=False),
    Column("tool", String(120), nullable=False),
    Column("details", Text, nullable=False),
)

custody_events = Table(
    "custody_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evidence_id", String(40), ForeignKey("evidence_items.id"), nullable=False),
    Column("event", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("purpose", Text, nullable=True),
    Column("details", Text, nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_custody_events_evidence", "evidence_id"),
)
