"""Identity vault: encrypted pseudonym -> identifier mappings, and the append-only reveal record.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watchhouse.storage.migrations.helpers import append_only, drop_append_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_vault",
        sa.Column("pseudonym", sa.String(40), primary_key=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "identity_reveals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(20), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_identity_reveals_actor_at", "identity_reveals", ["actor", "at"])
    append_only("identity_reveals")


def downgrade() -> None:
    drop_append_only("identity_reveals")
    op.drop_index("ix_identity_reveals_actor_at", table_name="identity_reveals")
    op.drop_table("identity_reveals")
    op.drop_table("identity_vault")
