"""Revisions, oldest first by their ``down_revision`` chain.

Adding one: set :data:`watchhouse.storage.migrate.HEAD_REVISION` to its ``revision`` as well (the
office tells a current database by that constant, without Alembic; a test fails until they agree).
"""
