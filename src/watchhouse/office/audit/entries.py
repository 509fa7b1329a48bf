"""Audit entries and how each one is bound to its predecessor.

An entry's hash is SHA-256 over the canonical JSON (``office.canonical``) of all its fields,
including its sequence number and the previous entry's hash; the first entry's predecessor is
:data:`GENESIS`. Changing, dropping or reordering any entry therefore changes a hash that the
next entry, and every later checkpoint, depends on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from watchhouse.office.canonical import MAX_SAFE_INTEGER, canonical_json

GENESIS = "0" * 64
FORMAT = "watchhouse-audit-entry/v1"


class Action(StrEnum):
    """What the office records. Reads are entries too: knowing who looked is the point."""

    READ = "read"
    SEARCH = "search"
    EXPORT = "export"
    EXPORT_REFUSED = "export-refused"
    REVEAL = "reveal"
    DISCLOSE = "disclose"
    LOGIN = "login"
    LOGIN_FAILED = "login-failed"
    CREATE = "create"
    CHANGE = "change"
    DESTROY = "destroy"
    CUSTODY = "custody"
    REFUSED = "refused"  # a policy said no (need-to-know, four-eyes, rate limit, transition table)
    ROTATE_KEY = "rotate-key"  # the checkpoint signing key changed (signed by both keys)


class ObjectType(StrEnum):
    ALERT = "alert"
    CASE = "case"
    EVIDENCE = "evidence"
    IDENTITY = "identity"
    SESSION = "session"
    DISCLOSURE = "disclosure"
    AUDIT = "audit"
    SUPPRESSION = "suppression"


def timestamp(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: a fixed-width text form that sorts and never round-trips lossy."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    purpose: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def body(self) -> dict[str, Any]:
        """Everything the hash covers (all fields but the hash itself)."""
        return entry_body(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            purpose=self.purpose,
            details=self.details,
            prev_hash=self.prev_hash,
        )

    def computed_hash(self) -> str:
        """SHA-256 of the canonical body; raises ``ValueError`` when the fields have no canonical form."""
        return hash_body(self.body())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "entry_hash": self.entry_hash}


def entry_body(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    purpose: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "purpose": purpose,
        "details": details,
        "prev_hash": prev_hash,
    }


def hash_body(body: dict[str, Any]) -> str:
    return hashlib.sha256(body_bytes(body)).hexdigest()


def body_bytes(body: dict[str, Any]) -> bytes:
    """``canonical_json(body)``, computed by the C ``json`` encoder whenever that is byte-identical.

    Verification re-hashes every entry, and the pure-Python RFC 8785 writer made that ~0.5 ms per
    entry (minutes for a large log). For the values an audit entry holds — strings, safe-range
    integers, booleans, null, lists, and objects with ASCII keys — ``json.dumps`` with sorted keys,
    no whitespace and ``ensure_ascii=False`` writes exactly the JCS bytes: the same escapes
    (short forms, lowercase ``\\u00xx`` for other controls, everything else as itself) and, with
    ASCII keys, code-point order equals JCS's UTF-16 order. Anything else (floats, big integers,
    non-ASCII keys, lone surrogates) goes through :func:`canonical_json`, which decides.
    """
    if _plain(body):
        try:
            return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: canonical_json refuses it with a clear message
    return canonical_json(body)


def _plain(value: Any) -> bool:
    """Only types whose ``json.dumps`` form is their JCS form (loops, not ``all()``: this is hot)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and item is not None and not _plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) is str or _plain(item) for item in value)
    return False


def from_row(row: Any) -> AuditEntry:
    """Rebuild an entry from its row; unparseable details become a marker the hash will reject."""
    try:
        details = json.loads(row["details"])
    except ValueError:
        details = {"<unparseable>": row["details"]}
    return AuditEntry(
        seq=int(row["seq"]),
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        purpose=row["purpose"],
        details=details if isinstance(details, dict) else {"<not an object>": details},
        prev_hash=row["prev_hash"],
        entry_hash=row["entry_hash"],
    )
