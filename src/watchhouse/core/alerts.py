"""Alerts: findings that survived post-processing, with a deterministic identity."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode


def alert_id(detector: str, key: str) -> str:
    """Same detector and key, same id: re-scanning the same input never duplicates an alert."""
    digest = hashlib.sha256(f"{detector}\x1f{key}".encode()).hexdigest()
    return f"wh-{digest[:24]}"


@dataclass(frozen=True, kw_only=True)
class Alert(Finding):
    """A finding as the office stores it: with an id and the detector version that raised it."""

    id: str
    detector_version: str

    @classmethod
    def from_finding(cls, finding: Finding, detector_version: str) -> Alert:
        values = {f.name: getattr(finding, f.name) for f in fields(Finding)}
        return cls(id=alert_id(finding.detector, finding.key), detector_version=detector_version, **values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready flat record; the inverse of :meth:`from_dict`."""
        data = asdict(self)
        data["crime_code"] = self.crime_code.value
        data["stage"] = self.stage.value
        data["severity"] = str(self.severity)
        data["subject"] = {"kind": self.subject.kind, "value": self.subject.value}
        data["first_seen"] = self.first_seen.isoformat()
        data["last_seen"] = self.last_seen.isoformat()
        data["evidence"] = [ref.to_dict() for ref in self.evidence]
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(
            id=data["id"],
            detector=data["detector"],
            detector_version=data["detector_version"],
            key=data["key"],
            crime_code=CrimeCode(data["crime_code"]),
            stage=Stage(data["stage"]),
            severity=Severity.parse(data["severity"]),
            confidence=float(data["confidence"]),
            title=data["title"],
            explanation=data["explanation"],
            subject=Subject(**data["subject"]),
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            evidence=tuple(EventRef.from_dict(r) for r in data["evidence"]),
            details=dict(data.get("details") or {}),
            tags=tuple(data.get("tags") or ()),
        )
