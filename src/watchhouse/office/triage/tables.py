"""Runtime view of the triage tables; their history lives in ``storage/migrations`` (rev 0004).

They share the alerts' metadata because ``alert_history`` references ``alerts``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from watchhouse.storage.schema import metadata

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(40), ForeignKey("alerts.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("field", String(20), nullable=False),
    Column("old_value", String(200), nullable=True),
    Column("new_value", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_alert_history_alert", "alert_id"),
)

suppression_rules = Table(
    "suppression_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("detector", String(120), nullable=True),
    Column("crime_code", String(60), nullable=True),
    Column("subject", String(260), nullable=True),
    Column("reason", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("from_alert", String(40), nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
