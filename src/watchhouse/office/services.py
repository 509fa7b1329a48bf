"""Composition of the office services over one database, for the CLI today and the API later.

Everything is passed in (URL, key path, evidence folder, clock): the caller — the composition
root — decides where things live; nothing here reads environment or global settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from watchhouse.office.accounts.models import LoginPolicy
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.sealing import load_or_create_totp_key
from watchhouse.office.accounts.service import AccountService
from watchhouse.office.audit.keyring import KeyStore
from watchhouse.office.audit.log import DEFAULT_CHECKPOINT_EVERY, AuditLog
from watchhouse.office.cases.service import CaseService
from watchhouse.office.disclosure.models import DisclosurePolicy
from watchhouse.office.disclosure.service import DisclosureService
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.office.evidence.vault import Vault
from watchhouse.office.exports.service import CaseExports
from watchhouse.office.identity.keys import load_or_create_vault_key
from watchhouse.office.identity.vault import IdentityVault, RevealPolicy
from watchhouse.office.portal.crypto import PortalKeys, load_or_create_portal_key
from watchhouse.office.portal.desk import PortalDesk
from watchhouse.office.portal.service import PortalService
from watchhouse.office.reports.transparency import TransparencyReports
from watchhouse.office.triage.service import AlertService
from watchhouse.office.triage.suppressions import SuppressionRules
from watchhouse.storage.alert_store import AlertStore
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OfficeLocation:
    database_url: str
    signing_key: Path
    evidence_dir: Path
    vault_key: Path | None = None
    """AES key of the identity vault; without it the office runs with no vault (reveals impossible)."""
    reveal_policy: RevealPolicy = field(default_factory=RevealPolicy)
    disclosure_policy: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    """How long an emergency disclosure may wait for its follow-up legal instrument (default 72 h)."""
    password_cost: PasswordCost = field(default_factory=PasswordCost)
    """argon2id cost of new password hashes (tests lower it; stored hashes carry their own, and
    are rehashed at the next login when this changes)."""
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    portal_key: Path | None = None
    """Root key of the report portal (contact encryption, reporter pseudonyms, portal tokens);
    default ``portal-contact.key`` beside the audit signing key, in the office home."""
    portal_ignore_hosts: frozenset[str] = frozenset()
    """Hosts too common to group reports by (the platform's own domain, big webmail providers)."""
    totp_key: Path | None = None
    """AES key sealing the accounts' TOTP secrets; default ``totp-secrets.key`` beside the audit
    signing key, so a copied database alone does not hand over anyone's second factor."""
    audit_witness: Path | None = None
    """Append-only file receiving every signed audit tree head, outside the database; default
    ``audit-witness.jsonl`` beside the audit signing key (ADR 0010)."""


@dataclass(frozen=True)
class Office:
    engine: Engine
    audit: AuditLog
    evidence: EvidenceService
    alerts: AlertStore
    triage: AlertService
    suppressions: SuppressionRules
    cases: CaseService
    identities: IdentityVault | None
    accounts: AccountService
    disclosures: DisclosureService
    transparency: TransparencyReports
    exports: CaseExports
    portal: PortalService
    """The public report portal's reporter side (submit, status, add, appeal)."""
    portal_desk: PortalDesk
    """The office side of the portal (queue, campaigns, decisions, appeals, invalidation)."""

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Office:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_office(where: OfficeLocation, clock: Callable[[], datetime] = utc_now) -> Office:
    engine = open_engine(where.database_url)
    upgrade(engine)
    keys = KeyStore(where.signing_key)
    audit = AuditLog(
        engine,
        keys.signer(),
        clock,
        keys=keys,
        witness=where.audit_witness or where.signing_key.with_name("audit-witness.jsonl"),
        checkpoint_every=DEFAULT_CHECKPOINT_EVERY,
    )
    evidence = EvidenceService(engine, Vault(where.evidence_dir), audit, clock)
    suppressions = SuppressionRules(engine, audit, clock)
    cases = CaseService(engine, audit, clock)
    identities = None
    if where.vault_key is not None:
        key = load_or_create_vault_key(where.vault_key)
        identities = IdentityVault(engine, audit, cases, key, clock, where.reveal_policy)
    alerts = AlertStore(engine)
    portal_keys = PortalKeys(
        load_or_create_portal_key(where.portal_key or where.signing_key.with_name("portal-contact.key"))
    )
    return Office(
        engine=engine,
        audit=audit,
        evidence=evidence,
        alerts=alerts,
        triage=AlertService(engine, audit, suppressions, clock),
        suppressions=suppressions,
        cases=cases,
        identities=identities,
        accounts=AccountService(
            engine,
            audit,
            clock,
            where.password_cost,
            where.login_policy,
            totp_key=load_or_create_totp_key(where.totp_key or where.signing_key.with_name("totp-secrets.key")),
        ),
        disclosures=DisclosureService(engine, audit, cases, evidence, clock, where.disclosure_policy),
        transparency=TransparencyReports(engine, audit, clock),
        exports=CaseExports(engine, cases, alerts, evidence, clock),
        portal=PortalService(engine, audit, evidence, portal_keys, clock),
        portal_desk=PortalDesk(engine, audit, portal_keys, clock, where.portal_ignore_hosts),
    )
