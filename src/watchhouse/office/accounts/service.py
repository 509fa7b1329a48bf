"""The account service: local accounts, logins and sessions, each change and each login audited.

A login, successful or not, is decided and recorded in one write-locked transaction, so the
failure counter, the lockout and the audit entry can never disagree even under concurrent guesses.
Session tokens are 256 random bits handed to the browser once; the database keeps only their
SHA-256, so a copy of the database does not let anyone ride a live session. For the same reason
TOTP secrets are stored sealed (``sealing``) and API tokens hashed (``tokens``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts import passwords, totp
from watchhouse.office.accounts.models import (
    ACCOUNT,
    ANONYMOUS,
    Account,
    Login,
    LoginFailedError,
    LoginPolicy,
    Session,
    check_username,
)
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.sealing import TotpSealer, is_sealed
from watchhouse.office.accounts.tables import account_sessions, accounts, api_tokens
from watchhouse.office.accounts.tokens import ApiTokens
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import IntegrityError, NotFoundError

_TOUCH_EVERY = timedelta(seconds=60)
TOTP_KEY_LABEL = "account-totp-secrets"
"""HKDF label of the TOTP key derived from the audit signing key when no key file is given."""
REHASH_ACTOR = "system:accounts"
"""Actor of password hash upgrades at login: the system rewrote the hash, not the user."""
_REFUSED = "wrong user name, password or one-time code, or the account is locked"


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _account(row: Any) -> Account:
    return Account(
        username=row.username,
        roles=tuple(Role(r) for r in row.roles.split(",") if r),
        disabled=bool(row.disabled),
        totp_enabled=row.totp_secret is not None,
        locked_until=_utc(row.locked_until),
        created_at=_utc(row.created_at) or datetime.min.replace(tzinfo=UTC),
    )


class AccountService:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        clock: Callable[[], datetime],
        cost: PasswordCost | None = None,
        policy: LoginPolicy | None = None,
        totp_key: bytes | None = None,
    ) -> None:
        """``totp_key`` (from ``sealing.load_or_create_totp_key``) seals TOTP secrets; without it
        a key derived from the audit signing key is used, and stays readable once a file is given,
        so secrets sealed before are rewrapped under the file's key at their next use."""
        self._engine = engine
        self._audit = audit
        self._clock = clock
        self._cost = cost or PasswordCost()
        self.policy = policy or LoginPolicy()
        derived = audit.derive_key(TOTP_KEY_LABEL)
        self._sealer = TotpSealer(totp_key, derived) if totp_key is not None else TotpSealer(derived)
        self._legacy_checked = False
        self.tokens = ApiTokens(engine, audit, clock, self.get)
        """API tokens of these accounts (creation, listing, revocation, bearer checks)."""

    # -- administration ------------------------------------------------------------------------

    def add(self, actor: str, username: str, password: str, roles: Sequence[Role]) -> Account:
        check_username(username)
        passwords.check_strength(password)
        if not roles:
            raise UsageError("an account needs at least one role")
        digest = passwords.hash_password(password, self._cost)
        now = self._clock()
        with self._audit.transaction() as conn:
            if conn.execute(select(accounts.c.username).where(accounts.c.username == username)).first():
                raise UsageError(f"user {username!r} already exists")
            conn.execute(
                accounts.insert().values(
                    username=username,
                    password_hash=digest,
                    roles=",".join(sorted(r.value for r in roles)),
                    disabled=False,
                    totp_secret=None,
                    totp_last_step=None,
                    failed_logins=0,
                    locked_until=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._audit.append(
                actor, Action.CREATE, ACCOUNT, username, None, {"roles": sorted(r.value for r in roles)}, conn=conn
            )
            return self._load(conn, username)

    def set_password(self, actor: str, username: str, password: str) -> None:
        """New password; also clears a lockout, ends the user's sessions and revokes their API tokens.

        A reset is a fresh start: it usually follows a suspected compromise, and a token minted by
        whoever held the old password would otherwise outlive it. Scripts get new tokens afterwards.
        """
        passwords.check_strength(password)
        digest = passwords.hash_password(password, self._cost)
        self._change(actor, username, {"password_hash": digest, "failed_logins": 0, "locked_until": None}, "password")

    def set_roles(self, actor: str, username: str, roles: Sequence[Role]) -> None:
        if not roles:
            raise UsageError("an account needs at least one role")
        value = ",".join(sorted(r.value for r in roles))
        self._change(actor, username, {"roles": value}, "roles", {"roles": value.split(",")})

    def disable(self, actor: str, username: str) -> None:
        self._change(actor, username, {"disabled": True}, "disable")

    def enable(self, actor: str, username: str) -> None:
        self._change(actor, username, {"disabled": False, "failed_logins": 0, "locked_until": None}, "enable")

    def enable_totp(self, actor: str, username: str) -> str:
        """Turn on the second factor; returns the secret to load into an authenticator (shown once)."""
        secret = totp.new_secret()
        sealed = self._sealer.seal(username, secret)
        self._change(actor, username, {"totp_secret": sealed, "totp_last_step": None}, "totp-on")
        return secret

    def start_totp_enrolment(self, username: str) -> tuple[str, str]:
        """A candidate secret and its sealed form for the browser to hand back with a first code.

        Nothing is stored until :meth:`confirm_totp_enrolment` sees a valid code, so a user who
        closes the page half-way is not locked out by a factor their phone never received. The
        candidate is sealed under a different associated data than real secrets, so it can never
        be smuggled into the accounts table as someone's active factor.
        """
        self._refuse_replacing_totp(username)
        secret = totp.new_secret()
        return secret, self._sealer.seal(f"pending:{username}", secret)

    def _refuse_replacing_totp(self, username: str) -> None:
        """Self-service enrolment never replaces a factor: a stolen session must not be able to
        swap in the thief's authenticator (an admin turns the old one off first)."""
        if self.get(username).totp_enabled:
            raise UsageError(f"two-factor login is already on for {username}; an admin must turn it off first")

    def open_pending_totp(self, username: str, pending: str) -> str:
        """The candidate secret of an enrolment form (to show it again after a wrong code)."""
        if not is_sealed(pending):
            raise UsageError("the enrolment form is malformed; start again")
        return self._sealer.open(f"pending:{username}", pending)

    def confirm_totp_enrolment(self, actor: str, username: str, pending: str, code: str) -> bool:
        """Turn the factor on if ``code`` matches the pending secret; a wrong code changes nothing."""
        self._refuse_replacing_totp(username)
        secret = self.open_pending_totp(username, pending)
        step = totp.matching_step(secret, code, self._clock())
        if step is None:
            return False
        sealed = self._sealer.seal(username, secret)
        self._change(actor, username, {"totp_secret": sealed, "totp_last_step": step}, "totp-on")
        return True

    def seal_plaintext_secrets(self, actor: str = "system:accounts") -> int:
        """Seal TOTP secrets stored in the clear (before 0009) or under an older key; audited.

        Runs by itself before the first login a service instance handles, so an upgraded office
        has no plaintext secret left once anyone has logged in; the CLI can call it directly.
        """
        with self._audit.transaction() as conn:
            rows = conn.execute(
                select(accounts.c.username, accounts.c.totp_secret).where(accounts.c.totp_secret.is_not(None))
            ).all()
            stale: list[str] = []
            for username, stored in rows:
                if not self._sealer.needs_reseal(stored):
                    continue
                try:
                    sealed = self._sealer.seal(username, self._sealer.open(username, stored))
                except IntegrityError:
                    continue  # unreadable: left as it is, its logins fail as "totp-unreadable"
                conn.execute(update(accounts).where(accounts.c.username == username).values(totp_secret=sealed))
                stale.append(username)
            if stale:
                details = {"op": "totp-sealed", "accounts": sorted(stale)}
                self._audit.append(actor, Action.CHANGE, ACCOUNT, None, None, details, conn=conn)
        self._legacy_checked = True
        return len(stale)

    def disable_totp(self, actor: str, username: str) -> None:
        self._change(actor, username, {"totp_secret": None, "totp_last_step": None}, "totp-off")

    def search(self, actor: str) -> list[Account]:
        with self._audit.transaction() as conn:
            found = [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.username))]
            self._audit.append(actor, Action.SEARCH, ACCOUNT, None, None, {"results": len(found)}, conn=conn)
        return found

    def now(self) -> datetime:
        """The service's clock (token states are relative to it)."""
        return self._clock()

    def get(self, username: str) -> Account:
        with self._engine.connect() as conn:
            return self._load(conn, username)

    # -- logins and sessions -------------------------------------------------------------------

    def login(self, username: str, password: str, code: str | None, client: str | None = None) -> Login:
        """Check the credentials; on success open a session. Every outcome is an audit entry.

        Unknown, disabled and locked accounts still run one full password verification (against
        a dummy hash of the current cost), so the answer's timing does not say which names exist.
        """
        client_note = (client or "")[:100] or None
        if not self._legacy_checked:
            self.seal_plaintext_secrets()
        passwords.prepare_dummy(self._cost)
        with self._audit.transaction() as conn:
            row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
            reason: str | None
            if row is None:
                passwords.verify_dummy(password, self._cost)
                reason = "unknown-user"
            else:
                reason = self._check(conn, row, password, code)
            if reason is None:
                assert row is not None
                return self._open_session(conn, row, client_note)
            self._audit.append(
                ANONYMOUS,
                Action.LOGIN_FAILED,
                ObjectType.SESSION,
                username[:64] or None,
                None,
                {"reason": reason, "client": client_note},
                conn=conn,
            )
        raise LoginFailedError(_REFUSED)

    def _check(self, conn: Connection, row: Any, password: str, code: str | None) -> str | None:
        """Why this attempt fails (recorded, never shown), or ``None``; counts failures, locks."""
        now = self._clock()
        locked_until = _utc(row.locked_until)
        if row.disabled:
            passwords.verify_dummy(password, self._cost)
            return "disabled"
        if locked_until is not None and locked_until > now:
            passwords.verify_dummy(password, self._cost)
            return "locked"
        reason: str | None = None
        step: int | None = None
        if not passwords.verify_password(password, row.password_hash):
            reason = "bad-password"
        elif row.totp_secret is not None:
            try:
                secret = self._sealer.open(row.username, row.totp_secret)
            except IntegrityError:  # tampered, moved between accounts, or sealed by a lost key
                reason = "totp-unreadable"
            else:
                step = totp.matching_step(secret, code or "", now, row.totp_last_step)
                reason = None if step is not None else ("totp-missing" if not code else "bad-totp")
        if reason is None:
            values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
            if step is not None:
                values["totp_last_step"] = step
            if passwords.needs_rehash(row.password_hash, self._cost):
                values["password_hash"] = self._rehash(conn, row, password)
            conn.execute(update(accounts).where(accounts.c.username == row.username).values(**values))
            return None
        failures = (0 if locked_until is not None else int(row.failed_logins)) + 1
        lock = now + self.policy.lockout if failures >= self.policy.max_failures else None
        conn.execute(
            update(accounts)
            .where(accounts.c.username == row.username)
            .values(failed_logins=0 if lock else failures, locked_until=lock)
        )
        if lock is not None:
            self._audit.append(
                ANONYMOUS,
                Action.CHANGE,
                ACCOUNT,
                row.username,
                None,
                {"op": "locked", "failures": failures, "until": lock.isoformat()},
                conn=conn,
            )
        return reason

    def _rehash(self, conn: Connection, row: Any, password: str) -> str:
        """The password hashed with today's scheme and cost, replacing a scrypt hash or an older
        argon2 cost; the only moment the clear password is at hand. Audited with the schemes'
        names and parameters only, so the log shows when each account was upgraded."""
        digest = passwords.hash_password(password, self._cost)
        details = {"op": "password-rehash", "from": passwords.describe(row.password_hash), "to": self._cost.describe()}
        self._audit.append(REHASH_ACTOR, Action.CHANGE, ACCOUNT, row.username, None, details, conn=conn)
        return digest

    def _open_session(self, conn: Connection, row: Any, client: str | None) -> Login:
        now = self._clock()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + self.policy.session_lifetime
        digest = _token_hash(token)
        conn.execute(
            account_sessions.insert().values(
                token_hash=digest,
                username=row.username,
                csrf_token=csrf,
                client=client,
                created_at=now,
                last_seen=now,
                expires_at=expires,
                ended_at=None,
            )
        )
        self._audit.append(
            row.username,
            Action.LOGIN,
            ObjectType.SESSION,
            digest[:16],
            None,
            {"client": client, "totp": row.totp_secret is not None},
            conn=conn,
        )
        account = self._load(conn, row.username)
        return Login(token, Session(account=account, token_hash=digest, csrf_token=csrf, expires_at=expires))

    def session(self, token: str) -> Session | None:
        """The live session behind a cookie, or ``None`` (expired, idle, ended, disabled account)."""
        if not token:
            return None
        digest, now = _token_hash(token), self._clock()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(account_sessions, accounts.c.disabled)
                .join(accounts, accounts.c.username == account_sessions.c.username)
                .where(account_sessions.c.token_hash == digest)
            ).first()
            if row is None or row.ended_at is not None or row.disabled:
                return None
            last_seen, expires = _utc(row.last_seen), _utc(row.expires_at)
            assert last_seen is not None and expires is not None
            if expires <= now or last_seen + self.policy.idle_timeout <= now:
                return None
            account = self._load(conn, row.username)
        if now - last_seen >= _TOUCH_EVERY:
            with self._engine.begin() as conn:
                conn.execute(
                    update(account_sessions).where(account_sessions.c.token_hash == digest).values(last_seen=now)
                )
        return Session(account=account, token_hash=digest, csrf_token=row.csrf_token, expires_at=expires)

    def logout(self, session: Session) -> None:
        with self._audit.transaction() as conn:
            conn.execute(
                update(account_sessions)
                .where(account_sessions.c.token_hash == session.token_hash)
                .values(ended_at=self._clock())
            )
            self._audit.append(
                session.account.username,
                Action.CHANGE,
                ObjectType.SESSION,
                session.token_hash[:16],
                None,
                {"op": "logout"},
                conn=conn,
            )

    # -- internals -----------------------------------------------------------------------------

    def _load(self, conn: Connection, username: str) -> Account:
        row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"no user {username!r}")
        return _account(row)

    def _change(
        self, actor: str, username: str, values: dict[str, Any], op: str, details: dict[str, Any] | None = None
    ) -> None:
        with self._audit.transaction() as conn:
            self._load(conn, username)
            conn.execute(
                update(accounts).where(accounts.c.username == username).values(updated_at=self._clock(), **values)
            )
            if op in ("password", "disable", "roles"):
                conn.execute(
                    update(account_sessions)
                    .where(account_sessions.c.username == username, account_sessions.c.ended_at.is_(None))
                    .values(ended_at=self._clock())
                )
            if op == "password":
                revoked = conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.username == username, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=self._clock(), revoked_by=actor)
                ).rowcount
                details = {**(details or {}), "tokens_revoked": revoked}
            self._audit.append(actor, Action.CHANGE, ACCOUNT, username, None, {"op": op, **(details or {})}, conn=conn)
