"""Request bodies: pydantic at the boundary only (DESIGN style rule 2), sizes bounded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_TEXT = 10_000
_NAME = 200


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=12)


class TriageBody(Body):
    value: str | None = Field(default=None, max_length=_NAME)
    reason: str | None = Field(default=None, max_length=_TEXT)
    suppress_days: int | None = Field(default=None, ge=1, le=365)
    suppress_reason: str | None = Field(default=None, max_length=_TEXT)


class BulkFilter(Body):
    crime_code: str | None = None
    min_severity: str | None = None
    detector: str | None = Field(default=None, max_length=_NAME)
    subject: str | None = Field(default=None, max_length=_NAME)
    status: str | None = None
    assignee: str | None = Field(default=None, max_length=_NAME)
    since: str | None = None
    until: str | None = None
    limit: int = Field(default=50, ge=1, le=500)


class BulkBody(TriageBody):
    action: str = Field(max_length=20)
    ids: list[str] | None = Field(default=None, max_length=500)
    filter: BulkFilter | None = None


class CaseOpenBody(Body):
    title: str = Field(min_length=1, max_length=500)
    crime_codes: list[str] = Field(min_length=1, max_length=20)
    severity: str = "medium"
    tlp: str | None = None
    owner: str | None = Field(default=None, max_length=_NAME)
    reviewer: str | None = Field(default=None, max_length=_NAME)
    need_to_know: bool = False


class NoteBody(Body):
    body: str = Field(min_length=1, max_length=_TEXT)
    corrects: int | None = None


class TaskBody(Body):
    title: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(default=None, max_length=_NAME)


class TaskStatusBody(Body):
    status: str


class TransitionBody(Body):
    to: str
    reason: str | None = Field(default=None, max_length=_TEXT)
    reviewer: str | None = Field(default=None, max_length=_NAME)


class LinkBody(Body):
    kind: str = Field(pattern="^(alert|evidence)$")
    target: str = Field(max_length=_NAME)
    reason: str | None = Field(default=None, max_length=_TEXT)
    unlink: bool = False


class AccessBody(Body):
    principal: str = Field(max_length=_NAME)
    reason: str | None = Field(default=None, max_length=_TEXT)
    revoke: bool = False


class SealAlertBody(Body):
    alert_id: str = Field(max_length=_NAME)
    purpose: str | None = Field(default=None, max_length=_TEXT)


class ExportBody(Body):
    purpose: str = Field(min_length=1, max_length=_TEXT)


class RevealBody(Body):
    pseudonym: str = Field(max_length=_NAME)
    purpose: str = Field(max_length=_TEXT)
    case: str = Field(max_length=40)
