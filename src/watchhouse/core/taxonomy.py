"""The fixed crime taxonomy every alert is filed under.

Watchhouse only detects crimes that have victims, so the taxonomy is closed: the offences of the
Council of Europe Convention on Cybercrime (ETS No. 185, "Budapest Convention") Articles 2-10,
plus illegal trade in weapons and drugs and known terrorist content matched by hash lists only.
There is deliberately no code for lawful speech of any kind. Article 11 (attempt, aiding and
abetting) is not a separate crime here but a modifier: see :class:`watchhouse.core.findings.Stage`.

Each entry carries its legal instrument and the tags other tools use for exchange: the MISP
``rsit`` (Reference Security Incident Taxonomy) machine tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BUDAPEST = "Council of Europe Convention on Cybercrime (ETS No. 185)"


class CrimeCode(StrEnum):
    """Stable codes: they are storage keys and must never be renamed."""

    ILLEGAL_ACCESS = "illegal_access"
    ILLEGAL_INTERCEPTION = "illegal_interception"
    DATA_INTERFERENCE = "data_interference"
    SYSTEM_INTERFERENCE = "system_interference"
    MISUSE_OF_DEVICES = "misuse_of_devices"
    COMPUTER_FORGERY = "computer_forgery"
    COMPUTER_FRAUD = "computer_fraud"
    CHILD_SEXUAL_ABUSE_MATERIAL = "child_sexual_abuse_material"
    COPYRIGHT_INFRINGEMENT = "copyright_infringement"
    ILLEGAL_TRADE_WEAPONS = "illegal_trade_weapons"
    ILLEGAL_TRADE_DRUGS = "illegal_trade_drugs"
    TERRORIST_CONTENT = "terrorist_content"


@dataclass(frozen=True)
class CrimeDefinition:
    """What a crime code means, which law defines it, and how it is tagged for exchange."""

    code: CrimeCode
    title: str
    instrument: str
    misp_rsit: str
    hash_list_only: bool = False


CRIMES: dict[CrimeCode, CrimeDefinition] = {
    d.code: d
    for d in (
        CrimeDefinition(
            CrimeCode.ILLEGAL_ACCESS,
            "Illegal access to a computer system",
            f"{BUDAPEST}, Article 2",
            'rsit:intrusion-attempts="exploit-known-vuln"',
        ),
        CrimeDefinition(
            CrimeCode.ILLEGAL_INTERCEPTION,
            "Illegal interception of non-public transmissions",
            f"{BUDAPEST}, Article 3",
            'rsit:information-content-security="unauthorised-information-access"',
        ),
        CrimeDefinition(
            CrimeCode.DATA_INTERFERENCE,
            "Damaging, deleting, altering or suppressing computer data",
            f"{BUDAPEST}, Article 4",
            'rsit:information-content-security="unauthorised-information-modification"',
        ),
        CrimeDefinition(
            CrimeCode.SYSTEM_INTERFERENCE,
            "Serious hindering of the functioning of a computer system",
            f"{BUDAPEST}, Article 5",
            'rsit:availability="ddos"',
        ),
        CrimeDefinition(
            CrimeCode.MISUSE_OF_DEVICES,
            "Producing, distributing or possessing devices or passwords to commit offences",
            f"{BUDAPEST}, Article 6",
            'rsit:malicious-code="malware-distribution"',
        ),
        CrimeDefinition(
            CrimeCode.COMPUTER_FORGERY,
            "Computer-related forgery (inauthentic data presented as authentic)",
            f"{BUDAPEST}, Article 7",
            'rsit:fraud="masquerade"',
        ),
        CrimeDefinition(
            CrimeCode.COMPUTER_FRAUD,
            "Computer-related fraud causing loss of property",
            f"{BUDAPEST}, Article 8",
            'rsit:fraud="phishing"',
        ),
        CrimeDefinition(
            CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL,
            "Offences related to child sexual abuse material",
            f"{BUDAPEST}, Article 9",
            'rsit:abusive-content="violence"',
            hash_list_only=True,
        ),
        CrimeDefinition(
            CrimeCode.COPYRIGHT_INFRINGEMENT,
            "Infringement of copyright and related rights on a commercial scale",
            f"{BUDAPEST}, Article 10",
            'rsit:fraud="copyright"',
        ),
        CrimeDefinition(
            CrimeCode.ILLEGAL_TRADE_WEAPONS,
            "Illegal trade in firearms, their parts and ammunition",
            "UN Firearms Protocol (A/RES/55/255), Article 5",
            'rsit:other="other"',
        ),
        CrimeDefinition(
            CrimeCode.ILLEGAL_TRADE_DRUGS,
            "Illicit trafficking in narcotic drugs and psychotropic substances",
            "UN Convention against Illicit Traffic in Narcotic Drugs (1988), Article 3",
            'rsit:other="other"',
        ),
        CrimeDefinition(
            CrimeCode.TERRORIST_CONTENT,
            "Known terrorist content (matched against hash lists only)",
            "Regulation (EU) 2021/784 on terrorist content online, Article 2(7)",
            'rsit:abusive-content="violence"',
            hash_list_only=True,
        ),
    )
}


def crime(code: CrimeCode | str) -> CrimeDefinition:
    """Look a crime up by code, refusing codes outside the fixed taxonomy."""
    return CRIMES[CrimeCode(code)]
