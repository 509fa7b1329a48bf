"""Runtime view of the identity vault tables; their history lives in ``storage/migrations`` (rev 0006)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

identity_vault = Table(
    "identity_vault",
    metadata,
    Column("pseudonym", String(40), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

identity_reveals = Table(
    "identity_reveals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudonym", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("case_id", String(20), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_identity_reveals_actor_at", "actor", "at"),
)
