"""The public report portal: reports, their identifiers, attachments, events, decisions, appeals.

Events and decisions are append-only (triggers, as for custody and case events): a decision is
never edited, a review is a new decision that names the appeal it answers. Reports and appeals
are ordinary rows whose status changes in place; their history is ``portal_events`` + audit log.

Revision ID: 0008_portal
Revises: 0007_accounts
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchhouse.storage.migrations.helpers import append_only, drop_append_only

revision = "0008_portal"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None

_REF = sa.String(12)


def upgrade() -> None:
    op.create_table(
        "portal_reports",
        sa.Column("reference", _REF, primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("crime_code", sa.String(40), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("restricted", sa.Boolean, nullable=False),
        sa.Column("narrative", sa.Text, nullable=False),
        sa.Column("occurred", sa.String(40), nullable=True),
        sa.Column("locations", sa.Text, nullable=False),
        sa.Column("money_amount", sa.String(24), nullable=True),
        sa.Column("money_currency", sa.String(3), nullable=True),
        sa.Column("money_method", sa.String(40), nullable=True),
        sa.Column("money_paid_on", sa.String(10), nullable=True),
        sa.Column("bona_fide", sa.Boolean, nullable=False),
        sa.Column("consent", sa.Boolean, nullable=False),
        sa.Column("contact_key_id", sa.String(16), nullable=True),
        sa.Column("contact_nonce", sa.LargeBinary, nullable=True),
        sa.Column("contact_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("reporter", sa.String(40), nullable=True),
        sa.Column("client", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portal_reports_status", "portal_reports", ["status"])
    op.create_index("ix_portal_reports_received", "portal_reports", ["received_at"])
    op.create_table(
        "portal_identifiers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        sa.UniqueConstraint("reference", "kind", "value", name="uq_portal_identifier"),
    )
    op.create_index("ix_portal_identifiers_value", "portal_identifiers", ["kind", "value"])
    op.create_index("ix_portal_identifiers_reference", "portal_identifiers", ["reference"])
    op.create_table(
        "portal_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("evidence_id", sa.String(40), sa.ForeignKey("evidence_items.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portal_attachments_reference", "portal_attachments", ["reference"])
    op.create_table(
        "portal_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("new_status", sa.String(20), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_portal_events_reference", "portal_events", ["reference"])
    append_only("portal_events")
    op.create_table(
        "portal_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("public_reasons", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appeal_of", sa.Integer, nullable=True),
    )
    op.create_index("ix_portal_decisions_reference", "portal_decisions", ["reference"])
    append_only("portal_decisions")
    op.create_table(
        "portal_appeals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("portal_decisions.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reasons", sa.Text, nullable=True),
    )
    op.create_index("ix_portal_appeals_reference", "portal_appeals", ["reference"])
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", _REF, sa.ForeignKey("portal_reports.reference"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", "kind", "target", name="uq_portal_link"),
    )
    op.create_table(
        "portal_restricted_readers",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portal_restricted_readers")
    op.drop_table("portal_links")
    op.drop_index("ix_portal_appeals_reference", table_name="portal_appeals")
    op.drop_table("portal_appeals")
    drop_append_only("portal_decisions")
    op.drop_index("ix_portal_decisions_reference", table_name="portal_decisions")
    op.drop_table("portal_decisions")
    drop_append_only("portal_events")
    op.drop_index("ix_portal_events_reference", table_name="portal_events")
    op.drop_table("portal_events")
    op.drop_index("ix_portal_attachments_reference", table_name="portal_attachments")
    op.drop_table("portal_attachments")
    op.drop_index("ix_portal_identifiers_reference", table_name="portal_identifiers")
    op.drop_index("ix_portal_identifiers_value", table_name="portal_identifiers")
    op.drop_table("portal_identifiers")
    op.drop_index("ix_portal_reports_status", table_name="portal_reports")
    op.drop_index("ix_portal_reports_received", table_name="portal_reports")
    op.drop_table("portal_reports")
