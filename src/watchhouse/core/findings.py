"""What detectors report: findings about a subject, backed by references to input rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from watchhouse.core.taxonomy import CrimeCode


class Severity(IntEnum):
    """Ordered so thresholds compare naturally (``severity >= Severity.HIGH``)."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


class Stage(StrEnum):
    """Budapest Convention Article 11 as a modifier: was the offence only tried, or done?"""

    ATTEMPTED = "attempted"
    COMPLETED = "completed"


@dataclass(frozen=True, order=True, slots=True)
class EventRef:
    """Where an input row came from: a file and line, or a stream and byte offset."""

    path: str
    line: int | None = None
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.line is not None:
            out["line"] = self.line
        if self.offset is not None:
            out["offset"] = self.offset
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventRef:
        return cls(path=str(data["path"]), line=data.get("line"), offset=data.get("offset"))


@dataclass(frozen=True)
class Subject:
    """Who or what an alert is about: a source address, or a pseudonymous account.

    ``kind`` is the event field the value came from (``source.ip``, ``user.name``, ...). Account
    values are already pseudonyms when they reach a detector, so a subject never holds a
    cleartext user identifier.
    """

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One detector's claim that an offence was attempted or committed.

    ``key`` must be stable for the same input so that re-running a scan yields the same alert id
    (see :func:`watchhouse.core.alerts.alert_id`); it is usually built from the subject and the
    first event behind the finding.
    """

    detector: str
    key: str
    crime_code: CrimeCode
    stage: Stage
    severity: Severity
    confidence: float
    title: str
    explanation: str
    subject: Subject
    first_seen: datetime
    last_seen: datetime
    evidence: tuple[EventRef, ...]
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence}")
        if not self.evidence:
            raise ValueError("a finding needs at least one evidence reference")
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen precedes first_seen")
