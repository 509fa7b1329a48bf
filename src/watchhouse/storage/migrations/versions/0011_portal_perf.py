"""The portal's abuse limits hold across server processes: used challenges and per-client counts.

Challenge replay protection and the per-client submission limit lived in each server process's
memory, so with two workers a token could be used once per worker and a client got the limit
once per worker. The used challenge salts now get a row, written in the same transaction as the
report (the primary key refuses a second use, whichever process sees it), and the limit is
counted from the reports themselves, by the client pseudonym and time that every report already
stores; the index makes that count an index range read.

Revision ID: 0011_portal_perf
Revises: 0010_triage_indexes
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_portal_perf"
down_revision = "0010_triage_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_challenge_uses",
        sa.Column("salt", sa.String(32), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portal_challenge_uses_expires", "portal_challenge_uses", ["expires_at"])
    op.create_index("ix_portal_reports_client_received", "portal_reports", ["client", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_reports_client_received", table_name="portal_reports")
    op.drop_index("ix_portal_challenge_uses_expires", table_name="portal_challenge_uses")
    op.drop_table("portal_challenge_uses")
