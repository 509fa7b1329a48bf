"""Disclosure vocabulary: request types, the status table, the legal basis and the user-notice decision.

The transition table is the single statement of the workflow; the service refuses any other move
(and audits the refusal). Approval is not a free transition: a request becomes ``approved`` only
when enough distinct people other than its requester have signed off (two, or one for emergencies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any


class RequestType(StrEnum):
    PRESERVATION = "preservation"
    SUBSCRIBER_INFO = "subscriber_info"
    NON_CONTENT = "non_content"
    CONTENT = "content"
    EMERGENCY = "emergency"


class DisclosureStatus(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PRODUCED = "produced"
    CLOSED = "closed"


TRANSITIONS: dict[DisclosureStatus, frozenset[DisclosureStatus]] = {
    DisclosureStatus.RECEIVED: frozenset({DisclosureStatus.UNDER_REVIEW}),
    DisclosureStatus.UNDER_REVIEW: frozenset({DisclosureStatus.APPROVED, DisclosureStatus.REJECTED}),
    DisclosureStatus.APPROVED: frozenset({DisclosureStatus.PRODUCED}),
    DisclosureStatus.REJECTED: frozenset({DisclosureStatus.CLOSED}),
    DisclosureStatus.PRODUCED: frozenset({DisclosureStatus.CLOSED}),
    DisclosureStatus.CLOSED: frozenset(),
}
"""The only moves a request may make. Nothing is produced without approval, a rejection can only be
closed, and a closed request is final (a new demand is a new request)."""


class NoticeDecision(StrEnum):
    """Whether the user is told their data was requested (Santa Clara Principles: notice by default)."""

    NOTIFY = "notify"
    DELAY = "delay"
    NOT_NOTIFY = "not_notify"


class DataCategory(StrEnum):
    SUBSCRIBER = "subscriber"
    IP_LOGS = "ip_logs"
    TRAFFIC = "traffic"
    CONTENT = "content"
    DEVICE = "device"
    PAYMENT = "payment"


REQUIRED_APPROVALS = 2
EMERGENCY_APPROVALS = 1


@dataclass(frozen=True)
class DisclosurePolicy:
    """How long an emergency request may wait for the legal instrument that should have come first."""

    emergency_followup: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class Authority:
    name: str
    country: str
    """ISO 3166-1 alpha-2 code of the authority's country, upper case."""


@dataclass(frozen=True)
class LegalBasis:
    instrument: str
    """What kind of order it is (production order, subpoena, MLAT request, EPOC, ...)."""
    reference: str
    issuer: str

    def to_dict(self) -> dict[str, str]:
        return {"instrument": self.instrument, "reference": self.reference, "issuer": self.issuer}


@dataclass(frozen=True)
class Scope:
    accounts: tuple[str, ...]
    """Pseudonyms only: an identifier named by the authority is pseudonymised before it is stored."""
    start: date
    end: date
    categories: tuple[DataCategory, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": list(self.accounts),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "categories": [c.value for c in self.categories],
        }


@dataclass(frozen=True)
class UserNotice:
    decision: NoticeDecision
    reason: str | None = None
    until: date | None = None
    """For ``delay``: the date the user is to be told."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass(frozen=True, kw_only=True)
class DisclosureRequest:
    id: str
    authority: Authority
    request_type: RequestType
    legal_basis: LegalBasis | None
    """Absent only for an emergency request whose follow-up instrument has not arrived yet."""
    scope: Scope
    nondisclosure_order: bool
    nondisclosure_until: date | None
    notice: UserNotice
    justification: str | None
    status: DisclosureStatus
    requester: str
    case_id: str | None
    received_at: datetime
    updated_at: datetime
    followup_due: datetime | None
    followup_received_at: datetime | None
    approvers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = field(default=())
    rejected: bool = False
    """Whether it was ever rejected (its status moves on to ``closed`` afterwards)."""

    @property
    def emergency(self) -> bool:
        return self.request_type is RequestType.EMERGENCY

    def followup_overdue(self, now: datetime) -> bool:
        return self.followup_due is not None and self.followup_received_at is None and now > self.followup_due

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "authority": {"name": self.authority.name, "country": self.authority.country},
            "type": self.request_type.value,
            "legal_basis": self.legal_basis.to_dict() if self.legal_basis else None,
            "scope": self.scope.to_dict(),
            "nondisclosure_order": self.nondisclosure_order,
            "nondisclosure_until": self.nondisclosure_until.isoformat() if self.nondisclosure_until else None,
            "user_notice": self.notice.to_dict(),
            "justification": self.justification,
            "status": self.status.value,
            "requester": self.requester,
            "case": self.case_id,
            "received_at": self.received_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "followup_due": self.followup_due.isoformat() if self.followup_due else None,
            "followup_received_at": self.followup_received_at.isoformat() if self.followup_received_at else None,
            "approvers": list(self.approvers),
            "evidence": list(self.evidence),
            "rejected": self.rejected,
        }
        if now is not None:
            data["followup_overdue"] = self.followup_overdue(now)
        return data
