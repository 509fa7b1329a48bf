"""An office over a fresh database with a ticking clock, and alerts to triage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import EventRef, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.identity.vault import RevealPolicy
from watchhouse.office.services import Office, OfficeLocation, open_office

from .audit_helpers import T0, ticking_clock

CHEAP_PASSWORDS = PasswordCost(time_cost=1, memory_kib=1024, parallelism=1)
"""argon2id at test cost: the office tests check who may log in, not how slow guessing is."""


def make_office(url: str, tmp_path: Path, policy: RevealPolicy | None = None) -> Office:
    where = OfficeLocation(
        url,
        tmp_path / "audit-signing.key",
        tmp_path / "evidence",
        vault_key=tmp_path / "identity-vault.key",
        reveal_policy=policy or RevealPolicy(),
        password_cost=CHEAP_PASSWORDS,
    )
    return open_office(where, ticking_clock())


def alert(
    n: int,
    *,
    detector: str = "web.attack_patterns",
    ip: str = "203.0.113.9",
    crime: CrimeCode = CrimeCode.ILLEGAL_ACCESS,
    severity: Severity = Severity.HIGH,
    minutes: int = 0,
    target: str = "/login",
) -> Alert:
    seen = T0 + timedelta(minutes=minutes)
    return Alert(
        id=f"wh-{n:024d}",
        detector=detector,
        detector_version="1",
        key=f"k{n}",
        crime_code=crime,
        stage=Stage.ATTEMPTED,
        severity=severity,
        confidence=0.9,
        title=f"alert {n}",
        explanation="matched",
        subject=Subject("source.ip", ip),
        first_seen=seen,
        last_seen=seen + timedelta(seconds=30),
        evidence=(EventRef("/var/log/access.log", n),),
        details={"url.path": target},
    )
