"""A case as a MISP event (``pymisp``), validated by loading the JSON back against MISP's schema.

Tags carry the TLP 2.0 marking, a ``watchhouse:crime="<code>"`` machine tag per crime code and
the ``rsit:`` tag our taxonomy maps each crime to, so a receiving MISP can filter and correlate.
Attributes: ``ip-src`` per IP subject, ``url`` and ``user-agent`` when an alert recorded them,
``text`` for pseudonymous accounts (never a real identity) and for case notes.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

from pymisp import MISPEvent

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CRIMES
from watchhouse.office.cases.models import CaseStatus
from watchhouse.office.errors import IntegrityError
from watchhouse.office.exports.bundle import CaseBundle, stable_uuid, subject_of, url_of, user_agent_of

_THREAT_LEVEL = {Severity.CRITICAL: 1, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3, Severity.INFO: 4}


def case_to_misp(bundle: CaseBundle) -> str:
    case = bundle.case_file.case
    event: Any = MISPEvent()
    event.uuid = stable_uuid("misp-event", case.id)
    event.info = f"{case.id}: {case.title}"
    event.date = case.created_at.date()
    event.threat_level_id = _THREAT_LEVEL.get(case.severity, 2)
    event.analysis = 2 if case.status is CaseStatus.CLOSED else 1
    event.distribution = 0
    event.add_tag(f"tlp:{case.tlp.value.lower()}")
    for code in dict.fromkeys([*case.crime_codes, *(a.crime_code for a in bundle.alerts)]):
        event.add_tag(f'watchhouse:crime="{code.value}"')
        event.add_tag(CRIMES[code].misp_rsit)
    seen: set[tuple[str, str]] = set()

    def attribute(kind: str, value: str, category: str, comment: str, to_ids: bool) -> None:
        if (kind, value) in seen:
            return
        seen.add((kind, value))
        event.add_attribute(
            kind,
            value,
            category=category,
            comment=comment[:200],
            to_ids=to_ids,
            uuid=stable_uuid("misp-attribute", case.id, kind, value),
        )

    for alert in bundle.alerts:
        subject = subject_of(alert)
        if subject.kind in ("ipv4", "ipv6"):
            attribute("ip-src", subject.value, "Network activity", alert.title, True)
        elif subject.kind == "account":
            attribute("text", subject.value, "Other", f"pseudonymous account ({alert.subject.kind})", False)
        url = url_of(alert)
        if url:
            attribute("url", url, "Network activity", alert.title, False)
        agent = user_agent_of(alert)
        if agent:
            attribute("user-agent", agent, "Network activity", alert.title, False)
    for note in bundle.case_file.notes:
        attribute("text", note.body, "Other", f"case note {note.id} by {note.author}", False)
    text = cast(str, event.to_json(indent=2))
    validate_misp(text, str(event.uuid))
    return text


def validate_misp(text: str, event_uuid: str) -> None:
    """Load the JSON back into a MISPEvent with pymisp's schema validation switched on."""
    loaded: Any = MISPEvent()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pymisp calls the schema "deprecated"; we want it anyway
            loaded.load(text, validate=True)
    except Exception as exc:  # pymisp raises jsonschema and its own errors; all mean "not valid"
        raise IntegrityError(f"the MISP event does not validate: {exc}") from exc
    if str(loaded.uuid) != event_uuid:
        raise IntegrityError("the MISP event lost its uuid when loaded back")
