"""A case as a STIX 2.1 bundle, built with the ``stix2`` library and validated by parsing it back.

One Report stands for the case and refers to everything else: observed-data for each alert
(ipv4-addr / ipv6-addr / url / user-account SCOs — accounts by pseudonym only), an Indicator per
IP subject, an Attack-pattern per crime code (citing its legal instrument) and per ATT&CK
technique where an alert carries one, and a Note per case note. SDO ids are uuid5 of the case
object they stand for, so re-exporting a case updates the same objects instead of inventing new
ones; SCO ids are stix2's own deterministic ids.
"""

from __future__ import annotations

from typing import Any, cast

import stix2

from watchhouse.core.taxonomy import CRIMES, CrimeCode
from watchhouse.office.cases.models import Tlp
from watchhouse.office.errors import IntegrityError
from watchhouse.office.exports.bundle import (
    CaseBundle,
    stable_uuid,
    subject_of,
    techniques_of,
    url_of,
)

_TLP = {
    Tlp.CLEAR: stix2.TLP_WHITE,
    Tlp.GREEN: stix2.TLP_GREEN,
    Tlp.AMBER: stix2.TLP_AMBER,
    Tlp.AMBER_STRICT: stix2.TLP_AMBER,
    Tlp.RED: stix2.TLP_RED,
}
"""stix2 ships the TLP 1.0 marking definitions; AMBER+STRICT maps to AMBER and keeps its exact
TLP 2.0 name as a report label."""


def _sid(kind: str, *parts: str) -> str:
    return f"{kind}--{stable_uuid(kind, *parts)}"


def case_to_stix(bundle: CaseBundle) -> str:
    case = bundle.case_file.case
    now = bundle.generated_at
    marking = _TLP[case.tlp]
    common: dict[str, Any] = {"created": now, "modified": now, "object_marking_refs": [marking]}
    identity = stix2.Identity(
        id=_sid("identity", "watchhouse-office"), name="Watchhouse office", identity_class="organization", **common
    )
    common["created_by_ref"] = identity.id
    report_id = _sid("report", case.id)
    objects: list[Any] = [identity]
    patterns: dict[str, Any] = {}

    def crime_pattern(code: CrimeCode) -> Any:
        if code.value not in patterns:
            definition = CRIMES[code]
            patterns[code.value] = stix2.AttackPattern(
                id=_sid("attack-pattern", "crime", code.value),
                name=definition.title,
                description=definition.instrument,
                external_references=[
                    {"source_name": "watchhouse-crime", "external_id": code.value, "description": definition.instrument}
                ],
                **common,
            )
        return patterns[code.value]

    for code in case.crime_codes:
        crime_pattern(code)
    for alert in bundle.alerts:
        subject = subject_of(alert)
        observables: list[Any] = []
        if subject.kind == "ipv4":
            observables.append(stix2.IPv4Address(value=subject.value))
        elif subject.kind == "ipv6":
            observables.append(stix2.IPv6Address(value=subject.value))
        elif subject.kind == "account":
            observables.append(stix2.UserAccount(user_id=subject.value, display_name=subject.value))
        url = url_of(alert)
        if url:
            observables.append(stix2.URL(value=url))
        if observables:
            objects.extend(observables)
            objects.append(
                stix2.ObservedData(
                    id=_sid("observed-data", alert.id),
                    first_observed=alert.first_seen,
                    last_observed=alert.last_seen,
                    number_observed=max(1, len(alert.evidence)),
                    object_refs=[o.id for o in observables],
                    **common,
                )
            )
        pattern = crime_pattern(alert.crime_code)
        if subject.kind in ("ipv4", "ipv6"):
            indicator = stix2.Indicator(
                id=_sid("indicator", alert.id),
                name=alert.title,
                description=alert.explanation,
                indicator_types=["malicious-activity"],
                pattern=f"[{subject.kind}-addr:value = '{subject.value}']",
                pattern_type="stix",
                valid_from=alert.first_seen,
                **common,
            )
            objects.append(indicator)
            objects.append(
                stix2.Relationship(
                    id=_sid("relationship", alert.id, "indicates", pattern.id),
                    relationship_type="indicates",
                    source_ref=indicator.id,
                    target_ref=pattern.id,
                    **common,
                )
            )
        for technique in techniques_of(alert):
            if technique not in patterns:
                patterns[technique] = stix2.AttackPattern(
                    id=_sid("attack-pattern", "mitre", technique),
                    name=technique,
                    external_references=[{"source_name": "mitre-attack", "external_id": technique}],
                    **common,
                )
    objects.extend(patterns.values())
    for note in bundle.case_file.notes:
        objects.append(
            stix2.Note(
                id=_sid("note", case.id, str(note.id)),
                content=note.body,
                authors=[note.author],
                object_refs=[report_id],
                **common,
            )
        )
    report = stix2.Report(
        id=report_id,
        name=f"{case.id}: {case.title}",
        description=f"Watchhouse case {case.id}, status {case.status.value}, severity {case.severity}.",
        published=now,
        report_types=["threat-report"],
        labels=[f"tlp:{case.tlp.value.lower()}", *(f"watchhouse-crime:{c.value}" for c in case.crime_codes)],
        object_refs=[o.id for o in objects],
        **common,
    )
    text = cast(str, stix2.Bundle(objects=[report, *objects], allow_custom=False).serialize(pretty=True))
    validate_stix(text, report_id)
    return text


def validate_stix(text: str, report_id: str) -> None:
    """Parse the bundle back with stix2 (no custom content allowed) and check the report survived."""
    try:
        parsed = stix2.parse(text, allow_custom=False)
    except Exception as exc:  # stix2 raises many unrelated types; any of them means "not valid"
        raise IntegrityError(f"the STIX bundle does not validate: {exc}") from exc
    if not any(getattr(o, "id", None) == report_id for o in parsed.objects):
        raise IntegrityError("the STIX bundle lost its report when parsed back")
