"""TOTP secrets sealed at rest with AES-256-GCM, so a copy of the database cannot mint codes.

A TOTP secret is a long-lived shared key: whoever reads it can produce every future code, so it
must not sit in the accounts table in the clear the way a password *hash* can. The key is a
32-byte file in the office home (``totp-secrets.key``, hex, created 0600 and refused when group or
others may read it), like the identity vault's. The stored form names the key that sealed it
(``totp1:<key id>:<base64 nonce+ciphertext>``) so a key can be replaced: the sealer opens with any
key it was given and :meth:`TotpSealer.needs_reseal` says when to rewrap under the current one.
The user name is the associated data, so a sealed secret copied onto another account fails to
open instead of silently giving that account someone else's second factor.

A bare base32 value is a secret stored before sealing existed; the account service seals such
values on first use after the upgrade (the migration cannot: it has no key).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from watchhouse.office.errors import IntegrityError
from watchhouse.office.keyfiles import load_or_create_key

KEY_BYTES = 32
PREFIX = "totp1"
_NONCE = 12


def load_or_create_totp_key(path: Path) -> bytes:
    """The TOTP sealing key; created 0600 on first use, refused when others may read it."""
    return load_or_create_key(path, "TOTP key", KEY_BYTES)


def key_id(key: bytes) -> str:
    """Names a key in each sealed value without saying anything about the key."""
    return hashlib.sha256(b"watchhouse-totp-key\x00" + key).hexdigest()[:16]


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX + ":")


def _aad(username: str) -> bytes:
    return b"watchhouse-totp/" + username.encode("utf-8")


class TotpSealer:
    """Seals under the first key; opens with any of them (older keys stay readable until rewrapped)."""

    def __init__(self, key: bytes, *older: bytes) -> None:
        keys: Sequence[bytes] = (key, *older)
        if any(len(k) != KEY_BYTES for k in keys):
            raise ValueError(f"TOTP keys are {KEY_BYTES} bytes")
        self.key_id = key_id(key)
        self._aeads = {key_id(k): AESGCM(k) for k in keys}

    def seal(self, username: str, secret: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aeads[self.key_id].encrypt(nonce, secret.encode("ascii"), _aad(username))
        return f"{PREFIX}:{self.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, username: str, stored: str) -> str:
        """The base32 secret; a legacy plaintext value is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            _, kid, payload = stored.split(":", 2)
            raw = base64.urlsafe_b64decode(payload.encode("ascii"))
        except ValueError:
            raise IntegrityError(f"the TOTP secret of {username} is malformed") from None
        aead = self._aeads.get(kid)
        if aead is None:
            raise IntegrityError(f"the TOTP secret of {username} was sealed with an unknown key ({kid})")
        try:
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(username)).decode("ascii")
        except InvalidTag:
            raise IntegrityError(f"the TOTP secret of {username} does not authenticate (moved or altered)") from None

    def needs_reseal(self, stored: str) -> bool:
        return not stored.startswith(f"{PREFIX}:{self.key_id}:")
