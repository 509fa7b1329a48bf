"""Secret keys kept as 0600 hex files in the office home (identity vault, portal, TOTP sealing).

One implementation so every key gets the same guarantees: created atomically with ``O_EXCL`` (two
processes starting at once cannot each write a different key), refused when group or others may
read it (a key that leaked to other local users protects nothing), and checked for length, with
errors that name the key and the file instead of a stack trace.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from watchhouse.core.errors import InputError

KEY_BYTES = 32


def load_or_create_key(path: Path, what: str, size: int = KEY_BYTES) -> bytes:
    """The key in ``path``; a new random one is written there (0600) when the file is absent.

    ``what`` names the key in errors ("identity vault key", "portal key", ...).
    """
    try:
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise InputError(f"{what} is readable by others (mode {mode:o}); chmod 600 it", path=str(path))
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            if len(key) != size:
                raise InputError(f"{what} must be {size} bytes", path=str(path))
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(size)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex() + "\n")
        return key
    except ValueError as exc:
        raise InputError(f"{what} is not hex: {exc}", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot use the {what}: {exc.strerror}", path=str(path)) from exc
