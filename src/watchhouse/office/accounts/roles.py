"""Roles and the one permission table every entry point (API, console, CLI) consults.

Keeping the table here, next to the accounts, means a reviewer reads one dictionary to know who
may do what; the web layer asks :func:`allowed` and never decides on its own. Need-to-know,
four-eyes and the reveal rate limit stay in the office services: a role lets someone *try*, the
service still decides about each case.

The disclosure workflow is split over three permissions: investigators and legal *request*;
approvers, legal and admins *approve*; only legal and admins *produce*. Legal holds all three, so
what keeps one person from carrying a request from receipt to production is the service's
four-eyes rule (two approvers, neither of them the requester), not the table. The ``approver``
role holds nothing else: someone asked to sign off a disclosure (a data-protection officer, a
manager) need not read alerts or cases to do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    ANALYST = "analyst"
    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    APPROVER = "approver"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    ALERT_READ = "alert:read"
    ALERT_TRIAGE = "alert:triage"
    CASE_READ = "case:read"
    CASE_WRITE = "case:write"
    EVIDENCE_READ = "evidence:read"
    EVIDENCE_SEAL = "evidence:seal"
    EVIDENCE_EXPORT = "evidence:export"
    IDENTITY_REVEAL = "identity:reveal"
    CASE_EXPORT = "case:export"
    DISCLOSURE_READ = "disclosure:read"
    DISCLOSURE_REQUEST = "disclosure:request"
    DISCLOSURE_APPROVE = "disclosure:approve"
    DISCLOSURE_PRODUCE = "disclosure:produce"
    REPORT_READ = "report:read"
    AUDIT_READ = "audit:read"
    ACCOUNT_ADMIN = "account:admin"


_A, _I, _L, _P, _U, _D = Role.ANALYST, Role.INVESTIGATOR, Role.LEGAL, Role.APPROVER, Role.AUDITOR, Role.ADMIN

PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.ALERT_READ: frozenset({_A, _I, _L, _D}),
    Permission.ALERT_TRIAGE: frozenset({_A, _I, _D}),
    Permission.CASE_READ: frozenset({_A, _I, _L, _D}),
    Permission.CASE_WRITE: frozenset({_A, _I, _D}),
    Permission.EVIDENCE_READ: frozenset({_A, _I, _L, _D}),
    Permission.EVIDENCE_SEAL: frozenset({_A, _I, _D}),
    Permission.EVIDENCE_EXPORT: frozenset({_I, _L, _D}),
    Permission.IDENTITY_REVEAL: frozenset({_A, _I, _L, _D}),
    Permission.CASE_EXPORT: frozenset({_I, _L, _D}),
    Permission.DISCLOSURE_READ: frozenset({_I, _L, _P, _D}),
    Permission.DISCLOSURE_REQUEST: frozenset({_I, _L, _D}),
    Permission.DISCLOSURE_APPROVE: frozenset({_L, _P, _D}),
    Permission.DISCLOSURE_PRODUCE: frozenset({_L, _D}),
    Permission.REPORT_READ: frozenset({_L, _D}),
    Permission.AUDIT_READ: frozenset({_U, _D}),
    Permission.ACCOUNT_ADMIN: frozenset({_D}),
}
"""Who may attempt what. The auditor reads the audit log and nothing else (least privilege: checking
the record does not need the content); only investigators, legal and admins take evidence or a
case export out. Disclosure: request (open, attach an emergency's follow-up instrument), approve
(start review, sign off, reject), produce (seal and hand over, close). The transparency report is
the legal team's to publish; the auditor checks its generation in the audit log instead."""


def allowed(roles: Iterable[Role], permission: Permission) -> bool:
    return any(role in PERMISSIONS[permission] for role in roles)


def parse_roles(text: str | Iterable[str]) -> tuple[Role, ...]:
    """Roles from ``"analyst,legal"`` or a list; unknown names are an error, not silently dropped."""
    names = text.split(",") if isinstance(text, str) else list(text)
    out: list[Role] = []
    for name in (n.strip().lower() for n in names):
        if not name:
            continue
        try:
            out.append(Role(name))
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {name!r}; expected one of {valid}") from None
    return tuple(sorted(set(out)))
