"""Bringing any office database to the current schema with Alembic.

The migration scripts ship inside the package (``storage/migrations``) and are run from code, not
from an ``alembic.ini``, so an embedded install upgrades itself when it opens its database.
Databases created before migrations existed (``alerts``/``scans`` made by ``create_all``) are
adopted by the first revision, which only creates what is missing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from watchhouse.core.errors import InputError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migration_config() -> Config:
    """Alembic configuration pointing at the packaged scripts (tests use it to downgrade)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration in one transaction; a no-op when already current."""
    try:
        if revision == "head" and current_revision(engine) == head_revision():
            return
        config = migration_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise InputError(f"cannot migrate the office database: {exc}") from exc
