"""Cases: the case row, its append-only event history and notes, and its tasks.

Everything that happens to a case other than task bookkeeping is a row in ``case_events``
(status changes, reviewer, access grants and revocations, alert and evidence links and unlinks);
current state such as the access list or linked alerts is the replay of those events, so history
is kept by construction. ``case_events`` and ``case_notes`` refuse UPDATE and DELETE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchhouse.storage.migrations.helpers import append_only, drop_append_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY = ("case_events", "case_notes")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("crime_codes", sa.JSON, nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("tlp", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("need_to_know", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(20), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("old_value", sa.String(200), nullable=True),
        sa.Column("new_value", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id"])
    op.create_index("ix_case_events_target", "case_events", ["kind", "target"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(20), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("corrects", sa.Integer, sa.ForeignKey("case_notes.id"), nullable=True),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_case_notes_case", "case_notes", ["case_id"])
    op.create_table(
        "case_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(20), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_tasks_case", "case_tasks", ["case_id"])
    for table in APPEND_ONLY:
        append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    op.drop_index("ix_case_tasks_case", table_name="case_tasks")
    op.drop_table("case_tasks")
    op.drop_index("ix_case_notes_case", table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_index("ix_case_events_target", table_name="case_events")
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_table("case_events")
    op.drop_table("cases")
