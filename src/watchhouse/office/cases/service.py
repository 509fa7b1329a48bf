"""The case service: every read and change of a case is audited; need-to-know is enforced here.

Each method runs in one write-locked transaction that also holds its audit entry. A refusal by
policy (need-to-know, four-eyes, owner-only, the transition table) rolls the attempt back and is
then recorded on its own as a ``refused`` entry, so the log shows who tried what and why not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.cases import records
from watchhouse.office.cases.models import (
    NEED_TO_KNOW_CRIMES,
    TRANSITIONS,
    Case,
    CaseFile,
    CaseStatus,
    Note,
    Task,
    TaskStatus,
    TimelineItem,
    Tlp,
)
from watchhouse.office.cases.tables import case_events, case_notes, case_tasks, cases
from watchhouse.office.errors import AccessDeniedError, FourEyesError, NotFoundError, PolicyError, TransitionError
from watchhouse.office.evidence.tables import evidence_items
from watchhouse.storage.schema import alerts

_NUMBER = re.compile(r"^WH-(\d{4})-(\d{4,})$")


class RefusalError(Exception):
    """Raised inside a case transaction; turned into an audited refusal once it has rolled back."""

    def __init__(self, kind: str, error: PolicyError | UsageError) -> None:
        super().__init__(str(error))
        self.kind = kind
        self.error = error


class CaseService:
    def __init__(self, engine: Engine, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock

    # -- opening, finding, reading -------------------------------------------------------------

    def open(
        self,
        actor: str,
        title: str,
        crime_codes: Sequence[CrimeCode],
        severity: Severity,
        *,
        tlp: Tlp | None = None,
        owner: str | None = None,
        reviewer: str | None = None,
        need_to_know: bool = False,
    ) -> Case:
        """Open a case numbered ``WH-<year>-<n>``; child-abuse cases are need-to-know and TLP:RED by default."""
        if not title.strip():
            raise UsageError("a case needs a title")
        if not crime_codes:
            raise UsageError("a case needs at least one crime code")
        owner = owner or actor
        if reviewer is not None and reviewer == owner:
            raise FourEyesError("the reviewer must be someone other than the owner (four-eyes)")
        sensitive = bool(NEED_TO_KNOW_CRIMES & set(crime_codes))
        now = self._clock()
        with self._audit.transaction() as conn:
            self._audit.serialise(conn)
            case = Case(
                id=_next_number(conn, now.year),
                title=title.strip(),
                crime_codes=tuple(dict.fromkeys(crime_codes)),
                severity=severity,
                tlp=tlp or (Tlp.RED if sensitive else Tlp.AMBER),
                status=CaseStatus.OPEN,
                owner=owner,
                reviewer=reviewer,
                need_to_know=need_to_know or sensitive,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            conn.execute(cases.insert().values(**records.case_row(case)))
            self._event(conn, case.id, actor, "opened", None, None, case.status.value, None, case.to_dict())
        return case

    def resolve(self, ref: str) -> str:
        case_id = ref.strip().upper()
        with self._engine.connect() as conn:
            if conn.execute(select(cases.c.id).where(cases.c.id == case_id)).first() is None:
                raise NotFoundError(f"no case {ref!r}")
        return case_id

    def show(self, actor: str, ref: str, purpose: str | None = None) -> CaseFile:
        with self._acting(ref, actor, "read") as (conn, case):
            self._audit.append(actor, Action.READ, ObjectType.CASE, case.id, purpose, {}, conn=conn)
            return records.case_file(conn, case)

    def search(self, actor: str, status: CaseStatus | None = None, purpose: str | None = None) -> list[Case]:
        """Cases the actor may see; need-to-know cases they are not on are left out (and counted in the audit)."""
        query = select(cases).order_by(cases.c.created_at.desc())
        if status is not None:
            query = query.where(cases.c.status == status.value)
        with self._audit.transaction() as conn:
            found = [records.case_from_row(r._mapping) for r in conn.execute(query)]
            visible = [c for c in found if actor in records.readers(conn, c) or not c.need_to_know]
            self._audit.append(
                actor,
                Action.SEARCH,
                ObjectType.CASE,
                None,
                purpose,
                {
                    "status": status.value if status else None,
                    "results": len(visible),
                    "withheld": len(found) - len(visible),
                    "ids": [c.id for c in visible],
                },
                conn=conn,
            )
        return visible

    def timeline(self, actor: str, ref: str, purpose: str | None = None) -> list[TimelineItem]:
        with self._acting(ref, actor, "timeline") as (conn, case):
            self._audit.append(actor, Action.READ, ObjectType.CASE, case.id, purpose, {"view": "timeline"}, conn=conn)
            return records.timeline(conn, case.id)

    def require_access(self, conn: Connection, ref: str, actor: str) -> Case:
        """For other services (identity reveals): the case, or :class:`RefusalError` if the actor may not act on it."""
        case = records.load(conn, ref)
        if case.need_to_know and actor not in records.readers(conn, case):
            raise RefusalError(
                "need-to-know", AccessDeniedError(f"{case.id} is need-to-know and {actor} is not on its access list")
            )
        return case

    def refuse(
        self, actor: str, object_type: str, object_id: str | None, attempted: str, refusal: RefusalError
    ) -> None:
        """Record a refusal in its own transaction (the attempt itself has been rolled back)."""
        self._audit.append(
            actor,
            Action.REFUSED,
            object_type,
            object_id,
            None,
            {"attempted": attempted, "refusal": refusal.kind, "reason": str(refusal)},
        )

    # -- changes ---------------------------------------------------------------------------------

    def transition(
        self, actor: str, ref: str, to: CaseStatus, reason: str | None = None, reviewer: str | None = None
    ) -> Case:
        with self._acting(ref, actor, f"transition:{to.value}") as (conn, case):
            if to not in TRANSITIONS[case.status]:
                allowed = ", ".join(sorted(s.value for s in TRANSITIONS[case.status]))
                raise RefusalError(
                    "transition",
                    TransitionError(f"{case.id} cannot go from {case.status.value} to {to.value}; allowed: {allowed}"),
                )
            if reviewer is not None and reviewer != case.reviewer:
                self._set_reviewer(conn, case, actor, reviewer, reason)
                case = records.load(conn, case.id)
            if to is CaseStatus.AWAITING_REVIEW and case.reviewer is None:
                raise RefusalError("four-eyes", FourEyesError(f"{case.id} needs a reviewer before review (--reviewer)"))
            if to is CaseStatus.CLOSED:
                if actor == case.owner:
                    raise RefusalError(
                        "four-eyes", FourEyesError(f"{case.id}: the owner ({case.owner}) cannot close their own case")
                    )
                if actor != case.reviewer:
                    raise RefusalError(
                        "four-eyes", FourEyesError(f"{case.id}: only its reviewer ({case.reviewer}) may close it")
                    )
            if case.status is CaseStatus.CLOSED and not (reason or "").strip():
                raise UsageError(f"reopening {case.id} needs a reason")
            conn.execute(update(cases).where(cases.c.id == case.id).values(status=to.value, updated_at=self._clock()))
            self._event(conn, case.id, actor, "status", None, case.status.value, to.value, reason)
            return records.load(conn, case.id)

    def assign_reviewer(self, actor: str, ref: str, reviewer: str, reason: str | None = None) -> Case:
        with self._acting(ref, actor, "assign-reviewer") as (conn, case):
            self._owner_only(case, actor)
            self._set_reviewer(conn, case, actor, reviewer, reason)
            return records.load(conn, case.id)

    def note(self, actor: str, ref: str, body: str, corrects: int | None = None) -> Note:
        """Append a note; a correction is a new note pointing at the one it corrects, never an edit."""
        if not body.strip():
            raise UsageError("a note needs text")
        with self._acting(ref, actor, "note") as (conn, case):
            if corrects is not None:
                target = conn.execute(
                    select(case_notes.c.id).where(case_notes.c.id == corrects, case_notes.c.case_id == case.id)
                ).first()
                if target is None:
                    raise NotFoundError(f"{case.id} has no note {corrects} to correct")
            entry = self._audit.append(
                actor,
                Action.CHANGE,
                ObjectType.CASE,
                case.id,
                None,
                {"op": "note", "corrects": corrects, "chars": len(body)},
                conn=conn,
            )
            at = self._clock()
            new_id = conn.execute(
                case_notes.insert().values(
                    case_id=case.id, author=actor, at=at, body=body, corrects=corrects, audit_seq=entry.seq
                )
            ).inserted_primary_key
            assert new_id is not None
            self._touch(conn, case.id)
            return Note(id=int(new_id[0]), author=actor, at=at, body=body, corrects=corrects)

    def add_task(self, actor: str, ref: str, title: str, assignee: str | None = None) -> Task:
        if not title.strip():
            raise UsageError("a task needs a title")
        with self._acting(ref, actor, "task-add") as (conn, case):
            at = self._clock()
            new_id = conn.execute(
                case_tasks.insert().values(
                    case_id=case.id,
                    title=title,
                    assignee=assignee,
                    status=TaskStatus.OPEN.value,
                    created_by=actor,
                    created_at=at,
                    updated_at=at,
                )
            ).inserted_primary_key
            assert new_id is not None
            task_id = int(new_id[0])
            self._event(
                conn, case.id, actor, "task-added", str(task_id), None, title[:200], None, {"assignee": assignee}
            )
            return Task(
                id=task_id, title=title, assignee=assignee, status=TaskStatus.OPEN, created_by=actor, created_at=at
            )

    def set_task(self, actor: str, ref: str, task_id: int, status: TaskStatus) -> None:
        with self._acting(ref, actor, "task-status") as (conn, case):
            row = conn.execute(
                select(case_tasks).where(case_tasks.c.id == task_id, case_tasks.c.case_id == case.id)
            ).first()
            if row is None:
                raise NotFoundError(f"{case.id} has no task {task_id}")
            if row.status == status.value:
                raise UsageError(f"task {task_id} is already {status.value}")
            conn.execute(
                update(case_tasks)
                .where(case_tasks.c.id == task_id)
                .values(status=status.value, updated_at=self._clock())
            )
            self._event(conn, case.id, actor, "task-status", str(task_id), row.status, status.value, None)

    def link_alert(self, actor: str, ref: str, alert_id: str, reason: str | None = None) -> None:
        self._link(actor, ref, "alert", alert_id, True, reason)

    def unlink_alert(self, actor: str, ref: str, alert_id: str, reason: str | None = None) -> None:
        self._link(actor, ref, "alert", alert_id, False, reason)

    def link_evidence(self, actor: str, ref: str, evidence_id: str, reason: str | None = None) -> None:
        self._link(actor, ref, "evidence", evidence_id, True, reason)

    def unlink_evidence(self, actor: str, ref: str, evidence_id: str, reason: str | None = None) -> None:
        self._link(actor, ref, "evidence", evidence_id, False, reason)

    def grant(self, actor: str, ref: str, principal: str, reason: str | None = None) -> None:
        self._access(actor, ref, principal, True, reason)

    def revoke(self, actor: str, ref: str, principal: str, reason: str | None = None) -> None:
        self._access(actor, ref, principal, False, reason)

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _acting(self, ref: str, actor: str, attempted: str) -> Iterator[tuple[Connection, Case]]:
        case_id = ref.strip().upper()
        try:
            with self._audit.transaction() as conn:
                yield conn, self.require_access(conn, case_id, actor)
        except RefusalError as refusal:
            self.refuse(actor, ObjectType.CASE, case_id, attempted, refusal)
            raise refusal.error from None

    def _owner_only(self, case: Case, actor: str) -> None:
        if actor != case.owner:
            raise RefusalError("owner-only", AccessDeniedError(f"only {case.id}'s owner ({case.owner}) may do that"))

    def _set_reviewer(self, conn: Connection, case: Case, actor: str, reviewer: str, reason: str | None) -> None:
        if reviewer == case.owner:
            raise RefusalError(
                "four-eyes", FourEyesError("the reviewer must be someone other than the owner (four-eyes)")
            )
        conn.execute(update(cases).where(cases.c.id == case.id).values(reviewer=reviewer, updated_at=self._clock()))
        self._event(conn, case.id, actor, "reviewer", None, case.reviewer, reviewer, reason)

    def _link(self, actor: str, ref: str, kind: str, target: str, link: bool, reason: str | None) -> None:
        verb = "linked" if link else "unlinked"
        with self._acting(ref, actor, f"{kind}-{verb}") as (conn, case):
            table = alerts if kind == "alert" else evidence_items
            if conn.execute(select(table.c.id).where(table.c.id == target)).first() is None:
                raise NotFoundError(f"no {kind} {target!r}")
            current = set(records.linked(conn, case.id, kind))
            if link and target in current:
                raise UsageError(f"{target} is already linked to {case.id}")
            if not link and target not in current:
                raise UsageError(f"{target} is not linked to {case.id}")
            self._event(conn, case.id, actor, f"{kind}-{verb}", target, None, None, reason)

    def _access(self, actor: str, ref: str, principal: str, grant: bool, reason: str | None) -> None:
        with self._acting(ref, actor, "grant" if grant else "revoke") as (conn, case):
            self._owner_only(case, actor)
            if not case.need_to_know:
                raise UsageError(f"{case.id} is not need-to-know: every office user may already read it")
            listed = set(records.granted(conn, case.id))
            if grant and (principal in listed or principal == case.owner):
                raise UsageError(f"{principal} already has access to {case.id}")
            if not grant and principal not in listed:
                raise UsageError(f"{principal} is not on {case.id}'s access list")
            self._event(
                conn, case.id, actor, "access-granted" if grant else "access-revoked", principal, None, None, reason
            )

    def _event(
        self,
        conn: Connection,
        case_id: str,
        actor: str,
        kind: str,
        target: str | None,
        old: str | None,
        new: str | None,
        reason: str | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        details = {"op": kind, "target": target, "old": old, "new": new, **(extra or {})}
        action = Action.CREATE if kind == "opened" else Action.CHANGE
        entry = self._audit.append(actor, action, ObjectType.CASE, case_id, reason, details, conn=conn)
        conn.execute(
            case_events.insert().values(
                case_id=case_id,
                at=self._clock(),
                actor=actor,
                kind=kind,
                target=target,
                old_value=old,
                new_value=new,
                reason=reason,
                audit_seq=entry.seq,
            )
        )
        if kind != "opened":
            self._touch(conn, case_id)

    def _touch(self, conn: Connection, case_id: str) -> None:
        conn.execute(update(cases).where(cases.c.id == case_id).values(updated_at=self._clock()))


def _next_number(conn: Connection, year: int) -> str:
    prefix = f"WH-{year:04d}-"
    existing = conn.execute(select(cases.c.id).where(cases.c.id.startswith(prefix))).scalars()
    highest = max((int(m.group(2)) for i in existing if (m := _NUMBER.match(i))), default=0)
    return f"{prefix}{highest + 1:04d}"
