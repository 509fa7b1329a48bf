"""What an export is made of: the case file, its linked alerts and its timeline, gathered on the record.

Gathering goes through :class:`CaseService` (need-to-know applies; reading the case and its
timeline are audited reads). Subjects are reduced here, once, to what may leave the office:
IP addresses as they are, accounts only as pseudonyms; anything else that looks like an account
but is not a pseudonym is withheld rather than risk exporting a real identity.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from watchhouse.core.alerts import Alert
from watchhouse.core.identity import is_pseudonym
from watchhouse.office.cases.models import CaseFile, TimelineItem
from watchhouse.office.cases.service import CaseService
from watchhouse.storage.alert_store import AlertStore

NAMESPACE = uuid.UUID("5b6f7d2e-4f0a-5c1e-9a53-77a7c0a7d001")
"""uuid5 namespace for export object ids: the same case object always gets the same STIX/MISP id."""

ATTACK_TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)

SubjectKind = Literal["ipv4", "ipv6", "account", "withheld"]


@dataclass(frozen=True)
class ExportSubject:
    kind: SubjectKind
    value: str


@dataclass(frozen=True)
class CaseBundle:
    case_file: CaseFile
    alerts: tuple[Alert, ...]
    timeline: tuple[TimelineItem, ...]
    generated_at: datetime


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def subject_of(alert: Alert) -> ExportSubject:
    """The alert's subject as it may be exported (never a cleartext account)."""
    value = alert.subject.value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return ExportSubject("account", value) if is_pseudonym(value) else ExportSubject("withheld", "[withheld]")
    return ExportSubject("ipv4" if address.version == 4 else "ipv6", str(address))


def url_of(alert: Alert) -> str | None:
    for key in ("url.original", "url.full", "url.path"):
        value = alert.details.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def user_agent_of(alert: Alert) -> str | None:
    value = alert.details.get("user_agent.original")
    return value if isinstance(value, str) and value else None


def techniques_of(alert: Alert) -> list[str]:
    """MITRE ATT&CK technique ids carried as Sigma-style tags (``attack.t1110.004``), when known."""
    return [m.group(1).upper() for tag in alert.tags if (m := ATTACK_TAG.match(tag))]


def gather(
    cases: CaseService, alerts: AlertStore, actor: str, ref: str, now: datetime, purpose: str | None
) -> CaseBundle:
    case_file = cases.show(actor, ref, purpose or "export")
    timeline = cases.timeline(actor, case_file.case.id, purpose or "export")
    found = [alerts.get(alert_id) for alert_id in case_file.alerts]
    return CaseBundle(case_file, tuple(a for a in found if a is not None), tuple(timeline), now)
