"""``seal alert evidence in one action``: read the alert (audited), bundle its lines, seal them."""

from __future__ import annotations

from pathlib import Path

from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import NotFoundError
from watchhouse.office.evidence.alert_lines import bundle_alert_lines
from watchhouse.office.evidence.models import EvidenceItem
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.storage.alert_store import AlertStore


def seal_alert_evidence(
    alert_ref: str,
    *,
    alerts: AlertStore,
    evidence: EvidenceService,
    audit: AuditLog,
    actor: str,
    purpose: str | None = None,
    base: Path | None = None,
) -> tuple[EvidenceItem, bool]:
    """Seal the source lines of one alert (id or unique prefix); returns the item and if it is new."""
    alert = alerts.get(alert_ref)
    if alert is None:
        matches = alerts.find_prefix(alert_ref)
        if len(matches) != 1:
            raise NotFoundError(f"no alert {alert_ref!r}" if not matches else f"{alert_ref!r} is ambiguous: {matches}")
        alert = alerts.get(matches[0])
    assert alert is not None
    audit.append(actor, Action.READ, ObjectType.ALERT, alert.id, purpose, {"for": "seal-evidence"})
    data, acquisition = bundle_alert_lines(alert, base)
    return evidence.seal(data, acquisition, actor, purpose)
