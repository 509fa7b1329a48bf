"""Alembic environment and revisions for the office database (run by ``storage.migrate``)."""
