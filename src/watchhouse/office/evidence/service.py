"""The evidence service: sealing, looking, exporting and destroying, each one on the record.

Every operation that touches an item writes a custody event and an audit entry in the same
transaction, so custody and the audit log cannot disagree. There is deliberately no way to edit
or delete an item or a custody event here; the database refuses it too (migration 0003).
Bytes are re-hashed on every export and the export is refused, and audited as refused, when they
no longer match what was sealed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.canonical import canonical_json
from watchhouse.office.errors import IntegrityError, NotFoundError
from watchhouse.office.evidence.models import Acquisition, CustodyEvent, CustodyEventKind, EvidenceItem, evidence_id
from watchhouse.office.evidence.tables import custody_events, evidence_items
from watchhouse.office.evidence.vault import Digests, Vault, digests_of

_AUDIT_ACTION = {
    CustodyEventKind.COLLECTED: Action.CREATE,
    CustodyEventKind.VIEWED: Action.READ,
    CustodyEventKind.EXPORTED: Action.EXPORT,
    CustodyEventKind.DISCLOSED: Action.DISCLOSE,
    CustodyEventKind.DESTROYED: Action.DESTROY,
}


@dataclass(frozen=True)
class IntegrityCheck:
    item_id: str
    ok: bool
    reason: str


class EvidenceService:
    def __init__(self, engine: Engine, vault: Vault, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._vault = vault
        self._audit = audit
        self._clock = clock

    def seal(
        self, data: bytes, acquisition: Acquisition, actor: str, purpose: str | None = None
    ) -> tuple[EvidenceItem, bool]:
        """Seal bytes as one item; returns it and whether it is new (same bytes, same item)."""
        digests = self._vault.put(data)
        item_id = evidence_id(digests.sha256)
        with self._audit.transaction() as conn:
            existing = _item(conn, item_id)
            if existing is not None:
                if self._destroyed(conn, item_id):
                    raise UsageError(f"{item_id} was destroyed; its bytes cannot be sealed again under the same id")
                return existing, False
            item = EvidenceItem.collected(digests, acquisition, actor, self._clock())
            row = item.to_row()
            try:
                conn.execute(evidence_items.insert().values(**row))
            except DbIntegrityError as exc:
                raise UsageError(f"{item_id} is already sealed") from exc
            self._record(conn, item, CustodyEventKind.COLLECTED, actor, purpose, {"sha256": item.sha256})
        return item, True

    def store_bytes(self, data: bytes) -> Digests:
        """Put bytes in the vault (fsynced, renamed into place) ahead of :func:`batch.seal_in`.

        Nothing is recorded: until a transaction records them, the bytes are an unreferenced
        blob, which is what a crash between the two steps must leave behind.
        """
        return self._vault.put(data)

    def resolve(self, id_or_prefix: str) -> str:
        with self._engine.connect() as conn:
            found = list(
                conn.execute(
                    select(evidence_items.c.id).where(evidence_items.c.id.startswith(id_or_prefix)).limit(5)
                ).scalars()
            )
        if id_or_prefix in found:
            return id_or_prefix
        if len(found) != 1:
            raise NotFoundError(
                f"no evidence {id_or_prefix!r}" if not found else f"{id_or_prefix!r} is ambiguous: {found}"
            )
        return str(found[0])

    def view(self, item_id: str, actor: str, purpose: str | None = None) -> tuple[EvidenceItem, list[CustodyEvent]]:
        """Metadata and custody history; looking is a custody event of its own."""
        with self._audit.transaction() as conn:
            item = self._require(conn, item_id)
            self._record(conn, item, CustodyEventKind.VIEWED, actor, purpose, {})
            return item, _custody(conn, item_id)

    def search(self, actor: str, purpose: str | None = None, limit: int = 100) -> list[EvidenceItem]:
        with self._audit.transaction() as conn:
            rows = conn.execute(select(evidence_items).order_by(evidence_items.c.acquired_at.desc()).limit(limit))
            items = [item_from_row(r._mapping) for r in rows]
            self._audit.append(
                actor,
                Action.SEARCH,
                ObjectType.EVIDENCE,
                None,
                purpose,
                {"limit": limit, "results": len(items)},
                conn=conn,
            )
            return items

    def export(self, item_id: str, to_dir: Path, actor: str, purpose: str | None = None) -> Path:
        """Copy the bytes and a manifest (metadata + custody) out, after proving they are intact."""
        folder = to_dir / item_id
        if folder.exists():
            raise UsageError(f"{folder} already exists; export to an empty place")
        with self._audit.transaction() as conn:
            item = self._require(conn, item_id)
            problem = self._integrity_problem(conn, item)
        if problem is not None:
            self._audit.append(actor, Action.EXPORT_REFUSED, ObjectType.EVIDENCE, item_id, purpose, {"reason": problem})
            raise IntegrityError(f"{item_id}: export refused: {problem}")
        data = self._vault.read(item.sha256)
        with self._audit.transaction() as conn:
            self._record(conn, item, CustodyEventKind.EXPORTED, actor, purpose, {"to": str(folder)})
            manifest = {"item": item.to_dict(), "custody": [e.to_dict() for e in _custody(conn, item_id)]}
            try:
                folder.mkdir(parents=True)
                target = folder / _safe_name(item.original_name)
                _write_read_only(target, data)
                _write_read_only(folder / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            except OSError as exc:
                raise InputError(f"cannot export: {exc.strerror}", path=str(folder)) from exc
        return target

    def verify(self, actor: str, item_ids: list[str] | None = None) -> list[IntegrityCheck]:
        """Re-hash sealed bytes against their recorded SHA-256 and SHA-512."""
        with self._audit.transaction() as conn:
            query = select(evidence_items).order_by(evidence_items.c.id)
            if item_ids is not None:
                query = query.where(evidence_items.c.id.in_(item_ids))
            items = [item_from_row(r._mapping) for r in conn.execute(query)]
            results = []
            for item in items:
                problem = self._integrity_problem(conn, item)
                results.append(IntegrityCheck(item.id, problem is None, problem or "intact"))
            failed = [r.item_id for r in results if not r.ok]
            self._audit.append(
                actor,
                Action.READ,
                ObjectType.EVIDENCE,
                None,
                "integrity check",
                {"checked": len(results), "failed": failed},
                conn=conn,
            )
        return results

    def record_disclosure(self, item_id: str, actor: str, purpose: str, details: dict[str, Any]) -> CustodyEvent:
        """For the disclosure workflow: the item left the office under a legal instrument."""
        with self._audit.transaction() as conn:
            item = self._require(conn, item_id)
            return self._record(conn, item, CustodyEventKind.DISCLOSED, actor, purpose, details)

    def record_export(self, item_id: str, actor: str, purpose: str | None, details: dict[str, Any]) -> CustodyEvent:
        """For exports built by other features (case exports): the sealed copy left the office.

        The item's integrity is proved first, exactly as for :meth:`export`, so custody never
        records the export of bytes that no longer match their seal.
        """
        with self._audit.transaction() as conn:
            item = self._require(conn, item_id)
            problem = self._integrity_problem(conn, item)
        if problem is not None:
            self._audit.append(actor, Action.EXPORT_REFUSED, ObjectType.EVIDENCE, item_id, purpose, {"reason": problem})
            raise IntegrityError(f"{item_id}: export refused: {problem}")
        with self._audit.transaction() as conn:
            return self._record(conn, item, CustodyEventKind.EXPORTED, actor, purpose, details)

    def destroy(self, item_id: str, actor: str, purpose: str) -> CustodyEvent:
        """Delete the bytes (e.g. retention ended); metadata and custody stay as the record of it."""
        if not purpose:
            raise UsageError("destroying evidence needs a purpose")
        with self._audit.transaction() as conn:
            item = self._require(conn, item_id)
            event = self._record(conn, item, CustodyEventKind.DESTROYED, actor, purpose, {})
        self._vault.remove(item.sha256)
        return event

    def _require(self, conn: Connection, item_id: str) -> EvidenceItem:
        item = _item(conn, item_id)
        if item is None:
            raise NotFoundError(f"no evidence {item_id!r}")
        return item

    def _destroyed(self, conn: Connection, item_id: str) -> bool:
        return any(e.event is CustodyEventKind.DESTROYED for e in _custody(conn, item_id))

    def _integrity_problem(self, conn: Connection, item: EvidenceItem) -> str | None:
        if self._destroyed(conn, item.id):
            return "the item was destroyed"
        if not self._vault.exists(item.sha256):
            return "the sealed bytes are missing from the evidence store"
        actual = digests_of(self._vault.read(item.sha256))
        if actual.sha256 != item.sha256 or actual.sha512 != item.sha512 or actual.size != item.size:
            return f"the sealed bytes changed: sha256 is now {actual.sha256[:16]}…, sealed as {item.sha256[:16]}…"
        return None

    def _record(
        self,
        conn: Connection,
        item: EvidenceItem,
        kind: CustodyEventKind,
        actor: str,
        purpose: str | None,
        details: dict[str, Any],
    ) -> CustodyEvent:
        entry = self._audit.append(
            actor,
            _AUDIT_ACTION[kind],
            ObjectType.EVIDENCE,
            item.id,
            purpose,
            {"custody": kind.value, **details},
            conn=conn,
        )
        at = self._clock()
        new_id = conn.execute(
            custody_events.insert().values(
                evidence_id=item.id,
                event=kind.value,
                actor=actor,
                at=at,
                purpose=purpose,
                details=canonical_json(details).decode("utf-8"),
                audit_seq=entry.seq,
            )
        ).inserted_primary_key
        assert new_id is not None
        return CustodyEvent(
            id=int(new_id[0]),
            evidence_id=item.id,
            event=kind,
            actor=actor,
            at=at,
            purpose=purpose,
            details=details,
            audit_seq=entry.seq,
        )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _item(conn: Connection, item_id: str) -> EvidenceItem | None:
    row = conn.execute(select(evidence_items).where(evidence_items.c.id == item_id)).first()
    return item_from_row(row._mapping) if row is not None else None


def item_from_row(row: Any) -> EvidenceItem:
    return EvidenceItem(
        id=row["id"],
        sha256=row["sha256"],
        sha512=row["sha512"],
        size=int(row["size"]),
        original_name=row["original_name"],
        media_type=row["media_type"],
        source=row["source"],
        acquired_by=row["acquired_by"],
        acquired_at=_utc(row["acquired_at"]),
        method=row["method"],
        tool=row["tool"],
        details=json.loads(row["details"]),
    )


def _custody(conn: Connection, item_id: str) -> list[CustodyEvent]:
    rows = conn.execute(
        select(custody_events).where(custody_events.c.evidence_id == item_id).order_by(custody_events.c.id)
    )
    return [
        CustodyEvent(
            id=int(r.id),
            evidence_id=r.evidence_id,
            event=CustodyEventKind(r.event),
            actor=r.actor,
            at=_utc(r.at),
            purpose=r.purpose,
            details=json.loads(r.details),
            audit_seq=int(r.audit_seq),
        )
        for r in rows
    ]


def _safe_name(name: str) -> str:
    """The original name without any folder part, so an export never writes outside its folder."""
    base = Path(name).name.strip()
    return base if base not in ("", ".", "..") else "evidence.bin"


def _write_read_only(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
