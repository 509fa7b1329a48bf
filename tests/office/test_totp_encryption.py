"""TOTP secrets at rest: sealed with AES-256-GCM, bound to their account, legacy plaintext sealed on first use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.accounts import totp
from watchhouse.office.accounts.models import LoginFailedError
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.sealing import TotpSealer, is_sealed, load_or_create_totp_key
from watchhouse.office.accounts.service import AccountService
from watchhouse.office.accounts.tables import accounts
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import IntegrityError

from .audit_helpers import make_log

PASSWORD = "correct horse battery staple"
CHEAP = PasswordCost(time_cost=1, memory_kib=1024, parallelism=1)


class FixedClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, AuditLog, Path]]:
    engine, log = make_log(db_url, tmp_path / "audit.key")
    yield engine, log, tmp_path
    engine.dispose()


def _service(log: AuditLog, engine: Engine, clock: FixedClock, key: bytes | None) -> AccountService:
    return AccountService(engine, log, clock, CHEAP, totp_key=key)


def _stored(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(accounts.c.totp_secret).where(accounts.c.username == username)).scalar_one())


def test_enabled_secret_is_sealed_in_the_database_and_still_logs_in(setup: tuple[Engine, AuditLog, Path]) -> None:
    engine, log, home = setup
    clock = FixedClock()
    service = _service(log, engine, clock, load_or_create_totp_key(home / "totp-secrets.key"))
    service.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    secret = service.enable_totp("local:admin", "ana")
    stored = _stored(engine, "ana")
    assert is_sealed(stored) and secret not in stored and len(stored) <= 255
    with pytest.raises(LoginFailedError):
        service.login("ana", PASSWORD, "000000" if totp.code_at(secret, clock.now) != "000000" else "111111")
    assert service.login("ana", PASSWORD, totp.code_at(secret, clock.now)).session.account.totp_enabled


def test_key_file_is_created_0600_and_refused_when_others_may_read_it(tmp_path: Path) -> None:
    path = tmp_path / "home" / "totp-secrets.key"
    key = load_or_create_totp_key(path)
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600
    assert load_or_create_totp_key(path) == key
    path.chmod(0o644)
    with pytest.raises(InputError, match="readable by others"):
        load_or_create_totp_key(path)
    path.chmod(0o600)
    path.write_text("abcd\n")
    with pytest.raises(InputError, match="32 bytes"):
        load_or_create_totp_key(path)


def test_a_sealed_secret_moved_to_another_account_or_altered_does_not_open() -> None:
    sealer = TotpSealer(bytes(range(32)))
    secret = totp.new_secret()
    sealed = sealer.seal("ana", secret)
    assert sealer.open("ana", sealed) == secret
    with pytest.raises(IntegrityError, match="does not authenticate"):
        sealer.open("bob", sealed)
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(IntegrityError):
        sealer.open("ana", flipped)
    with pytest.raises(IntegrityError, match="unknown key"):
        TotpSealer(bytes(32)).open("ana", sealed)
    assert sealer.seal("ana", secret) != sealed  # fresh nonce every time


def test_moved_secret_refuses_the_login_and_says_why_in_the_audit_log(setup: tuple[Engine, AuditLog, Path]) -> None:
    engine, log, _ = setup
    clock = FixedClock()
    service = _service(log, engine, clock, bytes(range(32)))
    for name in ("ana", "bob"):
        service.add("local:admin", name, PASSWORD, [Role.ANALYST])
    secret = service.enable_totp("local:admin", "ana")
    with engine.begin() as conn:  # a database insider copies ana's factor onto bob
        conn.execute(update(accounts).where(accounts.c.username == "bob").values(totp_secret=_stored(engine, "ana")))
    with pytest.raises(LoginFailedError):
        service.login("bob", PASSWORD, totp.code_at(secret, clock.now))
    assert log.tail(1)[0].details["reason"] == "totp-unreadable"


def test_plaintext_secrets_from_before_the_upgrade_are_sealed_on_first_use(
    setup: tuple[Engine, AuditLog, Path],
) -> None:
    engine, log, _ = setup
    clock = FixedClock()
    service = _service(log, engine, clock, bytes(range(32)))
    service.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    service.add("local:admin", "bob", PASSWORD, [Role.ANALYST])
    legacy = {"ana": totp.new_secret(), "bob": totp.new_secret()}
    with engine.begin() as conn:  # what 0007_accounts stored: the bare base32 secret
        for name, secret in legacy.items():
            conn.execute(update(accounts).where(accounts.c.username == name).values(totp_secret=secret))
    fresh = _service(log, engine, clock, bytes(range(32)))  # the office restarted after the upgrade
    assert fresh.login("ana", PASSWORD, totp.code_at(legacy["ana"], clock.now)).session.account.username == "ana"
    for name, secret in legacy.items():  # both sealed, bob's too although bob has not logged in
        assert is_sealed(_stored(engine, name)) and secret not in _stored(engine, name)
    sealed_entry = next(e for e in log.tail(5) if e.details.get("op") == "totp-sealed")
    assert sealed_entry.details["accounts"] == ["ana", "bob"]
    assert fresh.seal_plaintext_secrets() == 0
    clock.now = clock.now.replace(minute=5)
    assert fresh.login("bob", PASSWORD, totp.code_at(legacy["bob"], clock.now)).session.account.username == "bob"


def test_secrets_sealed_under_the_derived_key_move_to_a_key_file_at_next_use(
    setup: tuple[Engine, AuditLog, Path],
) -> None:
    engine, log, home = setup
    clock = FixedClock()
    before = _service(log, engine, clock, None)  # an office opened without a TOTP key file
    before.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    secret = before.enable_totp("local:admin", "ana")
    derived_form = _stored(engine, "ana")
    key = load_or_create_totp_key(home / "totp-secrets.key")
    after = _service(log, engine, clock, key)
    assert after.login("ana", PASSWORD, totp.code_at(secret, clock.now)).session.account.username == "ana"
    rewrapped = _stored(engine, "ana")
    assert rewrapped != derived_form and TotpSealer(key).open("ana", rewrapped) == secret


def test_enrolment_turns_on_only_after_a_matching_code(setup: tuple[Engine, AuditLog, Path]) -> None:
    engine, log, _ = setup
    clock = FixedClock()
    service = _service(log, engine, clock, bytes(range(32)))
    for name in ("ana", "bob"):
        service.add("local:admin", name, PASSWORD, [Role.ANALYST])
    secret, pending = service.start_totp_enrolment("ana")
    assert not service.get("ana").totp_enabled
    wrong = "000000" if totp.code_at(secret, clock.now) != "000000" else "111111"
    assert not service.confirm_totp_enrolment("ana", "ana", pending, wrong)
    assert not service.get("ana").totp_enabled
    with pytest.raises(IntegrityError):  # a pending secret is bound to its user too
        service.confirm_totp_enrolment("bob", "bob", pending, totp.code_at(secret, clock.now))
    assert service.confirm_totp_enrolment("ana", "ana", pending, totp.code_at(secret, clock.now))
    assert service.get("ana").totp_enabled and is_sealed(_stored(engine, "ana"))
    with pytest.raises(UsageError, match="already on"):  # a session alone cannot swap the factor
        service.confirm_totp_enrolment("ana", "ana", pending, totp.code_at(secret, clock.now))
    with pytest.raises(LoginFailedError):  # the code used to enrol cannot be replayed to log in
        service.login("ana", PASSWORD, totp.code_at(secret, clock.now))
