"""Runtime view of the audit tables; their history lives in ``storage/migrations`` (rev 0002)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False, index=True),
    Column("action", String(80), nullable=False),
    Column("object_type", String(60), nullable=False),
    Column("object_id", String(200), nullable=True),
    Column("purpose", Text, nullable=True),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("ix_audit_entries_object", "object_type", "object_id"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)
