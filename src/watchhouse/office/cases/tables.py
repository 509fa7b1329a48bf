"""Runtime view of the case tables; their history lives in ``storage/migrations`` (rev 0005)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("title", Text, nullable=False),
    Column("crime_codes", JSON, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("tlp", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("reviewer", String(200), nullable=True),
    Column("need_to_know", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(20), ForeignKey("cases.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("target", String(200), nullable=True),
    Column("old_value", String(200), nullable=True),
    Column("new_value", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_case_events_case", "case_id"),
    Index("ix_case_events_target", "kind", "target"),
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(20), ForeignKey("cases.id"), nullable=False),
    Column("author", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("corrects", Integer, ForeignKey("case_notes.id"), nullable=True),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_case_notes_case", "case_id"),
)

case_tasks = Table(
    "case_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(20), ForeignKey("cases.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_tasks_case", "case_id"),
)
