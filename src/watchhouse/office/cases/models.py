"""Case vocabulary: statuses and their transition table, TLP 2.0 markings, and the records shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode


class CaseStatus(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    AWAITING_REVIEW = "awaiting_review"
    CLOSED = "closed"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.INVESTIGATING}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.AWAITING_REVIEW}),
    CaseStatus.AWAITING_REVIEW: frozenset({CaseStatus.CLOSED, CaseStatus.INVESTIGATING}),
    CaseStatus.CLOSED: frozenset({CaseStatus.INVESTIGATING}),
}
"""The only moves a case may make. Closing needs a review first, and a closed case can only be
reopened into investigation (with a reason), never silently edited back to open."""


class Tlp(StrEnum):
    """FIRST Traffic Light Protocol 2.0 markings."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @classmethod
    def parse(cls, text: str) -> Tlp:
        cleaned = text.strip().upper().removeprefix("TLP:")
        try:
            return cls(cleaned)
        except ValueError:
            raise ValueError(
                f"unknown TLP marking {text!r}; expected one of {', '.join(t.value for t in cls)}"
            ) from None


NEED_TO_KNOW_CRIMES = frozenset({CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL})
"""Cases about these crimes are need-to-know from the start, and cannot be opened up."""


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    title: str
    crime_codes: tuple[CrimeCode, ...]
    severity: Severity
    tlp: Tlp
    status: CaseStatus
    owner: str
    reviewer: str | None
    need_to_know: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "crime_codes": [c.value for c in self.crime_codes],
            "severity": str(self.severity),
            "tlp": f"TLP:{self.tlp.value}",
            "status": self.status.value,
            "owner": self.owner,
            "reviewer": self.reviewer,
            "need_to_know": self.need_to_know,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class Note:
    id: int
    author: str
    at: datetime
    body: str
    corrects: int | None
    corrected_by: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "at": self.at.isoformat(),
            "body": self.body,
            "corrects": self.corrects,
            "corrected_by": list(self.corrected_by),
        }


@dataclass(frozen=True, kw_only=True)
class Task:
    id: int
    title: str
    assignee: str | None
    status: TaskStatus
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "assignee": self.assignee,
            "status": self.status.value,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class CaseFile:
    """What ``case show`` hands out: the case and its current derived state."""

    case: Case
    access: tuple[str, ...]
    alerts: tuple[str, ...]
    evidence: tuple[str, ...]
    tasks: tuple[Task, ...]
    notes: tuple[Note, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.case.to_dict(),
            "access": list(self.access),
            "alerts": list(self.alerts),
            "evidence": list(self.evidence),
            "tasks": [t.to_dict() for t in self.tasks],
            "notes": [n.to_dict() for n in self.notes],
        }


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    actor: str
    kind: str
    text: str
    ref: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "kind": self.kind, "text": self.text, **self.ref}
