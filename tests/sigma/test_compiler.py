from __future__ import annotations

import base64

import pytest
from tests.sigma.helpers import matching_rows, rule

from watchhouse.sigma.compiler import NullLogic
from watchhouse.sigma.engine import SigmaEngine, Status

EVENTS: list[dict[str, object]] = [
    {"Image": r"C:\Windows\System32\cmd.exe", "CommandLine": "cmd.exe /c whoami", "Port": "445", "Ip": "10.1.2.3"},
    {"Image": r"C:\Tools\PowerShell.EXE", "CommandLine": "powershell -enc AAAA", "Port": "80", "Ip": "192.168.0.9"},
    {"Image": r"C:\x\notcmd.exe.bak", "CommandLine": "Set-Thing", "Port": "abc", "Ip": None},
]


def test_plain_value_is_case_insensitive_equality() -> None:
    assert matching_rows("sel:\n    CommandLine: 'CMD.EXE /C WHOAMI'\ncondition: sel", EVENTS) == [0]


def test_endswith_startswith_contains() -> None:
    assert matching_rows("sel:\n    Image|endswith: '\\powershell.exe'\ncondition: sel", EVENTS) == [1]
    assert matching_rows("sel:\n    Image|startswith: 'c:\\windows\\'\ncondition: sel", EVENTS) == [0]
    assert matching_rows("sel:\n    CommandLine|contains: 'WHOAMI'\ncondition: sel", EVENTS) == [0]


def test_wildcards_and_escapes() -> None:
    assert matching_rows("sel:\n    Image: '*\\cmd.ex?'\ncondition: sel", EVENTS) == [0]
    assert matching_rows("sel:\n    CommandLine: 'cmd.exe /c who\\*'\ncondition: sel", EVENTS) == []
    assert matching_rows("sel:\n    CommandLine: 'cmd.exe /c who*'\ncondition: sel", EVENTS) == [0]


def test_contains_all_needs_every_value() -> None:
    det = "sel:\n    CommandLine|contains|all:\n        - 'cmd'\n        - 'whoami'\ncondition: sel"
    assert matching_rows(det, EVENTS) == [0]
    det = "sel:\n    CommandLine|contains|all:\n        - 'cmd'\n        - 'enc'\ncondition: sel"
    assert matching_rows(det, EVENTS) == []


def test_regex_is_case_sensitive_unless_flagged() -> None:
    assert matching_rows("sel:\n    CommandLine|re: '^CMD'\ncondition: sel", EVENTS) == []
    assert matching_rows("sel:\n    CommandLine|re|i: '^CMD'\ncondition: sel", EVENTS) == [0]


def test_cidr_and_numeric_comparisons() -> None:
    assert matching_rows("sel:\n    Ip|cidr: '10.0.0.0/8'\ncondition: sel", EVENTS) == [0]
    assert matching_rows("sel:\n    Port|gt: 100\ncondition: sel", EVENTS) == [0]
    assert matching_rows("sel:\n    Port|lte: 80\ncondition: sel", EVENTS) == [1]


def test_base64offset_and_windash() -> None:
    hidden = base64.b64encode(b"xxIEX (New-Object Net.WebClient)").decode()
    events: list[dict[str, object]] = [{"CommandLine": f"powershell -enc {hidden}"}, {"CommandLine": "cmd /c x"}]
    det = "sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\ncondition: sel"
    assert matching_rows(det, events) == [0]
    events = [{"CommandLine": "net user /add"}, {"CommandLine": "net user -add"}, {"CommandLine": "net user add"}]
    assert matching_rows("sel:\n    CommandLine|windash|contains: ' -add'\ncondition: sel", events) == [0, 1]


def test_exists_fieldref_and_null() -> None:
    assert matching_rows("sel:\n    Ip|exists: true\ncondition: sel", EVENTS) == [0, 1]
    assert matching_rows("sel:\n    Ip: null\ncondition: sel", EVENTS) == [2]
    events: list[dict[str, object]] = [{"A": "Same", "B": "same"}, {"A": "x", "B": "y"}]
    assert matching_rows("sel:\n    A|fieldref: B\ncondition: sel", events) == [0]


def test_conditions_of_patterns_and_not() -> None:
    det = """
    sel_a:
        Image|endswith: '\\cmd.exe'
    sel_b:
        Image|endswith: '\\powershell.exe'
    filter:
        CommandLine|contains: 'whoami'
    condition: 1 of sel_* and not filter
    """
    assert matching_rows(det, EVENTS) == [1]
    det = """
    sel_a:
        Image|contains: 'cmd'
    sel_b:
        CommandLine|contains: 'whoami'
    condition: all of them
    """
    assert matching_rows(det, EVENTS) == [0]


def test_keywords_search_every_field() -> None:
    det = "keywords:\n    - 'WHOAMI'\n    - 'set-thing'\ncondition: keywords"
    assert matching_rows(det, EVENTS) == [0, 2]


def test_missing_field_under_not_follows_sigma_or_sql_logic() -> None:
    det = "sel:\n    Ip|startswith: '10.'\ncondition: not sel"
    assert matching_rows(det, EVENTS) == [1, 2]  # Sigma: a missing field matches nothing
    assert matching_rows(det, EVENTS, NullLogic.SQL) == [1]  # SQL: NOT NULL stays unknown


def test_placeholders_expand_or_make_the_rule_unsupported() -> None:
    det = "sel:\n    Ip|expand: '%internal%'\ncondition: sel"
    assert matching_rows(det, EVENTS, placeholders={"internal": ["10.*", "192.168.*"]}) == [0, 1]
    engine = SigmaEngine([rule(det)])
    assert engine.verdicts[0].status is Status.UNSUPPORTED
    assert "%internal%" in engine.verdicts[0].reason


@pytest.mark.parametrize("value", ["abc", "", "a*b", "\\*"])
def test_lone_values_never_crash(value: str) -> None:
    det = f"sel:\n    CommandLine: '{value}'\ncondition: sel"
    assert isinstance(matching_rows(det, EVENTS), list)
