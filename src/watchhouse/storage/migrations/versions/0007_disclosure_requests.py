"""Disclosure requests and their append-only event history (approvals, production, follow-up).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchhouse.storage.migrations.helpers import append_only, drop_append_only

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("authority_name", sa.String(300), nullable=False),
        sa.Column("authority_country", sa.String(2), nullable=False),
        sa.Column("request_type", sa.String(20), nullable=False),
        sa.Column("legal_instrument", sa.String(200), nullable=True),
        sa.Column("legal_reference", sa.String(200), nullable=True),
        sa.Column("legal_issuer", sa.String(300), nullable=True),
        sa.Column("scope_accounts", sa.JSON, nullable=False),
        sa.Column("scope_from", sa.Date, nullable=False),
        sa.Column("scope_to", sa.Date, nullable=False),
        sa.Column("scope_categories", sa.JSON, nullable=False),
        sa.Column("nondisclosure_order", sa.Boolean, nullable=False),
        sa.Column("nondisclosure_until", sa.Date, nullable=True),
        sa.Column("notice_decision", sa.String(20), nullable=False),
        sa.Column("notice_reason", sa.Text, nullable=True),
        sa.Column("notice_until", sa.Date, nullable=True),
        sa.Column("justification", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(20), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followup_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_received_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_disclosure_requests_received", "disclosure_requests", ["received_at"])
    op.create_index("ix_disclosure_requests_status", "disclosure_requests", ["status"])
    op.create_table(
        "disclosure_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(20), sa.ForeignKey("disclosure_requests.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("old_value", sa.String(40), nullable=True),
        sa.Column("new_value", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_disclosure_events_request", "disclosure_events", ["request_id"])
    append_only("disclosure_events")


def downgrade() -> None:
    drop_append_only("disclosure_events")
    op.drop_index("ix_disclosure_events_request", table_name="disclosure_events")
    op.drop_table("disclosure_events")
    op.drop_index("ix_disclosure_requests_status", table_name="disclosure_requests")
    op.drop_index("ix_disclosure_requests_received", table_name="disclosure_requests")
    op.drop_table("disclosure_requests")
