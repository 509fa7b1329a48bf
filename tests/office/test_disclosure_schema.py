"""Migration 0007 and the runtime disclosure tables agree (the parity check, for the new tables)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from watchhouse.office.disclosure.tables import metadata
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade


def test_migration_matches_the_disclosure_tables(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        upgrade(engine)
        names = set(metadata.tables)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [
                d
                for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name not in names)
                and not (d[0] == "remove_index" and d[1].table.name not in names)
            ]
        assert diffs == []
    finally:
        engine.dispose()
