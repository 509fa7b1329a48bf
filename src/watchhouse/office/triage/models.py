"""Triage vocabulary: alert statuses, verdicts, and the views the office hands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from watchhouse.core.alerts import Alert


class AlertStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Verdict(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"
    BENIGN = "benign"
    DUPLICATE = "duplicate"

    @property
    def may_suppress(self) -> bool:
        """Only "this was not a crime" verdicts may silence future alerts like it."""
        return self in (Verdict.FALSE_POSITIVE, Verdict.BENIGN)

    @property
    def status_after(self) -> AlertStatus:
        """A verdict settles an alert: a true positive still needs work, the others are done."""
        return AlertStatus.TRIAGED if self is Verdict.TRUE_POSITIVE else AlertStatus.CLOSED


@dataclass(frozen=True)
class TriageState:
    status: str
    assignee: str | None
    verdict: str | None


@dataclass(frozen=True)
class AlertView:
    """An alert with its triage state and the cases it is currently linked to."""

    alert: Alert
    triage: TriageState
    cases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.alert.to_dict(),
            "status": self.triage.status,
            "assignee": self.triage.assignee,
            "verdict": self.triage.verdict,
            "cases": list(self.cases),
        }


@dataclass(frozen=True)
class HistoryItem:
    """One triage change or case link of an alert, oldest first."""

    at: datetime
    actor: str
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    audit_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "field": self.field,
            "old": self.old_value,
            "new": self.new_value,
            "reason": self.reason,
            "audit_seq": self.audit_seq,
        }


@dataclass(frozen=True)
class Cluster:
    """Alerts about the same key (subject, target or detector) whose first sightings lie close together."""

    key: str
    alert_ids: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    max_severity: int
    crime_codes: tuple[str, ...]
