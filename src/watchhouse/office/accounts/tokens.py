"""API tokens: long-lived bearer credentials for scripts, narrower than the account they act for.

A token reads ``whk_<id>_<secret>``: the fixed prefix makes a leaked token recognisable to
secret scanners and to people, the public id names the row (so a failed use is audited against
the right token, and listings can show it), and the secret is 32 random bytes shown once.

The database keeps SHA-256 of the whole token, not a slow password hash: slow hashes protect
*guessable* secrets (passwords) against offline guessing, but 256 random bits cannot be guessed
at any speed, so a fast hash loses nothing, and every API request checks a token — argon2id's
~0.2 s per request would make the API unusable and hand attackers a cheap denial of service.

A token's roles are the intersection of the roles it was created with and the account's roles
*at the time of use*, so demoting or disabling an account also narrows or stops its tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import ANONYMOUS, Account, check_username
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.tables import accounts, api_tokens
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import NotFoundError, PolicyError

PREFIX = "whk_"
API_TOKEN = "api-token"  # noqa: S105 (an audit object type, not a credential)
"""Audit object type of token creation, failed use and revocation."""
DEFAULT_DAYS = 90
MAX_DAYS = 365
_TOUCH_EVERY = timedelta(seconds=60)
_TOKEN_ID = re.compile(r"[0-9a-f]{16}")


class TokenRefusedError(PolicyError):
    """A bearer token that does not (or no longer) authenticate; the reason is audited, not shown."""


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _roles(text: str | None) -> tuple[Role, ...] | None:
    return None if text is None else tuple(Role(r) for r in text.split(",") if r)


@dataclass(frozen=True, kw_only=True)
class ApiToken:
    id: str
    username: str
    name: str
    roles: tuple[Role, ...] | None
    """``None``: all of the account's roles; otherwise at most these."""
    created_by: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """Everything about the token except its secret (which the office does not have)."""
        return {
            "id": self.id,
            "prefix": f"{PREFIX}{self.id}_",
            "username": self.username,
            "name": self.name,
            "roles": None if self.roles is None else [r.value for r in self.roles],
            "state": self.state(now),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is the whole bearer value, returned this once and never stored."""

    secret: str
    token: ApiToken


def _token(row: Any) -> ApiToken:
    created, expires = _utc(row.created_at), _utc(row.expires_at)
    assert created is not None and expires is not None
    return ApiToken(
        id=row.id,
        username=row.username,
        name=row.name,
        roles=_roles(row.roles),
        created_by=row.created_by,
        created_at=created,
        expires_at=expires,
        last_used_at=_utc(row.last_used_at),
        revoked_at=_utc(row.revoked_at),
        revoked_by=row.revoked_by,
    )


def parse(bearer: str) -> tuple[str, str] | None:
    """``(id, whole token)`` when ``bearer`` has the token's shape, else ``None``."""
    if not bearer.startswith(PREFIX):
        return None
    token_id, sep, secret = bearer[len(PREFIX) :].partition("_")
    if not sep or not _TOKEN_ID.fullmatch(token_id) or not secret or len(bearer) > 200:
        return None
    return token_id, bearer


class ApiTokens:
    """Create, list, revoke and check API tokens; each creation, refusal and revocation is audited.

    Who may manage whose tokens is the caller's decision (the web layer asks for
    ``account:admin`` before acting on another account); the service records who did it.
    """

    def __init__(
        self, engine: Engine, audit: AuditLog, clock: Callable[[], datetime], load: Callable[[str], Account]
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock
        self._load = load

    def create(
        self,
        actor: str,
        username: str,
        name: str,
        days: int = DEFAULT_DAYS,
        roles: Sequence[Role] | None = None,
    ) -> IssuedToken:
        name = name.strip()
        if not 1 <= len(name) <= 100 or not name.isprintable():
            raise UsageError("a token needs a name of 1-100 printable characters (what the script is for)")
        check_username(username)
        if not 1 <= days <= MAX_DAYS:
            raise UsageError(f"a token lives 1-{MAX_DAYS} days")
        account = self._load(username)
        if account.disabled:
            raise UsageError(f"{username} is disabled")
        wanted = None if roles is None else tuple(sorted(set(roles)))
        if wanted is not None and (not wanted or not set(wanted) <= set(account.roles)):
            held = ", ".join(account.roles)
            raise UsageError(f"a token's roles must be a non-empty subset of {username}'s roles ({held})")
        token_id = secrets.token_hex(8)
        secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = self._clock()
        expires = now + timedelta(days=days)
        with self._audit.transaction() as conn:
            conn.execute(
                api_tokens.insert().values(
                    id=token_id,
                    username=username,
                    name=name,
                    token_hash=_hash(secret),
                    roles=None if wanted is None else ",".join(r.value for r in wanted),
                    created_by=actor,
                    created_at=now,
                    expires_at=expires,
                    last_used_at=None,
                    revoked_at=None,
                    revoked_by=None,
                )
            )
            details = {
                "username": username,
                "name": name,
                "expires_at": expires.isoformat(),
                "roles": None if wanted is None else [r.value for r in wanted],
            }
            self._audit.append(actor, Action.CREATE, API_TOKEN, token_id, None, details, conn=conn)
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).one()
        return IssuedToken(secret, _token(row))

    def list(self, actor: str, username: str) -> list[ApiToken]:
        """One account's tokens, newest first; audited like every other listing."""
        check_username(username)
        query = select(api_tokens).where(api_tokens.c.username == username).order_by(api_tokens.c.created_at.desc())
        with self._audit.transaction() as conn:
            found = [_token(r) for r in conn.execute(query)]
            details = {"username": username, "results": len(found)}
            self._audit.append(actor, Action.SEARCH, API_TOKEN, None, None, details, conn=conn)
        return found

    def get(self, token_id: str) -> ApiToken:
        if not _TOKEN_ID.fullmatch(token_id):
            raise NotFoundError(f"no API token {token_id[:40]!r}")
        with self._engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(f"no API token {token_id!r}")
        return _token(row)

    def revoke(self, actor: str, token_id: str) -> ApiToken:
        """Revoke at once (idempotent: revoking a revoked token changes and records nothing)."""
        self.get(token_id)
        with self._audit.transaction() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
            if row is None:
                raise NotFoundError(f"no API token {token_id!r}")
            if row.revoked_at is None:
                conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == token_id)
                    .values(revoked_at=self._clock(), revoked_by=actor)
                )
                details = {"op": "revoke", "username": row.username, "name": row.name}
                self._audit.append(actor, Action.CHANGE, API_TOKEN, token_id, None, details, conn=conn)
                row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).one()
        return _token(row)

    def authenticate(self, bearer: str, client: str | None = None) -> tuple[Account, ApiToken]:
        """The account a bearer token acts for, with the token's effective roles; refusals audited."""
        parsed = parse(bearer.strip())
        if parsed is None:
            self._refuse(None, "malformed", client)
        token_id, whole = parsed
        now = self._clock()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(api_tokens, accounts.c.disabled)
                .join(accounts, accounts.c.username == api_tokens.c.username)
                .where(api_tokens.c.id == token_id)
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, _hash(whole)):
            self._refuse(token_id, "unknown" if row is None else "bad-secret", client)
        token = _token(row)
        account = self._load(token.username)
        reason = None
        if token.revoked_at is not None:
            reason = "revoked"
        elif token.expires_at <= now:
            reason = "expired"
        elif account.disabled:
            reason = "account-disabled"
        effective = account.roles if token.roles is None else tuple(r for r in token.roles if r in account.roles)
        if reason is None and not effective:
            reason = "roles-withdrawn"
        if reason is not None:
            self._refuse(token_id, reason, client)
        if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
            with self._engine.begin() as conn:
                conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))
            token = replace(token, last_used_at=now)
        return replace(account, roles=effective), token

    def _refuse(self, token_id: str | None, reason: str, client: str | None) -> NoReturn:
        details = {"reason": reason, "client": (client or "")[:100] or None}
        self._audit.append(ANONYMOUS, Action.LOGIN_FAILED, API_TOKEN, token_id, None, details)
        raise TokenRefusedError("the API token is not valid (unknown, expired or revoked)")
