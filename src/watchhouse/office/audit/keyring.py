"""The public keys that have signed this log's checkpoints, by key id (ADR 0010).

A rotation replaces the private key, but every checkpoint signed before it must still verify, so
the public half of each key is kept in a keyring file beside the signing key
(``audit-keyring.json``). A key that was rotated out records ``retired_after``: the size of the
log when it stopped signing, so a checkpoint it signs over a bigger tree (a stolen old key put
back to work) is refused. An office that never rotated has no keyring file: its one key is the
current signing key.

:class:`KeyStore` is what a running office holds: the signing key is re-read when its file is
replaced, so a rotation done by ``watchhouse audit rotate-key`` in another process is picked up
by a running server before its next checkpoint instead of leaving it signing with a retired key.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.audit.signing import Signer, key_id, load_or_create_private_key, public_pem

KEYRING_FORMAT = "watchhouse-audit-keyring/v1"


@dataclass(frozen=True)
class KnownKey:
    key_id: str
    public_key: Ed25519PublicKey
    added_at: str | None = None
    retired_after: int | None = None
    """Log size at the rotation that retired this key; ``None`` while it still signs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "public_key": public_pem(self.public_key),
            "added_at": self.added_at,
            "retired_after": self.retired_after,
        }


class Keyring:
    """Public keys by key id; the order is the order they were put to work."""

    def __init__(self, keys: Iterable[KnownKey] = ()) -> None:
        self._keys: dict[str, KnownKey] = {}
        for known in keys:
            self._keys[known.key_id] = known

    @classmethod
    def of(cls, *public_keys: Ed25519PublicKey) -> Keyring:
        """Keys an auditor trusts from elsewhere (``--public-key``), none of them retired."""
        return cls(KnownKey(key_id(k), k) for k in public_keys)

    def get(self, wanted: str) -> KnownKey | None:
        return self._keys.get(wanted)

    def __iter__(self) -> Iterator[KnownKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def with_rotation(self, old: Ed25519PublicKey, new: Ed25519PublicKey, retired_after: int, at: str) -> Keyring:
        old_id = key_id(old)
        kept = self._keys.get(old_id) or KnownKey(old_id, old)
        keys = [k for k in self if k.key_id not in (old_id, key_id(new))]
        return Keyring([*keys, replace(kept, retired_after=retired_after), KnownKey(key_id(new), new, at)])

    def to_json(self) -> str:
        return json.dumps({"format": KEYRING_FORMAT, "keys": [k.to_dict() for k in self]}, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != KEYRING_FORMAT:
                raise ValueError(f"not a {KEYRING_FORMAT} file")
            return cls(_known(item) for item in data["keys"])
        except OSError as exc:
            raise InputError(f"cannot read the audit keyring: {exc.strerror}", path=str(path)) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"the audit keyring is malformed: {exc}", path=str(path)) from exc

    def save(self, path: Path) -> None:
        """Replace the file atomically: a reader sees the old keyring or the new one, never half."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)


def _known(item: dict[str, Any]) -> KnownKey:
    public = load_pem_public_key(str(item["public_key"]).encode("ascii"))
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError(f"key {item.get('key_id')} is not an Ed25519 public key")
    if key_id(public) != item["key_id"]:
        raise ValueError(f"key id {item['key_id']} does not name the public key stored with it")
    retired = item.get("retired_after")
    return KnownKey(item["key_id"], public, item.get("added_at"), None if retired is None else int(retired))


class KeyStore:
    """The office's signing key file and keyring file, re-read when another process rotates."""

    def __init__(self, signing_key: Path, keyring_file: Path | None = None) -> None:
        self.signing_key = signing_key
        self.keyring_file = keyring_file or signing_key.with_name("audit-keyring.json")
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._signer: Signer | None = None

    def signer(self) -> Signer:
        with self._lock:
            stamp = _stamp(self.signing_key)
            if self._signer is None or stamp != self._stamp:
                self._signer = Signer(load_or_create_private_key(self.signing_key))
                self._stamp = _stamp(self.signing_key)
            return self._signer

    def stage(self, new: Signer) -> Path:
        """Write the incoming private key beside the current one (0600) before anything commits."""
        staged = self.signing_key.with_name(self.signing_key.name + ".next")
        try:
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(
                f"{staged} exists: an earlier rotation was interrupted. If the keyring lists its key as the "
                "newest, move it over the signing key; otherwise delete it, then rotate again"
            ) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(new.private_pem())
            handle.flush()
            os.fsync(handle.fileno())
        return staged

    def install(self, staged: Path, keyring: Keyring) -> None:
        """Record the keyring, then replace the signing key (the old private key is gone after this)."""
        keyring.save(self.keyring_file)
        staged.replace(self.signing_key)

    def keyring(self) -> Keyring:
        """The keyring file's keys plus the current signing key (an office that never rotated)."""
        current = self.signer().public_key
        ring = Keyring.load(self.keyring_file) if self.keyring_file.exists() else Keyring()
        if ring.get(key_id(current)) is None:
            ring = Keyring([*ring, KnownKey(key_id(current), current)])
        return ring


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)
