"""From a Sigma rule's ATT&CK tags and log source to a crime code and a severity.

Sigma rules describe techniques, not offences; the Budapest Convention describes offences. The
mapping goes by what the technique does to the victim: destroying or altering data is Art. 4,
hindering a system Art. 5, sniffing traffic Art. 3, stealing credentials (possessing access
codes) Art. 6, and everything else an intruder does on a system is Art. 2, illegal access.
Specific technique ids win over tactics; the first rule that matches decides.
"""

from __future__ import annotations

from sigma.rule import SigmaRule
from sigma.rule.attributes import SigmaLevel

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode

# (technique id prefixes, crime) — checked in order
_TECHNIQUES: tuple[tuple[tuple[str, ...], CrimeCode], ...] = (
    (("t1498", "t1499"), CrimeCode.SYSTEM_INTERFERENCE),  # network / endpoint denial of service
    (("t1040", "t1557", "t1111"), CrimeCode.ILLEGAL_INTERCEPTION),  # sniffing, adversary-in-the-middle
    (("t1485", "t1486", "t1490", "t1491", "t1561", "t1565", "t1070"), CrimeCode.DATA_INTERFERENCE),
    (("t1489", "t1529", "t1496"), CrimeCode.SYSTEM_INTERFERENCE),  # service stop, shutdown, hijacking
    (("t1003", "t1555", "t1552", "t1558", "t1110"), CrimeCode.MISUSE_OF_DEVICES),  # credential theft
    (("t1566", "t1656"), CrimeCode.COMPUTER_FRAUD),  # phishing, impersonation
)
_TACTICS: tuple[tuple[str, CrimeCode], ...] = (
    ("impact", CrimeCode.DATA_INTERFERENCE),
    ("credential_access", CrimeCode.MISUSE_OF_DEVICES),
)

_SEVERITY = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def attack_tags(rule: SigmaRule) -> tuple[str, ...]:
    return tuple(f"{t.namespace}.{t.name}" for t in rule.tags if t.namespace == "attack")


def crime_code(rule: SigmaRule) -> CrimeCode:
    names = [t.name.lower() for t in rule.tags if t.namespace == "attack"]
    for prefixes, code in _TECHNIQUES:
        if any(n.startswith(prefixes) for n in names):
            return code
    for tactic, code in _TACTICS:
        if tactic in names:
            return code
    return CrimeCode.ILLEGAL_ACCESS


def severity(level: SigmaLevel | None) -> Severity:
    """Sigma's level names are ours, informational aside; an unset level is medium."""
    return _SEVERITY.get(str(level).lower(), Severity.MEDIUM) if level is not None else Severity.MEDIUM
