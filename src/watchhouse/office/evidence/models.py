"""What the office knows about a piece of evidence and everyone who handled it.

Field names follow ISO/IEC 27037's acquisition record: who acquired it, when, how (method), with
what (tool and version), from where (source), and two independent digests so a weakness found in
one hash function does not leave the item unverifiable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from watchhouse.office.canonical import canonical_json

if TYPE_CHECKING:
    from watchhouse.office.evidence.vault import Digests


class CustodyEventKind(StrEnum):
    COLLECTED = "collected"
    VIEWED = "viewed"
    EXPORTED = "exported"
    DISCLOSED = "disclosed"
    DESTROYED = "destroyed"


@dataclass(frozen=True)
class Acquisition:
    """How the bytes came to be sealed, as the sealing feature describes it."""

    original_name: str
    media_type: str
    source: str
    method: str
    tool: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EvidenceItem:
    id: str
    sha256: str
    sha512: str
    size: int
    original_name: str
    media_type: str
    source: str
    acquired_by: str
    acquired_at: datetime
    method: str
    tool: str
    details: dict[str, Any]

    @classmethod
    def collected(cls, digests: Digests, acquisition: Acquisition, actor: str, at: datetime) -> EvidenceItem:
        """The item for bytes sealed now: identity and hashes from the bytes, metadata from how
        they were acquired (one place for the single and the batched sealing paths)."""
        return cls(
            id=evidence_id(digests.sha256),
            sha256=digests.sha256,
            sha512=digests.sha512,
            size=digests.size,
            original_name=acquisition.original_name,
            media_type=acquisition.media_type,
            source=acquisition.source,
            acquired_by=actor,
            acquired_at=at,
            method=acquisition.method,
            tool=acquisition.tool,
            details=acquisition.details,
        )

    def to_row(self) -> dict[str, Any]:
        """The ``evidence_items`` row: the fields as they are, details as canonical JSON text."""
        return {**self.__dict__, "details": canonical_json(self.details).decode("utf-8")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hashes": {"sha256": self.sha256, "sha512": self.sha512},
            "size": self.size,
            "original_name": self.original_name,
            "media_type": self.media_type,
            "source": self.source,
            "acquired_by": self.acquired_by,
            "acquired_at": self.acquired_at.isoformat(),
            "method": self.method,
            "tool": self.tool,
            "details": self.details,
        }


@dataclass(frozen=True, kw_only=True)
class CustodyEvent:
    id: int
    evidence_id: str
    event: CustodyEventKind
    actor: str
    at: datetime
    purpose: str | None
    details: dict[str, Any]
    audit_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.value,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "purpose": self.purpose,
            "details": self.details,
            "audit_seq": self.audit_seq,
        }


def evidence_id(sha256: str) -> str:
    """Content-derived, like alert ids: sealing the same bytes twice finds the same item."""
    return f"ev-{sha256[:24]}"
