"""Indexes that make the triage queue an index range read at a million alerts.

The queue is ordered by (severity, first_seen, id), descending, and filtered by equality on crime
code, status, detector, subject or assignee. Before this revision only ``(crime_code, severity)``
and ``(status)`` existed, so every page sorted all matching rows (the whole table for the
unfiltered queue: seconds per page at 1M alerts). Each new index is one filter column followed by
the sort key, so the database reads the first ``limit`` entries in order and stops; the bare sort
key serves the unfiltered queue and ``min_severity``. The two old indexes are prefixes of the new
crime/status ones and are dropped; the time index gains the severity, so that a capped count of a
time window (``since`` + ``min_severity``) reads index entries only.

Revision ID: 0010_triage_indexes
Revises: 0009_tokens
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0010_triage_indexes"
down_revision = "0009_tokens"
branch_labels = None
depends_on = None

_KEY = ["severity", "first_seen", "id"]
_QUEUE = {
    "all": [],
    "crime": ["crime_code"],
    "status": ["status"],
    "detector": ["detector"],
    "subject": ["subject_value"],
    "assignee": ["assignee"],
}
"""Written out, not imported from ``storage.schema``: a migration must keep meaning what it meant."""


def upgrade() -> None:
    # IF [NOT] EXISTS: a database adopted by revision 0001 (made with ``create_all`` before there
    # were migrations) may already have any mix of the old and the new indexes.
    op.drop_index("ix_alerts_crime_severity", table_name="alerts", if_exists=True)
    op.drop_index("ix_alerts_status", table_name="alerts", if_exists=True)
    op.drop_index("ix_alerts_first_seen", table_name="alerts", if_exists=True)
    op.create_index("ix_alerts_seen_severity", "alerts", ["first_seen", "severity"], if_not_exists=True)
    for name, columns in _QUEUE.items():
        op.create_index(f"ix_alerts_{name}_queue", "alerts", [*columns, *_KEY], if_not_exists=True)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's planner picks among the queue indexes by their statistics; without them it
        # guesses, and a wrong guess is a sort of the whole table. (PostgreSQL's autovacuum
        # analyses by itself.)
        op.execute("ANALYZE alerts")


def downgrade() -> None:
    for name in reversed(list(_QUEUE)):
        op.drop_index(f"ix_alerts_{name}_queue", table_name="alerts")
    op.drop_index("ix_alerts_seen_severity", table_name="alerts")
    op.create_index("ix_alerts_first_seen", "alerts", ["first_seen"])
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_index("ix_alerts_crime_severity", "alerts", ["crime_code", "severity"])
