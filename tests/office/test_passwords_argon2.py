"""argon2id password hashes: new hashes, scrypt hashes upgraded at login, tampered rows refused.

Accounts from before argon2 carry ``scrypt$n$r$p$salt$hash`` rows; these tests write such rows
the way the old code did (independently of the module under test) and check that they keep
working exactly once more, then turn into argon2id with an audit entry that holds no secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts import passwords
from watchhouse.office.accounts.models import LoginFailedError
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.service import REHASH_ACTOR, AccountService
from watchhouse.office.accounts.tables import accounts
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.services import OfficeLocation, open_office
from watchhouse.web.app import create_app
from watchhouse.web.settings import WebSettings

from .audit_helpers import make_log

PASSWORD = "correct horse battery staple"
CHEAP = PasswordCost(time_cost=1, memory_kib=1024, parallelism=1)
CHEAPER_THAN_BEFORE = PasswordCost(time_cost=2, memory_kib=2048, parallelism=2)


def legacy_scrypt(password: str, n: int = 2**10, r: int = 8, p: int = 1) -> str:
    """A hash as the pre-argon2 code stored it: ``scrypt$n$r$p$salt$hash``, base64 unpadded."""
    salt = bytes(range(16))
    digest = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii").rstrip("=")

    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


class FixedClock:
    def __call__(self) -> datetime:
        return datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, AuditLog]]:
    engine, log = make_log(db_url, tmp_path / "audit.key")
    yield engine, log
    engine.dispose()


def _service(setup: tuple[Engine, AuditLog], cost: PasswordCost = CHEAP) -> AccountService:
    engine, log = setup
    return AccountService(engine, log, FixedClock(), cost, totp_key=bytes(range(32)))


def _hash_of(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(accounts.c.password_hash).where(accounts.c.username == username)).scalar_one())


def _store(engine: Engine, username: str, stored: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.username == username).values(password_hash=stored))


def _rehash_entries(log: AuditLog) -> list[dict[str, object]]:
    return [e.details for e in log.tail(50) if e.details.get("op") == "password-rehash"]


# -- the hash module ---------------------------------------------------------------------------


def test_default_cost_is_rfc_9106_second_option_and_hashes_are_argon2id_phc() -> None:
    stored = passwords.hash_password(PASSWORD, PasswordCost())
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    params = extract_parameters(stored)
    assert (params.salt_len, params.hash_len) == (16, 32)
    assert PasswordHasher().verify(stored, PASSWORD)  # readable by any argon2 implementation
    assert passwords.verify_password(PASSWORD, stored)
    assert not passwords.verify_password(PASSWORD + " ", stored)
    assert passwords.describe(stored) == "argon2id m=65536,t=3,p=4" == PasswordCost().describe()


def test_rehash_is_needed_for_scrypt_and_for_changed_argon2_parameters() -> None:
    cheap = passwords.hash_password(PASSWORD, CHEAP)
    assert not passwords.needs_rehash(cheap, CHEAP)
    assert passwords.needs_rehash(cheap, CHEAPER_THAN_BEFORE)
    assert passwords.needs_rehash(cheap, PasswordCost(time_cost=1, memory_kib=1024, parallelism=2))
    assert passwords.needs_rehash(legacy_scrypt(PASSWORD), CHEAP)
    assert passwords.needs_rehash("$argon2id$garbage", CHEAP)


@pytest.mark.parametrize(
    "bad",
    [
        {"time_cost": 0},
        {"parallelism": 0},
        {"memory_kib": 4},  # argon2 needs 8 KiB per lane
        {"memory_kib": 4 * 1024 * 1024},
    ],
)
def test_impossible_or_absurd_costs_are_refused_at_configuration(bad: dict[str, int]) -> None:
    with pytest.raises(UsageError, match="argon2"):
        PasswordCost(**bad)


def _tampered(stored: str) -> list[str]:
    head, salt, digest = stored.rsplit("$", 2)
    flipped = digest[:5] + ("A" if digest[5] != "A" else "B") + digest[6:]
    return [
        f"{head}${salt}${flipped}",  # one digest character changed
        f"{head}${salt[:-1]}!${digest}",  # salt no longer base64
        f"{head}${salt}",  # digest cut off
        stored.replace("m=1024", "m=abc"),
        stored.replace("m=1024", "m=4194304"),  # 4 GiB per attempt: refused before any allocation
        stored.replace("t=1", "t=0"),
        stored.replace("$argon2id$", "$argon2i$"),  # another variant than the one we write
        stored.replace("v=19", "v=99"),
        stored.replace("$argon2id$", "$argon2id$é"),
        "",
        "md5$abc",
        legacy_scrypt(PASSWORD).replace("scrypt$1024$", "scrypt$1000$"),  # n must be a power of two
        legacy_scrypt(PASSWORD).replace("scrypt$1024$", "scrypt$1073741824$"),  # 128 GiB
        legacy_scrypt(PASSWORD)[:-4],
    ]


def test_tampered_hashes_never_verify_and_never_raise() -> None:
    stored = passwords.hash_password(PASSWORD, CHEAP)
    assert passwords.verify_password(PASSWORD, stored)
    for bad in _tampered(stored):
        assert not passwords.verify_password(PASSWORD, bad), bad


# -- the account service -----------------------------------------------------------------------


def test_new_accounts_and_new_passwords_get_argon2id(setup: tuple[Engine, AuditLog]) -> None:
    engine, _ = setup
    service = _service(setup)
    service.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    first = _hash_of(engine, "ana")
    assert first.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    service.set_password("local:admin", "ana", "another long passphrase")
    second = _hash_of(engine, "ana")
    assert second.startswith("$argon2id$") and second != first
    assert service.login("ana", "another long passphrase", None).session.account.username == "ana"


def test_a_stored_scrypt_hash_logs_in_once_and_is_upgraded_with_an_audit_entry(
    setup: tuple[Engine, AuditLog],
) -> None:
    engine, log = setup
    service = _service(setup)
    service.add("local:admin", "ana", "placeholder passphrase", [Role.ANALYST])
    legacy = legacy_scrypt(PASSWORD)
    _store(engine, "ana", legacy)  # what the office stored before argon2

    with pytest.raises(LoginFailedError):
        service.login("ana", "wrong passphrase here", None)
    assert _hash_of(engine, "ana") == legacy, "a failed login must not touch the hash"

    service.login("ana", PASSWORD, None, "192.0.2.10")
    upgraded = _hash_of(engine, "ana")
    assert upgraded.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PasswordHasher().verify(upgraded, PASSWORD)
    entry = next(e for e in log.tail(5) if e.details.get("op") == "password-rehash")
    assert (entry.actor, entry.object_id) == (REHASH_ACTOR, "ana")
    assert entry.details == {"op": "password-rehash", "from": "scrypt n=1024,r=8,p=1", "to": CHEAP.describe()}
    written = repr(entry)
    for secret in (PASSWORD, legacy.split("$")[4], legacy.split("$")[5], upgraded.rsplit("$", 2)[1]):
        assert secret not in written

    service.login("ana", PASSWORD, None)
    assert _hash_of(engine, "ana") == upgraded, "an up-to-date hash is left alone"
    assert len(_rehash_entries(log)) == 1
    with pytest.raises(LoginFailedError):
        service.login("ana", "wrong passphrase here", None)


def test_changed_parameters_rehash_at_the_next_login(setup: tuple[Engine, AuditLog]) -> None:
    engine, log = setup
    _service(setup).add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    raised = _service(setup, CHEAPER_THAN_BEFORE)
    with pytest.raises(LoginFailedError):
        raised.login("ana", "wrong passphrase here", None)
    assert "t=1" in _hash_of(engine, "ana")
    raised.login("ana", PASSWORD, None)
    assert _hash_of(engine, "ana").startswith("$argon2id$v=19$m=2048,t=2,p=2$")
    assert _rehash_entries(log) == [
        {"op": "password-rehash", "from": "argon2id m=1024,t=1,p=1", "to": "argon2id m=2048,t=2,p=2"}
    ]


def test_a_tampered_stored_hash_refuses_the_login(setup: tuple[Engine, AuditLog]) -> None:
    engine, log = setup
    service = _service(setup)
    service.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    for bad in _tampered(_hash_of(engine, "ana")):
        _store(engine, "ana", bad)
        service.enable("local:admin", "ana")  # clears the lockout the failures below build up
        with pytest.raises(LoginFailedError):
            service.login("ana", PASSWORD, None)
        assert log.tail(1)[0].details["reason"] == "bad-password", bad
        assert _hash_of(engine, "ana") == bad


def test_unknown_disabled_and_known_users_take_the_same_verification_path(
    setup: tuple[Engine, AuditLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each refused login runs one full argon2id verification at the configured cost, so the
    time to answer does not tell which user names exist."""
    engine, _ = setup
    service = _service(setup, CHEAPER_THAN_BEFORE)
    service.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
    service.add("local:admin", "bob", PASSWORD, [Role.ANALYST])
    service.disable("local:admin", "bob")
    checked: list[str] = []
    real = passwords.verify_password

    def spy(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password", spy)
    for name in ("ana", "bob", "nobody"):
        with pytest.raises(LoginFailedError):
            service.login(name, "wrong passphrase here", None)
    assert len(checked) == 3
    assert checked[0] == _hash_of(engine, "ana")
    for stored in checked:
        assert extract_parameters(stored) == extract_parameters(checked[0])


def test_the_api_answers_a_tampered_hash_with_a_refused_login_not_an_error(db_url: str, tmp_path: Path) -> None:
    where = OfficeLocation(db_url, tmp_path / "audit-signing.key", tmp_path / "evidence", password_cost=CHEAP)
    office = open_office(where)
    try:
        office.accounts.add("local:admin", "ana", PASSWORD, [Role.ANALYST])
        client = TestClient(create_app(office, WebSettings()), base_url="https://testserver")
        body = {"username": "ana", "password": PASSWORD, "totp": None}
        assert client.post("/api/v1/session", json=body).status_code == 200
        _store(office.engine, "ana", _hash_of(office.engine, "ana").replace("m=1024", "m=abc"))
        refused = TestClient(create_app(office, WebSettings()), base_url="https://testserver")
        answer = refused.post("/api/v1/session", json=body)
        assert answer.status_code == 401, answer.text
    finally:
        office.close()
