"""Sealing several items inside a caller's transaction, for features that commit in groups.

:meth:`EvidenceService.seal` commits each item in its own transaction: one disk sync per item,
before the feature's own transaction syncs again. A feature that already batches its writes
(the report portal's group commit) instead writes the bytes to the vault first (each blob
fsynced and renamed into place, as ``Vault.put`` always does), then records the items, their
``collected`` custody events and their audit entries in *its* transaction with
:func:`seal_in`. Until that transaction commits, the blobs are just unreferenced files: a crash
leaves sealed bytes that nothing points to, never a record whose bytes are missing.

Custody and audit stay exactly what ``seal`` writes: the same item row, the same custody event
with the audit entry's sequence number, the same audit action and details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action, AuditEntry, ObjectType
from watchhouse.office.canonical import canonical_json
from watchhouse.office.evidence.models import Acquisition, CustodyEventKind, EvidenceItem, evidence_id
from watchhouse.office.evidence.service import item_from_row
from watchhouse.office.evidence.tables import custody_events, evidence_items
from watchhouse.office.evidence.vault import Digests


class AuditAppender(Protocol):
    """What :func:`seal_in` needs from an audit chain: the next entry, in the caller's transaction."""

    def add(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None = None,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry: ...


@dataclass(frozen=True)
class SealRequest:
    """Bytes already in the vault (their digests) and how they were acquired."""

    digests: Digests
    acquisition: Acquisition
    actor: str
    purpose: str | None = None


def seal_in(
    conn: Connection, audit: AuditAppender, requests: Sequence[SealRequest], at: datetime
) -> list[tuple[EvidenceItem, bool]]:
    """Record every request as an item (new, or the existing item for the same bytes).

    Raises :class:`UsageError` when any of the bytes belong to a destroyed item, like ``seal``;
    the caller's transaction then rolls back as a whole.
    """
    if not requests:
        return []
    ids = sorted({evidence_id(r.digests.sha256) for r in requests})
    existing = _existing(conn, ids)
    destroyed = set(
        conn.execute(
            select(custody_events.c.evidence_id).where(
                custody_events.c.evidence_id.in_(ids), custody_events.c.event == CustodyEventKind.DESTROYED.value
            )
        ).scalars()
    )
    if destroyed:
        first = sorted(destroyed)[0]
        raise UsageError(f"{first} was destroyed; its bytes cannot be sealed again under the same id")
    out: list[tuple[EvidenceItem, bool]] = []
    items: list[dict[str, Any]] = []
    custody: list[dict[str, Any]] = []
    for request in requests:
        item_id = evidence_id(request.digests.sha256)
        if item_id in existing:
            out.append((existing[item_id], False))
            continue
        item = EvidenceItem.collected(request.digests, request.acquisition, request.actor, at)
        existing[item_id] = item
        details = {"sha256": item.sha256}
        entry = audit.add(
            request.actor,
            Action.CREATE,
            ObjectType.EVIDENCE,
            item.id,
            request.purpose,
            {"custody": CustodyEventKind.COLLECTED.value, **details},
        )
        items.append(item.to_row())
        custody.append(
            {
                "evidence_id": item.id,
                "event": CustodyEventKind.COLLECTED.value,
                "actor": request.actor,
                "at": at,
                "purpose": request.purpose,
                "details": canonical_json(details).decode("utf-8"),
                "audit_seq": entry.seq,
            }
        )
        out.append((item, True))
    if items:
        conn.execute(evidence_items.insert(), items)
        conn.execute(custody_events.insert(), custody)
    return out


def _existing(conn: Connection, ids: list[str]) -> dict[str, EvidenceItem]:
    rows = conn.execute(select(evidence_items).where(evidence_items.c.id.in_(ids)))
    return {r.id: item_from_row(r._mapping) for r in rows}
