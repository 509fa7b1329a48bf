"""A disclosure-ready office (short emergency follow-up window) and well-formed requests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from watchhouse.core.identity import Pseudonymizer
from watchhouse.office.disclosure.models import (
    Authority,
    DataCategory,
    DisclosurePolicy,
    DisclosureRequest,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.services import Office, OfficeLocation, open_office

from .audit_helpers import ticking_clock

PSEUDONYMS = Pseudonymizer(b"k" * 32)
ALICE = PSEUDONYMS.pseudonym("alice@example.org")
BOB = PSEUDONYMS.pseudonym("bob@example.org")
ORDER = LegalBasis("production order", "AZ 12 Js 345/26", "Amtsgericht Berlin-Tiergarten")
SCOPE = Scope((ALICE, BOB), date(2026, 1, 1), date(2026, 2, 28), (DataCategory.SUBSCRIBER, DataCategory.IP_LOGS))
NOTIFY = UserNotice(NoticeDecision.NOTIFY)


def make_office(url: str, tmp_path: Path, followup: timedelta = timedelta(seconds=30)) -> Office:
    """Each clock call is one second, so a 30 s follow-up window runs out after ~30 office actions."""
    where = OfficeLocation(
        url,
        tmp_path / "audit-signing.key",
        tmp_path / "evidence",
        vault_key=tmp_path / "identity-vault.key",
        disclosure_policy=DisclosurePolicy(emergency_followup=followup),
    )
    return open_office(where, ticking_clock())


def request(
    office: Office,
    *,
    actor: str = "rita",
    country: str = "DE",
    kind: RequestType = RequestType.SUBSCRIBER_INFO,
    basis: LegalBasis | None = ORDER,
    scope: Scope = SCOPE,
    case: str | None = None,
    justification: str | None = None,
) -> DisclosureRequest:
    return office.disclosures.open(
        actor,
        Authority("Bundeskriminalamt", country),
        kind,
        basis,
        scope,
        NOTIFY,
        case=case,
        justification=justification,
    )
