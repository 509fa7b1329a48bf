"""Ed25519 signatures over checkpoints (signed tree heads).

The private key lives in the office home, created 0600 on first use; the public key can be handed
to anyone who should be able to check the log without being able to write it. What is signed is
the canonical JSON of the tree head, prefixed by a fixed format tag so a signature made for a
checkpoint can never be replayed as a signature over anything else.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from watchhouse.core.errors import InputError
from watchhouse.office.canonical import canonical_json

TREE_HEAD_FORMAT = "watchhouse-audit-tree-head/v1"


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: str
    at: str
    key_id: str

    def message(self) -> bytes:
        return canonical_json(
            {
                "format": TREE_HEAD_FORMAT,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash,
                "at": self.at,
                "key_id": self.key_id,
            }
        )


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: names the key in every checkpoint so rotations show."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        if path.exists():
            key = load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise InputError("the audit signing key is not an Ed25519 key", path=str(path))
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return key
    except ValueError as exc:
        raise InputError(f"cannot read the audit signing key: {exc}", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot use the audit signing key: {exc.strerror}", path=str(path)) from exc


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the public key: {exc}", path=str(path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("not an Ed25519 public key", path=str(path))
    return key


class Signer:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, head: TreeHead) -> str:
        return self._key.sign(head.message()).hex()

    def sign_bytes(self, message: bytes) -> str:
        """For other format-tagged statements (key rotation); never a bare tree head."""
        return self._key.sign(message).hex()

    def private_pem(self) -> bytes:
        return self._key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    def derive_key(self, label: str) -> bytes:
        """A 32-byte key for another use, bound to ``label`` (HKDF-SHA-256 over the private key).

        For offices opened without a dedicated key file for that use: the signing key is already
        a 0600 secret in the office home, and HKDF with a distinct label keeps the derived key
        useless for signing and vice versa.
        """
        raw = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"watchhouse/" + label.encode()).derive(raw)


def signature_valid(public_key: Ed25519PublicKey, head: TreeHead, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), head.message())
    except (InvalidSignature, ValueError):
        return False
    return True
