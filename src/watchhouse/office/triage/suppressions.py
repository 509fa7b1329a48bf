"""Suppression rules born of verdicts: stored in the office database, exported as the scan's TOML.

The database is the source of truth (who made a rule, from which alert, when it was revoked, all
audited); the scan keeps reading the plain ``[[suppress]]`` TOML of ``detect/suppression.py`` so
detection stays free of database access. :func:`export_toml` regenerates that file from the
active rules after every change (see docs/adr/0005-identity-vault.md, "Suppression rules").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.suppression import Suppression
from watchhouse.office.audit.entries import Action, ObjectType
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import NotFoundError
from watchhouse.office.triage.tables import suppression_rules

MAX_LIFETIME = timedelta(days=365)
"""A suppression may not outlive a year: permanent silence is how real attacks hide."""


@dataclass(frozen=True)
class StoredRule:
    id: int
    rule: Suppression
    created_at: datetime
    from_alert: str | None
    revoked_by: str | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.rule.active(now)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SuppressionRules:
    def __init__(self, engine: Engine, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock

    def check(self, reason: str, expires: datetime) -> datetime:
        """Refuse a rule without a reason or with an expiry in the past or beyond :data:`MAX_LIFETIME`."""
        if not reason.strip():
            raise UsageError("a suppression needs a reason")
        expires = _utc(expires)
        now = self._clock()
        if expires <= now:
            raise UsageError(f"a suppression must expire in the future, not {expires.isoformat()}")
        if expires - now > MAX_LIFETIME:
            raise UsageError(f"a suppression may last at most {MAX_LIFETIME.days} days")
        return expires

    def create(self, conn: Connection, actor: str, rule: Suppression, from_alert: str | None = None) -> int:
        """Store one rule inside the caller's audited transaction; returns its id."""
        expires = self.check(rule.reason, rule.expires)
        new_id = conn.execute(
            suppression_rules.insert().values(
                detector=rule.detector,
                crime_code=rule.crime_code.value if rule.crime_code else None,
                subject=rule.subject,
                reason=rule.reason,
                expires_at=expires,
                created_by=actor,
                created_at=self._clock(),
                from_alert=from_alert,
            )
        ).inserted_primary_key
        assert new_id is not None
        self._audit.append(
            actor,
            Action.CREATE,
            ObjectType.SUPPRESSION,
            str(new_id[0]),
            rule.reason,
            {
                "detector": rule.detector,
                "crime_code": rule.crime_code.value if rule.crime_code else None,
                "subject": rule.subject,
                "expires": expires.isoformat(),
                "from_alert": from_alert,
            },
            conn=conn,
        )
        return int(new_id[0])

    def revoke(self, actor: str, rule_id: int, reason: str) -> None:
        if not reason.strip():
            raise UsageError("revoking a suppression needs a reason")
        with self._audit.transaction() as conn:
            row = conn.execute(select(suppression_rules).where(suppression_rules.c.id == rule_id)).first()
            if row is None:
                raise NotFoundError(f"no suppression rule {rule_id}")
            if row.revoked_at is not None:
                raise UsageError(f"suppression rule {rule_id} was already revoked by {row.revoked_by}")
            conn.execute(
                update(suppression_rules)
                .where(suppression_rules.c.id == rule_id)
                .values(revoked_by=actor, revoked_at=self._clock())
            )
            self._audit.append(
                actor, Action.CHANGE, ObjectType.SUPPRESSION, str(rule_id), reason, {"op": "revoke"}, conn=conn
            )

    def all(self) -> list[StoredRule]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(suppression_rules).order_by(suppression_rules.c.id))
            return [_stored(r) for r in rows]

    def active(self) -> list[Suppression]:
        now = self._clock()
        return [r.rule for r in self.all() if r.active(now)]

    def export_toml(self, path: Path) -> int:
        """Write the active rules as ``[[suppress]]`` TOML (atomically); returns how many."""
        rules = self.active()
        lines = ["# Generated by Watchhouse from the office database; edit with `watchhouse alerts suppressions`.\n"]
        for rule in rules:
            lines.append("\n[[suppress]]\n")
            lines.append(f"reason = {_toml_string(rule.reason)}\n")
            lines.append(f"expires = {rule.expires.astimezone(UTC).isoformat()}\n")
            for key, value in (
                ("detector", rule.detector),
                ("crime_code", rule.crime_code.value if rule.crime_code else None),
                ("subject", rule.subject),
                ("created_by", rule.created_by),
            ):
                if value is not None:
                    lines.append(f"{key} = {_toml_string(value)}\n")
        temporary = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text("".join(lines), encoding="utf-8")
            temporary.replace(path)
        except OSError as exc:
            raise InputError(f"cannot write suppressions: {exc.strerror}", path=str(path)) from exc
        return len(rules)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's ASCII escapes (``\\" \\\\ \\n \\uXXXX``) are all valid TOML."""
    return json.dumps(value, ensure_ascii=True)


def _stored(row: object) -> StoredRule:
    r = row._mapping  # type: ignore[attr-defined]
    return StoredRule(
        id=int(r["id"]),
        rule=Suppression(
            reason=r["reason"],
            expires=_utc(r["expires_at"]),
            detector=r["detector"],
            crime_code=CrimeCode(r["crime_code"]) if r["crime_code"] else None,
            subject=r["subject"],
            created_by=r["created_by"],
        ),
        created_at=_utc(r["created_at"]),
        from_alert=r["from_alert"],
        revoked_by=r["revoked_by"],
        revoked_at=_utc(r["revoked_at"]) if r["revoked_at"] is not None else None,
    )
