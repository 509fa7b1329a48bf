"""Migrations: fresh databases reach head on both backends, old databases are adopted, schema matches code."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.tables import metadata as accounts_metadata
from watchhouse.office.audit.tables import metadata as audit_metadata
from watchhouse.office.cases.tables import metadata as case_metadata
from watchhouse.office.disclosure.tables import metadata as disclosure_metadata
from watchhouse.office.evidence.tables import metadata as evidence_metadata
from watchhouse.office.identity.tables import metadata as identity_metadata
from watchhouse.office.triage import tables as triage_tables
from watchhouse.storage import schema
from watchhouse.storage.alert_store import AlertFilter, AlertStore
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import current_revision, head_revision, migration_config, upgrade

from .test_alert_store import alert

RUNTIME = (
    schema.metadata,
    audit_metadata,
    evidence_metadata,
    case_metadata,
    identity_metadata,
    accounts_metadata,
    disclosure_metadata,
)
"""Each package's tables, compared with what the migrations built. The portal's tables are left out:
their foreign keys point into the evidence package's MetaData, which alembic's comparison of one
MetaData at a time cannot resolve (tests/portal checks the portal schema through its own use)."""
assert triage_tables.alert_history.metadata is schema.metadata  # triage tables are checked with the alerts


def test_fresh_database_reaches_head_and_matches_the_runtime_tables(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        upgrade(engine)  # a second run is a no-op
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            for metadata in RUNTIME:
                names = set(metadata.tables)
                diffs = [
                    d
                    for d in compare_metadata(context, metadata)
                    if not (d[0] == "remove_table" and d[1].name not in names)
                    and not (d[0] == "remove_index" and d[1].table.name not in names)
                ]
                assert diffs == [], f"migrations and {sorted(names)} disagree: {diffs}"
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_back(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        upgrade(engine)
        config = migration_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert {"alerts", "scans", "audit_entries", "evidence_items", "cases", "identity_vault"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_database_made_before_migrations_is_adopted_with_its_alerts(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    legacy = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(legacy)  # exactly what AlertStore did before migrations
    legacy_store = AlertStore.__new__(AlertStore)
    legacy_store._engine = legacy
    assert legacy_store.save([alert(1), alert(2)]) == 2
    legacy.dispose()

    store = AlertStore.sqlite(path)
    try:
        assert store.count() == 2 and store.get(alert(1).id) == alert(1)
        assert store.save([alert(3)]) == 1
        assert current_revision(store._engine) == head_revision()
        assert "audit_entries" in inspect(store._engine).get_table_names()
    finally:
        store.close()


def test_alert_store_on_both_backends(db_url: str) -> None:
    store = AlertStore.open(db_url)
    try:
        assert store.save([alert(1), alert(2)]) == 2
        assert store.save([alert(1), alert(2), alert(3)]) == 1
        assert store.get(alert(2).id) == alert(2)
        assert [a.key for a in store.query(AlertFilter(subject="203.0.113.3"))] == ["k3"]
        store.record_scan("s-1", alert(1).first_seen, {"alerts": 3})
    finally:
        store.close()


def test_unsupported_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        open_engine("mysql://nobody@localhost/db")
    with pytest.raises(UsageError):
        open_engine("not a url")


def test_the_head_constant_names_the_newest_script() -> None:
    """``upgrade`` trusts HEAD_REVISION to tell a current database without Alembic: a migration
    added without updating it must fail here (else it would never run on an existing database)."""
    from watchhouse.storage.migrate import HEAD_REVISION

    assert head_revision() == HEAD_REVISION


def test_the_revision_is_read_as_alembic_records_it(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        assert current_revision(engine) is None  # never migrated
        upgrade(engine)
        with engine.connect() as conn:
            assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
        config = migration_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "-1")
        assert current_revision(engine) not in (None, head_revision())
        upgrade(engine)  # not current: Alembic runs the missing step
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_opening_a_current_office_does_not_import_alembic(tmp_path: Path) -> None:
    """The point of HEAD_REVISION: a command on a current database starts without Alembic."""
    import subprocess
    import sys

    AlertStore.sqlite(tmp_path / "office.db").close()  # made and migrated
    probe = (
        "import sys\n"
        "from watchhouse.storage.alert_store import AlertStore\n"
        f"AlertStore.sqlite({str(tmp_path / 'office.db')!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
