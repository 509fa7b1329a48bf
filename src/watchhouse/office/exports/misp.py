"""A case as a MISP event (``pymisp``), validated against the MISP event schema pymisp ships.

Tags carry the TLP 2.0 marking, a ``watchhouse:crime="<code>"`` machine tag per crime code and
the ``rsit:`` tag our taxonomy maps each crime to, so a receiving MISP can filter and correlate.
Attributes: ``ip-src`` per IP subject, ``url`` and ``user-agent`` when an alert recorded them,
``text`` for pseudonymous accounts (never a real identity) and for case notes.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, cast

import jsonschema
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


@functools.cache
def _misp_schema() -> jsonschema.Draft4Validator:
    """The MISP event schema (JSON Schema draft 4) as pymisp ships it, compiled once."""
    text = resources.files("pymisp").joinpath("data/schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


def validate_misp(text: str, event_uuid: str) -> None:
    """Check the event against MISP's schema, then load it back into a ``MISPEvent``.

    Why our own schema check: pymisp's ``load(..., validate=True)`` used to apply this schema but
    now only warns that the option is deprecated, so an export "validated" that way was never
    checked. The schema describes the ``{"Event": {...}}`` envelope MISP's API exchanges.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise IntegrityError(f"the MISP event is not JSON: {exc}") from exc
    errors = list(_misp_schema().iter_errors({"Event": document}))
    if errors:
        first = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in list(first.absolute_path)[1:]) or "(the event)"  # [0] is the envelope
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise IntegrityError(f"the MISP event does not validate at {where}: {first.message}{more}")
    loaded: Any = MISPEvent()
    try:
        loaded.load(text)
    except Exception as exc:  # pymisp raises its own errors for events it cannot read
        raise IntegrityError(f"the MISP event cannot be loaded back: {exc}") from exc
    if str(loaded.uuid) != event_uuid:
        raise IntegrityError("the MISP event lost its uuid when loaded back")
