"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), with ``hmac`` and nothing else.

SHA-1, 30-second steps and 6 digits are what authenticator apps implement; a code is accepted for
the current step and one step either side (clock drift), and the account remembers the last step
used so the same code cannot be replayed inside its window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from datetime import datetime
from urllib.parse import quote

from watchhouse.core.digits import ascii_digits

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """160 random bits in base32, the form authenticator apps accept."""
    return base64.b32encode(os.urandom(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.strip().replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3: HMAC, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    return hotp(_key(secret), step_of(moment))


def matching_step(secret: str, code: str, moment: datetime, after: int | None = None) -> int | None:
    """The step whose code equals ``code`` (current ±1), newer than ``after``; ``None`` if none."""
    code = code.strip()
    if len(code) != DIGITS or not ascii_digits(code):
        return None
    key, now = _key(secret), step_of(moment)
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str, issuer: str = "Watchhouse") -> str:
    """``otpauth://`` URI for an authenticator app (shown once, when the factor is enabled)."""
    label = quote(f"{issuer}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP_SECONDS}"
