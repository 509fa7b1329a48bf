"""Alert triage: assignee and verdict on alerts, append-only triage history, suppression rules.

``alert_history`` refuses UPDATE and DELETE in the database (like custody, rev 0003): a triage
decision, once recorded, can only be superseded by a later one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchhouse.storage.migrations.helpers import append_only, drop_append_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Like rev 0001, adopt what a pre-migration ``create_all`` may already have made.
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("alerts")}
    if "assignee" not in columns:
        op.add_column("alerts", sa.Column("assignee", sa.String(200), nullable=True))
    if "verdict" not in columns:
        op.add_column("alerts", sa.Column("verdict", sa.String(20), nullable=True))
    if "ix_alerts_status" not in {i["name"] for i in inspector.get_indexes("alerts")}:
        op.create_index("ix_alerts_status", "alerts", ["status"])
    existing = set(inspector.get_table_names())
    if "alert_history" not in existing:
        op.create_table(
            "alert_history",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("alert_id", sa.String(40), sa.ForeignKey("alerts.id"), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(200), nullable=False),
            sa.Column("field", sa.String(20), nullable=False),
            sa.Column("old_value", sa.String(200), nullable=True),
            sa.Column("new_value", sa.String(200), nullable=True),
            sa.Column("reason", sa.Text, nullable=True),
            sa.Column("audit_seq", sa.BigInteger, nullable=False),
        )
        op.create_index("ix_alert_history_alert", "alert_history", ["alert_id"])
    if "suppression_rules" not in existing:
        op.create_table(
            "suppression_rules",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("detector", sa.String(120), nullable=True),
            sa.Column("crime_code", sa.String(60), nullable=True),
            sa.Column("subject", sa.String(260), nullable=True),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_by", sa.String(200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("from_alert", sa.String(40), nullable=True),
            sa.Column("revoked_by", sa.String(200), nullable=True),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        )
    append_only("alert_history")


def downgrade() -> None:
    drop_append_only("alert_history")
    op.drop_table("suppression_rules")
    op.drop_index("ix_alert_history_alert", table_name="alert_history")
    op.drop_table("alert_history")
    op.drop_index("ix_alerts_status", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("verdict")
        batch.drop_column("assignee")
