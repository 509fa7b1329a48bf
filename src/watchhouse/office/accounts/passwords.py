"""Password hashes: argon2id (RFC 9106) in PHC string format, with old scrypt hashes still verifying.

New hashes are ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``: the string names its own
parameters, so the cost can be raised later and every stored hash still verifies;
:func:`needs_rehash` says when one should be replaced at the next successful login (parameters
changed, or a ``scrypt$n$r$p$salt$hash`` hash from before argon2 was adopted).

The default cost is RFC 9106's second recommended option (section 4: t=3 passes, 64 MiB, 4 lanes),
which is also ``argon2-cffi``'s default profile. The first recommended option needs 2 GiB per
attempt: a few simultaneous logins would exhaust a small office server, so it invites a denial of
service rather than stopping guessing. 64 MiB still makes each GPU guess cost far more memory
than scrypt's old 32 MiB, for about 0.2 s of CPU per login.

Stored hashes come from the database, which is trusted for integrity only so far: a hash that is
malformed, of another argon2 variant, or claims parameters far beyond any we would set never
verifies, and never raises, so a tampered row refuses a login instead of failing the request or
making one attempt allocate gigabytes.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from functools import lru_cache

from argon2 import Parameters, PasswordHasher, Type, extract_parameters
from argon2.exceptions import Argon2Error, InvalidHashError
from argon2.low_level import verify_secret
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from watchhouse.core.errors import UsageError

MIN_LENGTH = 12
MAX_LENGTH = 1024
_SALT_BYTES = 16
_HASH_BYTES = 32
_ARGON2ID = "$argon2id$"
_SCRYPT = "scrypt$"

# Ceilings on what a stored hash may ask for: ten times past the default, so raising the cost
# stays possible without touching this, while a forged row cannot turn a login into a 4 GiB job.
_MAX_MEMORY_KIB = 1024 * 1024
_MAX_TIME_COST = 32
_MAX_PARALLELISM = 16


@dataclass(frozen=True)
class PasswordCost:
    """argon2id cost of *new* hashes (stored hashes carry their own); tests lower it for speed."""

    time_cost: int = 3
    """Passes over the memory (RFC 9106 ``t``)."""
    memory_kib: int = 64 * 1024
    """Memory per attempt in KiB (RFC 9106 ``m``): what makes guessing on GPUs expensive."""
    parallelism: int = 4
    """Lanes (RFC 9106 ``p``); a login uses up to this many threads."""

    def __post_init__(self) -> None:
        if not 1 <= self.time_cost <= _MAX_TIME_COST or not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise UsageError(f"argon2 time cost must be 1-{_MAX_TIME_COST} and parallelism 1-{_MAX_PARALLELISM}")
        if not 8 * self.parallelism <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise UsageError(f"argon2 memory must be between 8 KiB per lane and {_MAX_MEMORY_KIB} KiB")

    def describe(self) -> str:
        return f"argon2id m={self.memory_kib},t={self.time_cost},p={self.parallelism}"


def check_strength(password: str) -> None:
    """Length is what matters (NIST SP 800-63B); composition rules only produce Password1!."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise UsageError(f"a password may have at most {MAX_LENGTH} characters")


@lru_cache(maxsize=8)
def _hasher(cost: PasswordCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=_HASH_BYTES,
        salt_len=_SALT_BYTES,
        type=Type.ID,
    )


@lru_cache(maxsize=8)
def _dummy_hash(cost: PasswordCost) -> str:
    """A hash of no one's password, made once per cost, for :func:`verify_dummy`."""
    return _hasher(cost).hash("no account has this password; it only spends the same work")


def hash_password(password: str, cost: PasswordCost) -> str:
    return _hasher(cost).hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (argon2id, or legacy scrypt); never raises.

    Both libraries compare in constant time; anything malformed or out of bounds is a mismatch.
    """
    if len(password) > MAX_LENGTH:
        return False
    if stored.startswith(_ARGON2ID):
        return _verify_argon2(password, stored)
    if stored.startswith(_SCRYPT):
        return _verify_scrypt(password, stored)
    return False


def prepare_dummy(cost: PasswordCost) -> None:
    """Make the dummy hash now, before looking any user up: made lazily inside the unknown-user
    branch, it would make the first unknown name answer one hash slower than a known one."""
    _dummy_hash(cost)


def verify_dummy(password: str, cost: PasswordCost) -> None:
    """Spend exactly the work of a real check, for unknown, disabled or locked accounts.

    It runs :func:`verify_password` itself against a hash made with the current cost, so the
    answer for a user name that does not exist takes the same path, and time, as a wrong
    password for one that does: response times do not reveal which accounts exist.
    """
    verify_password(password, _dummy_hash(cost))


def needs_rehash(stored: str, cost: PasswordCost) -> bool:
    """True for legacy scrypt hashes and argon2id hashes made with other parameters."""
    if not stored.startswith(_ARGON2ID):
        return True
    try:
        return _hasher(cost).check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def describe(stored: str) -> str:
    """The scheme and parameters of a stored hash, never its salt or digest (for audit entries)."""
    if stored.startswith(_ARGON2ID):
        params = _argon2_parameters(stored)
        if params is not None:
            return f"argon2id m={params.memory_cost},t={params.time_cost},p={params.parallelism}"
    elif (scrypt := _parse_scrypt(stored)) is not None:
        n, r, p, _, _ = scrypt
        return f"scrypt n={n},r={r},p={p}"
    return "unknown"


# -- argon2id ----------------------------------------------------------------------------------


def _argon2_parameters(stored: str) -> Parameters | None:
    try:
        params = extract_parameters(stored)
    except (InvalidHashError, ValueError):
        return None
    if (
        params.type is not Type.ID
        or params.memory_cost > _MAX_MEMORY_KIB
        or params.time_cost > _MAX_TIME_COST
        or params.parallelism > _MAX_PARALLELISM
    ):
        return None
    return params


def _verify_argon2(password: str, stored: str) -> bool:
    if not stored.isascii() or _argon2_parameters(stored) is None:
        return False
    try:
        return verify_secret(stored.encode("ascii"), password.encode("utf-8"), Type.ID)
    except (Argon2Error, ValueError):  # mismatch, a hash argon2 cannot decode, or unencodable text
        return False


# -- legacy scrypt (``scrypt$n$r$p$salt$hash``, before argon2id) -----------------------------------


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _parse_scrypt(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    in_bounds = n > 1 and n & (n - 1) == 0 and r >= 1 and 128 * n * r <= _MAX_MEMORY_KIB * 1024 and 1 <= p <= 16
    if not in_bounds or len(digest) != _HASH_BYTES:
        return None
    return n, r, p, salt, digest


def _verify_scrypt(password: str, stored: str) -> bool:
    parsed = _parse_scrypt(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    try:
        derived = Scrypt(salt=salt, length=_HASH_BYTES, n=n, r=r, p=p).derive(password.encode("utf-8"))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(derived, expected)
