"""Bringing any office database to the current schema with Alembic.

The migration scripts ship inside the package (``storage/migrations``) and are run from code, not
from an ``alembic.ini``, so an embedded install upgrades itself when it opens its database.
Databases created before migrations existed (``alerts``/``scans`` made by ``create_all``) are
adopted by the first revision, which only creates what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from watchhouse.core.errors import InputError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: the newest migration's revision id, as ``head_revision()`` reads it from the scripts (a test
#: holds the two equal, so a new migration fails the tests until this names it). Why a constant:
#: every office command opens the database, and telling that it is current took Alembic's import
#: (0.15 s of it scanning every installed package's entry points) plus reading the scripts; now a
#: current database is told by one query, and Alembic is imported only to migrate.
HEAD_REVISION = "0011_portal_perf"


def migration_config() -> Config:
    """Alembic configuration pointing at the packaged scripts (tests use it to downgrade)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision as the scripts declare it (what :data:`HEAD_REVISION` must name)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated), read as Alembic stores it: the one
    row of ``alembic_version`` (a linear history has one head)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise InputError(f"the office database records several schema versions: {', '.join(sorted(versions))}")
    return versions[0] if versions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration in one transaction; a no-op when already current."""
    try:
        if revision == "head" and current_revision(engine) == HEAD_REVISION:
            return
        from alembic import command

        config = migration_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise InputError(f"cannot migrate the office database: {exc}") from exc
