"""Accounts, sessions and the login policy the account service applies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.roles import Permission, Role, allowed
from watchhouse.office.errors import PolicyError

ACCOUNT = "account"
"""Audit object type of account changes (the audit vocabulary keeps object types open-ended)."""

ANONYMOUS = "web:anonymous"
"""Actor of failed logins: the name tried is the object, never the actor, so nobody can write
entries in someone else's name by mistyping a password."""

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def check_username(name: str) -> str:
    """Lower-case letters, digits, ``.``, ``_``, ``-``: never ``:`` so an account cannot pose as
    ``local:...`` or ``system:...`` actors in the audit log."""
    if not _USERNAME.match(name):
        raise UsageError(f"{name!r} is not a valid user name (2-64 of a-z 0-9 . _ -, starting with a letter or digit)")
    return name


class LoginFailedError(PolicyError):
    """Login refused; the message is deliberately the same for every reason (no user enumeration)."""


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=8)
    idle_timeout: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, kw_only=True)
class Account:
    username: str
    roles: tuple[Role, ...]
    disabled: bool
    totp_enabled: bool
    locked_until: datetime | None
    created_at: datetime

    def may(self, permission: Permission) -> bool:
        return not self.disabled and allowed(self.roles, permission)

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "roles": [r.value for r in self.roles],
            "disabled": self.disabled,
            "totp": self.totp_enabled,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class Session:
    """A logged-in session: the token itself is only ever in the user's cookie (stored hashed).

    A request carrying an API token gets a session too, with ``api_token`` naming the token, the
    token's (possibly narrower) roles on ``account``, and an empty CSRF token that no form can
    ever match: bearer credentials open the API, never the console.
    """

    account: Account
    token_hash: str
    csrf_token: str
    expires_at: datetime
    api_token: str | None = None


@dataclass(frozen=True)
class Login:
    """What a successful login hands the web layer: the cookie value and the session it opened."""

    token: str
    session: Session
