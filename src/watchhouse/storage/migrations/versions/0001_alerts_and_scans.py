"""Alerts and scans, adopting databases made before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "alerts" not in existing:
        op.create_table(
            "alerts",
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("detector", sa.String(120), nullable=False),
            sa.Column("detector_version", sa.String(40), nullable=False),
            sa.Column("key", sa.Text, nullable=False),
            sa.Column("crime_code", sa.String(60), nullable=False),
            sa.Column("stage", sa.String(20), nullable=False),
            sa.Column("severity", sa.Integer, nullable=False),
            sa.Column("confidence", sa.Float, nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("explanation", sa.Text, nullable=False),
            sa.Column("subject_kind", sa.String(60), nullable=False),
            sa.Column("subject_value", sa.String(200), nullable=False),
            sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
            sa.Column("evidence", sa.JSON, nullable=False),
            sa.Column("evidence_count", sa.Integer, nullable=False),
            sa.Column("details", sa.JSON, nullable=False),
            sa.Column("tags", sa.JSON, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("scan_id", sa.String(40), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_alerts_first_seen", "alerts", ["first_seen"])
        op.create_index("ix_alerts_crime_severity", "alerts", ["crime_code", "severity"])
    if "scans" not in existing:
        op.create_table(
            "scans",
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("summary", sa.JSON, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("scans")
    op.drop_index("ix_alerts_crime_severity", table_name="alerts")
    op.drop_index("ix_alerts_first_seen", table_name="alerts")
    op.drop_table("alerts")
