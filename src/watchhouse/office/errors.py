"""Office errors, all within Watchhouse's one exception tree so the CLI prints one line."""

from __future__ import annotations

from watchhouse.core.errors import UsageError, WatchhouseError


class NotFoundError(UsageError):
    """The user named an office object (evidence item, audit entry, checkpoint) that does not exist."""


class IntegrityError(WatchhouseError):
    """Stored data no longer matches what was sealed or signed; the message says exactly where."""

    exit_code = 5


class AppendOnlyError(WatchhouseError):
    """Someone asked to change or remove a record that may only ever be appended to."""

    exit_code = 2
