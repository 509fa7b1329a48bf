"""Office operations shared by the API and the console, so both go through the same service calls."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.cases.models import Case, Tlp
from watchhouse.office.services import Office
from watchhouse.office.triage.models import AlertStatus, Verdict
from watchhouse.office.triage.service import SuppressRequest
from watchhouse.storage.alert_store import AlertFilter
from watchhouse.web.errors import ServiceUnavailableError

MAX_LIMIT = 500
E = TypeVar("E", bound=StrEnum)


def _parse_time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{name}: not an ISO date-time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def alert_filter(
    *,
    crime_code: str | None = None,
    min_severity: str | None = None,
    detector: str | None = None,
    subject: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
) -> AlertFilter:
    """The triage filter from query or form text; empty strings mean "no criterion" (HTML forms)."""
    try:
        crime = CrimeCode(crime_code) if crime_code else None
        severity = Severity.parse(min_severity) if min_severity else Severity.INFO
        state = AlertStatus(status).value if status else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
    return AlertFilter(
        crime_code=crime,
        min_severity=severity,
        detector=detector or None,
        subject=subject or None,
        status=state,
        assignee=assignee or None,
        since=_parse_time(since, "since"),
        until=_parse_time(until, "until"),
        limit=limit,
    )


@dataclass(frozen=True)
class TriageChange:
    """One triage action as a form or JSON body states it."""

    action: str
    value: str | None
    reason: str | None
    suppress_days: int | None = None
    suppress_reason: str | None = None


def apply_triage(office: Office, actor: str, ids: list[str], change: TriageChange) -> list[str]:
    """Apply a status, assignment or verdict to alerts; returns the ids that changed."""
    resolved = [office.triage.resolve(i) for i in ids]
    reason = (change.reason or "").strip() or None
    if change.action == "status":
        try:
            status = AlertStatus(change.value or "")
        except ValueError:
            raise UsageError(f"unknown status {change.value!r}") from None
        return office.triage.set_status(actor, resolved, status, reason)
    if change.action == "assign":
        return office.triage.assign(actor, resolved, (change.value or "").strip() or None, reason)
    if change.action == "verdict":
        try:
            verdict = Verdict(change.value or "")
        except ValueError:
            raise UsageError(f"unknown verdict {change.value!r}") from None
        suppress = None
        if change.suppress_days:
            if not 1 <= change.suppress_days <= 365:
                raise UsageError("a suppression lasts 1 to 365 days")
            suppress = SuppressRequest(
                reason=(change.suppress_reason or reason or "").strip(),
                expires=datetime.now(UTC) + timedelta(days=change.suppress_days),
            )
        return office.triage.set_verdict(actor, resolved, verdict, reason or "", suppress).changed
    raise UsageError(f"unknown triage action {change.action!r}: expected status, assign or verdict")


def export_bytes(office: Office, item_id: str, actor: str, purpose: str) -> tuple[str, bytes]:
    """Export through the evidence service (integrity re-checked, custody recorded) into a private
    temporary folder, and hand back the bytes for download; the folder is removed afterwards."""
    if not purpose.strip():
        raise UsageError("exporting evidence needs a purpose")
    resolved = office.evidence.resolve(item_id)
    with tempfile.TemporaryDirectory(prefix="wh-export-") as folder:
        path = office.evidence.export(resolved, Path(folder), actor, purpose.strip())
        return download_name(path.name, resolved), path.read_bytes()


def reveal(office: Office, actor: str, pseudonym: str, purpose: str, case: str) -> str:
    if office.identities is None:
        raise ServiceUnavailableError("this office has no identity vault key; reveals are impossible")
    return office.identities.reveal(pseudonym.strip(), actor, purpose, case)


def download_name(name: str, item_id: str) -> str:
    """A header-safe file name (ASCII letters, digits, ``._-``) for Content-Disposition."""
    base = Path(name).name
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base).strip("._")
    return cleaned or f"{item_id}.bin"


def parse_enum(kind: type[E], value: str | None, what: str) -> E:
    try:
        return kind(value or "")
    except ValueError:
        valid = ", ".join(e.value for e in kind)
        raise UsageError(f"unknown {what} {value!r}; expected one of {valid}") from None


def open_case(
    office: Office,
    actor: str,
    *,
    title: str,
    crime_codes: list[str],
    severity: str,
    tlp: str | None,
    owner: str | None,
    reviewer: str | None,
    need_to_know: bool,
) -> Case:
    try:
        crimes = [CrimeCode(c) for c in crime_codes]
        level = Severity.parse(severity)
        marking = Tlp.parse(tlp) if tlp else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return office.cases.open(
        actor,
        title,
        crimes,
        level,
        tlp=marking,
        owner=owner or None,
        reviewer=reviewer or None,
        need_to_know=need_to_know,
    )


def case_link(
    office: Office, actor: str, case_id: str, kind: str, target: str, unlink: bool, reason: str | None
) -> None:
    cases, why = office.cases, (reason or "").strip() or None
    if kind == "alert":
        alert_id = office.triage.resolve(target.strip())
        (cases.unlink_alert if unlink else cases.link_alert)(actor, case_id, alert_id, why)
    elif kind == "evidence":
        item_id = office.evidence.resolve(target.strip())
        (cases.unlink_evidence if unlink else cases.link_evidence)(actor, case_id, item_id, why)
    else:
        raise UsageError(f"can link alerts or evidence, not {kind!r}")
