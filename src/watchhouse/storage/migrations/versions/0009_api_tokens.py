"""API tokens for scripts, and room for sealed TOTP secrets.

``api_tokens`` keeps only the SHA-256 of each token (the secret is shown once, at creation);
rows are revoked in place, never deleted, so the audit log's references keep resolving.

``accounts.totp_secret`` grows from 64 to 255 characters to hold the AES-GCM sealed form. The
secrets themselves are *not* re-encrypted here: a migration has no business reading key files
from the office home, so the account service seals every remaining plaintext secret the first
time it is used after the upgrade (``AccountService.seal_plaintext_secrets``; audited).

Revision ID: 0009_tokens
Revises: 0008_portal
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_tokens"
down_revision = "0008_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("accounts.username"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("roles", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_api_tokens_username", "api_tokens", ["username"])
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("totp_secret", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=True)


def downgrade() -> None:
    # Sealed secrets do not fit the old column: a downgrade turns the second factor off for
    # everyone (they re-enrol) rather than truncating ciphertext into garbage.
    op.execute(sa.text("UPDATE accounts SET totp_secret = NULL, totp_last_step = NULL"))
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("totp_secret", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=True)
    op.drop_index("ix_api_tokens_username", table_name="api_tokens")
    op.drop_table("api_tokens")
