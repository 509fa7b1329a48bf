"""Signing-key rotation recorded in the log itself, signed by the outgoing and the incoming key.

The rotation entry's details hold a statement ``{old_key_id, new_key_id, new_public_key, at}``
and two Ed25519 signatures over its canonical JSON (format-tagged, so neither signature can be
replayed as a tree-head signature). The old key's signature says "I hand over to this key"; the
new key's proves whoever installed it holds its private half. Verification checks both against
the keyring, so a keyring edited to slip in an attacker's key shows up as a rotation no old key
ever signed — unless the attacker also held the old private key, which rotation cannot help.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from watchhouse.office.audit.entries import Action, AuditEntry, ObjectType
from watchhouse.office.audit.keyring import Keyring
from watchhouse.office.audit.signing import Signer
from watchhouse.office.canonical import canonical_json

ROTATION_FORMAT = "watchhouse-audit-key-rotation/v1"


def statement(old_key_id: str, new_key_id: str, new_public_key: str, at: str) -> bytes:
    return canonical_json(
        {
            "format": ROTATION_FORMAT,
            "old_key_id": old_key_id,
            "new_key_id": new_key_id,
            "new_public_key": new_public_key,
            "at": at,
        }
    )


def rotation_details(old: Signer, new: Signer, at: str) -> dict[str, Any]:
    raw = new.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    message = statement(old.key_id, new.key_id, raw, at)
    return {
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "new_public_key": raw,
        "statement_at": at,
        "old_signature": old.sign_bytes(message),
        "new_signature": new.sign_bytes(message),
    }


def is_rotation(entry: AuditEntry) -> bool:
    return entry.action == Action.ROTATE_KEY and entry.object_type == ObjectType.AUDIT


def rotation_problem(entry: AuditEntry, keyring: Keyring) -> str | None:
    """Why this rotation entry does not prove a hand-over between two keys we know, or ``None``."""
    d = entry.details
    try:
        old_id, new_id = str(d["old_key_id"]), str(d["new_key_id"])
        message = statement(old_id, new_id, str(d["new_public_key"]), str(d["statement_at"]))
        signatures = {old_id: bytes.fromhex(str(d["old_signature"])), new_id: bytes.fromhex(str(d["new_signature"]))}
    except (KeyError, ValueError):
        return "rotation entry lacks its statement or signatures"
    for which, wanted in (("outgoing", old_id), ("incoming", new_id)):
        known = keyring.get(wanted)
        if known is None:
            return f"the {which} key {wanted[:16]} is not in the keyring (unknown key id)"
        try:
            known.public_key.verify(signatures[wanted], message)
        except InvalidSignature:
            return f"the {which} key {wanted[:16]} did not sign this rotation"
    return None
