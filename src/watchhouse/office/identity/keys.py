"""The vault's AES-256 key: a 0600 file in the office home, refused when others could read it."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from watchhouse.core.errors import InputError

KEY_BYTES = 32


def key_id(key: bytes) -> str:
    """Which key sealed a row, without saying anything about the key itself."""
    return hashlib.sha256(b"watchhouse-identity-vault-key\x00" + key).hexdigest()[:16]


def load_or_create_vault_key(path: Path) -> bytes:
    try:
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise InputError(
                    f"identity vault key is readable by others (mode {mode:o}); chmod 600 it", path=str(path)
                )
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            if len(key) != KEY_BYTES:
                raise InputError(f"identity vault key must be {KEY_BYTES} bytes", path=str(path))
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex() + "\n")
        return key
    except ValueError as exc:
        raise InputError(f"identity vault key is not hex: {exc}", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot use the identity vault key: {exc.strerror}", path=str(path)) from exc
