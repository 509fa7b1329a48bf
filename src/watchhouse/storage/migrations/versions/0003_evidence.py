"""Evidence items (ISO/IEC 27037 acquisition metadata) and their append-only custody events.

Both tables refuse UPDATE and DELETE in the database itself, so a bug or a hand-typed SQL
statement cannot rewrite custody; the service layer offers no such operation either.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("evidence_items", "custody_events")


def upgrade() -> None:
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("sha512", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("acquired_by", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(80), nullable=False),
        sa.Column("tool", sa.String(120), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_table(
        "custody_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("evidence_id", sa.String(40), sa.ForeignKey("evidence_items.id"), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_custody_events_evidence", "custody_events", ["evidence_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION watchhouse_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION watchhouse_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION watchhouse_append_only()")
    op.drop_index("ix_custody_events_evidence", table_name="custody_events")
    op.drop_table("custody_events")
    op.drop_table("evidence_items")
