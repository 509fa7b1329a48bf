"""Persistence for the office: SQLite by default, anything SQLAlchemy speaks later."""
