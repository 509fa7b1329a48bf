"""Password hashes: scrypt (memory-hard, in ``cryptography``) with a per-user random salt.

The stored form names its parameters (``scrypt$n$r$p$salt$hash``, base64 without padding), so the
cost can be raised later and old hashes still verify; :func:`needs_rehash` says when to upgrade
one at the next successful login. The default (n=2^15, r=8: 32 MiB per attempt) keeps a login
near 0.1-0.2 s on a small server while making GPU guessing expensive.
"""

from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from watchhouse.core.errors import UsageError

MIN_LENGTH = 12
MAX_LENGTH = 1024
_SALT_BYTES = 16
_HASH_BYTES = 32


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**15
    r: int = 8
    p: int = 1


def check_strength(password: str) -> None:
    """Length is what matters (NIST SP 800-63B); composition rules only produce Password1!."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise UsageError(f"a password may have at most {MAX_LENGTH} characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    kdf = Scrypt(salt=salt, length=_HASH_BYTES, n=cost.n, r=cost.r, p=cost.p)
    return kdf.derive(password.encode("utf-8"))


def hash_password(password: str, cost: ScryptCost) -> str:
    salt = os.urandom(_SALT_BYTES)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(_derive(password, salt, cost))}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        return ScryptCost(int(parts[1]), int(parts[2]), int(parts[3])), _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash never verifies."""
    parsed = _parse(stored)
    if parsed is None or len(password) > MAX_LENGTH:
        return False
    cost, salt, expected = parsed
    return hmac.compare_digest(_derive(password, salt, cost), expected)


def needs_rehash(stored: str, cost: ScryptCost) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[0] != cost


def burn(password: str, cost: ScryptCost) -> None:
    """Spend the same work as a real check, so an unknown user name answers as slowly as a known one."""
    _derive(password[:MAX_LENGTH], b"\0" * _SALT_BYTES, cost)
