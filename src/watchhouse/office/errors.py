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


class TransitionError(UsageError):
    """A case or alert was asked to move to a status its transition table does not allow from here."""


class PolicyError(WatchhouseError):
    """An office policy refused the action (it is recorded in the audit log as refused)."""

    exit_code = 6


class AccessDeniedError(PolicyError):
    """The actor is not on a need-to-know case's access list, or lacks the role the action needs."""


class FourEyesError(PolicyError):
    """A case would be closed without a second person: the closer must be the reviewer, not the owner."""


class RateLimitedError(PolicyError):
    """The actor has used up their identity reveals for the current window."""


class LegalBasisError(PolicyError):
    """A disclosure was asked for without its legal instrument, reference number and issuer."""
