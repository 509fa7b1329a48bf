"""User identities inside Windows records are pseudonymised; built-in principals stay readable."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.identity import Pseudonymizer, is_pseudonym
from watchhouse.detectors.sigma.rules import SigmaRulesDetector
from watchhouse.ingest.winlog import keeps_identity, pseudonymise_winlog
from watchhouse.testing.conformance import run_detector

KEY = b"winlog-identity-test-key-0000001"
ALICE_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


@pytest.mark.parametrize(
    "value",
    [
        "SYSTEM",
        "NT AUTHORITY\\SYSTEM",
        "NT AUTHORITY\\NETWORK SERVICE",
        "AUTORITE NT\\Système",
        "ANONYMOUS LOGON",
        "Window Manager\\DWM-1",
        "UMFD-0",
        "DC01$",
        "S-1-5-18",
        "S-1-5-19",
        "S-1-5-20",
        "S-1-0-0",
        "S-1-5-32-544",
        "S-1-5-21-3623811015-3361044348-30300820-500",
        "-",
    ],
)
def test_builtin_identities_stay(value: str) -> None:
    assert keeps_identity(value)


@pytest.mark.parametrize("value", ["alice", "CONTOSO\\alice", ALICE_SID, "CN=Alice,OU=Staff,DC=contoso,DC=com"])
def test_personal_identities_are_hashed(value: str) -> None:
    assert not keeps_identity(value)


def batch(records: Sequence[Mapping[str, str]], users: list[str | None]) -> EventBatch:
    n = len(records)
    return EventBatch.from_columns(
        Dataset.WINLOG,
        {
            "@timestamp": [datetime(2026, 1, 1, tzinfo=UTC)] * n,
            "log.file.path": ["Security.evtx"] * n,
            "log.offset": list(range(1, n + 1)),
            "host.name": ["ws17.contoso.com"] * n,
            "winlog.channel": ["Security"] * n,
            "winlog.event_id": [4625] * n,
            "winlog.user.identifier": users,
            "winlog.event_data": [json.dumps(r) for r in records],
        },
    )


RECORDS = [
    {"TargetUserName": "alice", "TargetUserSid": ALICE_SID, "SubjectUserName": "WS17$", "IpAddress": "10.1.1.1"},
    {"TargetUserName": "alice", "SubjectUserSid": "S-1-5-18", "SubjectUserName": "SYSTEM", "IpAddress": "10.1.1.1"},
    {"User": "CONTOSO\\bob", "Image": "C:\\Windows\\System32\\cmd.exe"},
    {"Image": "C:\\Users\\Public\\x.exe"},
]


def test_names_and_sids_never_leave_ingest_in_clear() -> None:
    seen: dict[str, str] = {}
    pseudonymizer = Pseudonymizer(KEY, on_mapping=seen.update)
    out = pseudonymise_winlog(batch(RECORDS, [ALICE_SID, "S-1-5-18", None, None]), pseudonymizer)
    text = json.dumps(out.table.to_pylist(), default=str)
    for secret in ("alice", "bob", ALICE_SID):
        assert secret not in text
    rows = [json.loads(t) for t in out.table.column("winlog.event_data").to_pylist()]
    assert rows[0]["TargetUserName"] == rows[1]["TargetUserName"] == Pseudonymizer(KEY).pseudonym("alice")
    assert is_pseudonym(rows[0]["TargetUserSid"]) and is_pseudonym(rows[2]["User"])
    assert rows[0]["SubjectUserName"] == "WS17$" and rows[1]["SubjectUserName"] == "SYSTEM"
    assert rows[1]["SubjectUserSid"] == "S-1-5-18" and rows[0]["IpAddress"] == "10.1.1.1"
    assert rows[3] == RECORDS[3]
    users = out.table.column("winlog.user.identifier").to_pylist()
    assert is_pseudonym(users[0]) and users[1:] == ["S-1-5-18", None, None]
    assert set(seen) == {"alice", "CONTOSO\\bob", ALICE_SID}  # the vault learns every pair
    again = pseudonymise_winlog(out, pseudonymizer)  # pseudonyms are never hashed twice
    assert again.table.equals(out.table)


RULES = """
title: Failed logon
id: 7b0c2a00-0000-4000-8000-000000000001
name: failed
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Failures for one account
id: 7b0c2a00-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules:
        - failed
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 2
level: high
---
title: System account named
id: 7b0c2a00-0000-4000-8000-000000000003
logsource:
    product: windows
    service: security
detection:
    selection:
        SubjectUserSid: S-1-5-18
        SubjectUserName|endswith: SYSTEM
    condition: selection
"""


def test_alerts_carry_pseudonyms_and_system_rules_still_match(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    events = pseudonymise_winlog(batch(RECORDS, [ALICE_SID, None, None, None]), Pseudonymizer(KEY))
    findings = run_detector(SigmaRulesDetector([tmp_path]), [events])
    assert {f.details["rule_id"][-1] for f in findings} == {"2", "3"}
    groups = {f.details["group"]["TargetUserName"] for f in findings if f.details["rule_id"].endswith("2")}
    assert groups == {Pseudonymizer(KEY).pseudonym("alice"), None}  # two rows name no account
    dumped = json.dumps([[f.details, f.subject.value, f.explanation] for f in findings])
    assert "alice" not in dumped and ALICE_SID not in dumped
