"""Alerts: findings that survived post-processing, with a deterministic identity."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode

#: looked up once: ``dataclasses.fields`` rebuilds its answer on every call, once per alert
_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


def alert_id(detector: str, key: str) -> str:
    """Same detector and key, same id: re-scanning the same input never duplicates an alert.

    The id is the first 24 hex digits of SHA-256 over ``detector``, a unit separator and ``key``.
    The hash of the detector's prefix is taken once and copied for each key (every alert of a
    scan comes through here; copying a hash state is cheaper than hashing the prefix again).
    """
    digest = _prefix_hash(detector).copy()
    digest.update(key.encode())
    return "wh-" + digest.hexdigest()[:24]


@functools.lru_cache(maxsize=256)
def _prefix_hash(detector: str) -> hashlib._Hash:
    """SHA-256 of ``detector`` and the separator, to be copied (never updated in place)."""
    return hashlib.sha256(f"{detector}\x1f".encode())


@dataclass(frozen=True, kw_only=True)
class Alert(Finding):
    """A finding as the office stores it: with an id and the detector version that raised it."""

    id: str
    detector_version: str

    @classmethod
    def from_finding(cls, finding: Finding, detector_version: str) -> Alert:
        """The alert for ``finding``, which was validated when it was made.

        Why not ``cls(...)``: the frozen dataclass constructor sets sixteen fields one
        ``object.__setattr__`` at a time and validates them again; every alert of a scan passes
        through here, and the constructor cost three times the copy below.
        """
        alert = object.__new__(cls)
        source = finding.__dict__
        # a Finding's instance dict holds exactly its fields: copied whole; a subclass (an alert
        # itself) may carry more, so only the finding's fields are taken from it
        values = source.copy() if type(finding) is Finding else {name: source[name] for name in _FINDING_FIELDS}
        values["id"] = alert_id(finding.detector, finding.key)
        values["detector_version"] = detector_version
        object.__setattr__(alert, "__dict__", values)
        return alert

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready flat record; the inverse of :meth:`from_dict`.

        Built field by field rather than with ``dataclasses.asdict``, whose deep copy of every
        evidence reference dominated writing alerts (a burst alert can cite thousands of lines).
        Keys keep the dataclass field order, so written files do not change.
        """
        return {
            "detector": self.detector,
            "key": self.key,
            "crime_code": self.crime_code.value,
            "stage": self.stage.value,
            "severity": str(self.severity),
            "confidence": self.confidence,
            "title": self.title,
            "explanation": self.explanation,
            "subject": {"kind": self.subject.kind, "value": self.subject.value},
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "evidence": [ref.to_dict() for ref in self.evidence],
            "details": dict(self.details),
            "tags": list(self.tags),
            "id": self.id,
            "detector_version": self.detector_version,
        }

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
