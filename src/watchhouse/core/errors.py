"""One exception tree for Watchhouse.

Every error a user can cause derives from :class:`WatchhouseError` so the CLI can print one
clear line instead of a traceback; errors about input carry where in the input they arose.
"""

from __future__ import annotations


class WatchhouseError(Exception):
    """Base of every error Watchhouse raises on purpose."""

    exit_code: int = 1


class UsageError(WatchhouseError):
    """The user asked for something that cannot be done as asked (unknown format, bad option)."""

    exit_code = 2


class InputError(WatchhouseError):
    """An input cannot be read at all: missing file, unreadable gzip, permission denied.

    Malformed *lines* are not errors: they are quarantined and counted, and the run goes on.
    """

    exit_code = 3

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        location = path or ""
        if path is not None and line is not None:
            location = f"{path}:{line}"
        super().__init__(f"{location}: {message}" if location else message)
        self.path = path
        self.line = line


class ConfigError(WatchhouseError):
    """A configuration or rule file is invalid; the message names the file and line."""

    exit_code = 2


class DetectorError(WatchhouseError):
    """A detector is declared wrongly (bad info, duplicate name, failed plug-in load)."""

    exit_code = 4


class SchemaError(WatchhouseError):
    """A batch does not fit its dataset's schema; a programming error in a reader."""

    exit_code = 4
