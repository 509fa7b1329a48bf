"""The vault's AES-256 key: a 0600 file in the office home, refused when others could read it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from watchhouse.office.keyfiles import load_or_create_key

KEY_BYTES = 32


def key_id(key: bytes) -> str:
    """Which key sealed a row, without saying anything about the key itself."""
    return hashlib.sha256(b"watchhouse-identity-vault-key\x00" + key).hexdigest()[:16]


def load_or_create_vault_key(path: Path) -> bytes:
    return load_or_create_key(path, "identity vault key", KEY_BYTES)
