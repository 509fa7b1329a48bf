"""Pieces without a database: TOTP (RFC 6238 vectors), argon2id hashes, the role table, bind checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchhouse.cli.serve_cmd import check_bind, is_loopback
from watchhouse.core.errors import UsageError
from watchhouse.office.accounts import passwords, totp
from watchhouse.office.accounts.roles import PERMISSIONS, Permission, Role, allowed, parse_roles
from watchhouse.web.context import ClientLimiter

from .web_helpers import CHEAP

RFC_KEY = b"12345678901234567890"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (20000000000, "65353130")],
)
def test_totp_matches_rfc_6238_sha1_vectors(seconds: int, expected: str) -> None:
    assert totp.hotp(RFC_KEY, seconds // totp.STEP_SECONDS, digits=8) == expected


def test_totp_accepts_one_step_of_drift_and_refuses_replay_and_junk() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    code = totp.code_at(secret, now)
    step = totp.matching_step(secret, code, now)
    assert step == totp.step_of(now)
    assert totp.matching_step(secret, code, datetime(2026, 3, 2, 9, 0, 44, tzinfo=UTC)) == step
    assert totp.matching_step(secret, code, datetime(2026, 3, 2, 9, 2, 0, tzinfo=UTC)) is None
    assert totp.matching_step(secret, code, now, after=step) is None  # replay of a used step
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None
    assert totp.matching_step(secret, code[:5] + "\u00b2", now) is None  # a digit to str.isdigit; compare_digest raised
    assert totp.provisioning_uri(secret, "ana").startswith("otpauth://totp/Watchhouse%3Aana?secret=")


def test_password_hashes_are_salted_and_verify_only_the_right_password() -> None:
    first, second = (
        passwords.hash_password("a long passphrase", CHEAP),
        passwords.hash_password("a long passphrase", CHEAP),
    )
    assert first != second and first.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert passwords.verify_password("a long passphrase", first)
    assert not passwords.verify_password("a long passphrasE", first)
    assert not passwords.verify_password("a long passphrase", "md5$abc")
    assert passwords.needs_rehash(first, passwords.PasswordCost())
    assert not passwords.needs_rehash(first, CHEAP)
    with pytest.raises(UsageError, match="at least 12"):
        passwords.check_strength("short")


def test_permission_table_keeps_auditors_to_the_audit_log() -> None:
    assert set(PERMISSIONS) == set(Permission)
    auditor = (Role.AUDITOR,)
    assert allowed(auditor, Permission.AUDIT_READ)
    assert not any(allowed(auditor, p) for p in Permission if p is not Permission.AUDIT_READ)
    assert not allowed((Role.ANALYST,), Permission.EVIDENCE_EXPORT)
    assert all(allowed((Role.ADMIN,), p) for p in Permission)
    assert parse_roles("legal, analyst") == (Role.ANALYST, Role.LEGAL)
    with pytest.raises(ValueError, match="unknown role 'root'"):
        parse_roles("root")


def test_serve_refuses_non_loopback_addresses_without_public() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert check_bind("127.0.0.1", public=False) is None
    with pytest.raises(UsageError, match="--public"):
        check_bind("0.0.0.0", public=False)
    warning = check_bind("192.0.2.10", public=True)
    assert warning is not None and "warning" in warning


def test_client_limiter_slides_its_window() -> None:
    now = [0.0]
    limiter = ClientLimiter(limit=2, window_s=10, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")
    now[0] = 10.5
    assert limiter.allow("a")
