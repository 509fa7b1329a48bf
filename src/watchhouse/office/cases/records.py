"""Reading a case's rows back: the case, its derived state (access, links) and its timeline.

Access lists and links are not stored as current state but replayed from ``case_events``, so the
history of who could see a case, and which alerts and evidence belonged to it, is never lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.cases.models import Case, CaseFile, CaseStatus, Note, Task, TaskStatus, TimelineItem, Tlp
from watchhouse.office.cases.tables import case_events, case_notes, case_tasks, cases
from watchhouse.office.errors import NotFoundError
from watchhouse.office.evidence.tables import custody_events
from watchhouse.office.identity.tables import identity_reveals

_PAIRS = {
    "alert": ("alert-linked", "alert-unlinked"),
    "evidence": ("evidence-linked", "evidence-unlinked"),
    "access": ("access-granted", "access-revoked"),
}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def case_row(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "title": case.title,
        "crime_codes": [c.value for c in case.crime_codes],
        "severity": int(case.severity),
        "tlp": case.tlp.value,
        "status": case.status.value,
        "owner": case.owner,
        "reviewer": case.reviewer,
        "need_to_know": case.need_to_know,
        "created_by": case.created_by,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def case_from_row(row: Any) -> Case:
    return Case(
        id=row["id"],
        title=row["title"],
        crime_codes=tuple(CrimeCode(c) for c in row["crime_codes"]),
        severity=Severity(row["severity"]),
        tlp=Tlp(row["tlp"]),
        status=CaseStatus(row["status"]),
        owner=row["owner"],
        reviewer=row["reviewer"],
        need_to_know=bool(row["need_to_know"]),
        created_by=row["created_by"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def load(conn: Connection, case_id: str) -> Case:
    row = conn.execute(select(cases).where(cases.c.id == case_id.strip().upper())).first()
    if row is None:
        raise NotFoundError(f"no case {case_id!r}")
    return case_from_row(row._mapping)


def _replay(conn: Connection, case_id: str, pair: str) -> list[str]:
    on, off = _PAIRS[pair]
    rows = conn.execute(
        select(case_events.c.kind, case_events.c.target)
        .where(case_events.c.case_id == case_id, case_events.c.kind.in_((on, off)))
        .order_by(case_events.c.id)
    )
    current: dict[str, bool] = {}
    for kind, target in rows:
        current[target] = kind == on
    return [t for t, present in current.items() if present]


def linked(conn: Connection, case_id: str, kind: str) -> list[str]:
    return _replay(conn, case_id, kind)


def granted(conn: Connection, case_id: str) -> list[str]:
    return _replay(conn, case_id, "access")


def readers(conn: Connection, case: Case) -> set[str]:
    """Who may act on a need-to-know case: its owner, its reviewer and its access list."""
    return {case.owner, *([case.reviewer] if case.reviewer else []), *granted(conn, case.id)}


def case_file(conn: Connection, case: Case) -> CaseFile:
    notes = [
        Note(id=int(r.id), author=r.author, at=_utc(r.at), body=r.body, corrects=r.corrects)
        for r in conn.execute(select(case_notes).where(case_notes.c.case_id == case.id).order_by(case_notes.c.id))
    ]
    corrections: dict[int, list[int]] = {}
    for note in notes:
        if note.corrects is not None:
            corrections.setdefault(note.corrects, []).append(note.id)
    notes = [
        Note(
            id=n.id,
            author=n.author,
            at=n.at,
            body=n.body,
            corrects=n.corrects,
            corrected_by=tuple(corrections.get(n.id, ())),
        )
        for n in notes
    ]
    tasks = [
        Task(
            id=int(r.id),
            title=r.title,
            assignee=r.assignee,
            status=TaskStatus(r.status),
            created_by=r.created_by,
            created_at=_utc(r.created_at),
        )
        for r in conn.execute(select(case_tasks).where(case_tasks.c.case_id == case.id).order_by(case_tasks.c.id))
    ]
    return CaseFile(
        case=case,
        access=tuple(sorted(readers(conn, case))) if case.need_to_know else (),
        alerts=tuple(linked(conn, case.id, "alert")),
        evidence=tuple(linked(conn, case.id, "evidence")),
        tasks=tuple(tasks),
        notes=tuple(notes),
    )


def timeline(conn: Connection, case_id: str) -> list[TimelineItem]:
    """Everything that happened to the case, ordered by the audit log (the one global order)."""
    items: list[tuple[int, TimelineItem]] = []
    ever_linked: set[str] = set()
    for r in conn.execute(select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)):
        if r.kind == "evidence-linked":
            ever_linked.add(r.target)
        items.append(
            (int(r.audit_seq), TimelineItem(_utc(r.at), r.actor, r.kind, _describe(r), {"audit_seq": int(r.audit_seq)}))
        )
    for r in conn.execute(select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.id)):
        text = f"note {r.id}" + (f" (corrects note {r.corrects})" if r.corrects else "") + f": {r.body}"
        items.append(
            (int(r.audit_seq), TimelineItem(_utc(r.at), r.author, "note", text, {"audit_seq": int(r.audit_seq)}))
        )
    if ever_linked:
        for r in conn.execute(
            select(custody_events)
            .where(custody_events.c.evidence_id.in_(sorted(ever_linked)))
            .order_by(custody_events.c.id)
        ):
            details = json.loads(r.details)
            text = f"evidence {r.evidence_id} {r.event}" + (f" — {r.purpose}" if r.purpose else "")
            ref = {
                "audit_seq": int(r.audit_seq),
                "evidence": r.evidence_id,
                **({"to": details["to"]} if "to" in details else {}),
            }
            items.append((int(r.audit_seq), TimelineItem(_utc(r.at), r.actor, "custody", text, ref)))
    for r in conn.execute(
        select(identity_reveals).where(identity_reveals.c.case_id == case_id).order_by(identity_reveals.c.id)
    ):
        text = f"identity behind {r.pseudonym} revealed — {r.purpose}"
        items.append(
            (int(r.audit_seq), TimelineItem(_utc(r.at), r.actor, "reveal", text, {"audit_seq": int(r.audit_seq)}))
        )
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _describe(r: Any) -> str:
    reason = f" — {r.reason}" if r.reason else ""
    match r.kind:
        case "opened":
            return f"case opened ({r.new_value}){reason}"
        case "status":
            return f"status {r.old_value} → {r.new_value}{reason}"
        case "reviewer":
            return f"reviewer {r.old_value or '(none)'} → {r.new_value}{reason}"
        case "task-added":
            return f"task {r.target} added: {r.new_value}"
        case "task-status":
            return f"task {r.target} {r.old_value} → {r.new_value}"
        case _:
            return f"{r.kind.replace('-', ' ')} {r.target}{reason}"
