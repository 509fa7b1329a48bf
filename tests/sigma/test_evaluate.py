"""The evaluator's short cuts must never change a verdict: rules walked only when a necessary
leaf is live, and the cached answer for columns that are null on every row."""

from __future__ import annotations

from tests.sigma.helpers import rule

from watchhouse.sigma.compiler import Node
from watchhouse.sigma.engine import SigmaEngine
from watchhouse.sigma.evaluate import necessary, prepare

EVENTS: list[dict[str, object]] = [
    {"Image": r"C:\Windows\System32\cmd.exe", "CommandLine": "cmd.exe /c whoami", "User": "SYSTEM"},
    {"Image": r"C:\Tools\PowerShell.EXE", "CommandLine": "powershell -enc AAAA", "User": "alice"},
    {"Image": r"C:\x\notepad.exe", "CommandLine": "notepad.exe report.txt", "User": None},
]

DETECTIONS = [
    "sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel",
    "sel:\n    Image|endswith: '\\powershell.exe'\n    CommandLine|contains: ' -enc '\ncondition: sel",
    "sel:\n    Image|endswith: '\\wscript.exe'\ncondition: not sel",  # fires where nothing is live
    "sel:\n    User: 'SYSTEM'\nfilter:\n    CommandLine|contains: 'whoami'\ncondition: sel and not filter",
    "sel:\n    Image|endswith: '.exe'\nfilter:\n    User: null\ncondition: sel and not filter",
    "sel:\n    Hashes|exists: false\ncondition: sel",  # a field no record has
    "sel:\n    Hashes|contains: 'MD5='\ncondition: sel",
    "a:\n    Image|contains: 'tools'\nb:\n    CommandLine|contains: 'report'\ncondition: 1 of them",
]


def leaf(index: int) -> Node:
    return Node("leaf", leaf=index)


def test_necessary_leaves_of_and_or_not() -> None:
    selection = Node("or", (leaf(1), leaf(2)))
    routed = Node("and", (selection, leaf(7), Node("not", (leaf(3),))))
    # any operand of an "and" will do; the routing leaf 7 is avoided, the selection taken
    assert necessary(prepare(routed), frozenset({7})) == frozenset({1, 2})
    assert necessary(prepare(routed)) == frozenset({7})  # the smallest set when nothing is avoided
    assert necessary(prepare(Node("not", (leaf(3),)))) is None
    assert necessary(prepare(Node("or", (leaf(1), Node("not", (leaf(3),)))))) is None
    assert necessary(prepare(Node("false"))) == frozenset()


def test_a_pack_fires_exactly_as_its_rules_do_alone() -> None:
    """Rules walked only when a necessary leaf is live: the pack's answer is each rule's own."""
    rules = [rule(d) for d in DETECTIONS]
    together = SigmaEngine(rules).match_records(EVENTS)
    alone = {i: SigmaEngine([r]).match_records(EVENTS).get(0) for i, r in enumerate(rules)}
    assert together == {i: rows for i, rows in alone.items() if rows}
    assert together[2] == [0, 1, 2]  # "not sel" with sel false everywhere
    assert together[5] == [0, 1, 2] and 6 not in together  # Hashes is null on every row
    assert 3 not in together  # SYSTEM's only row is filtered
    assert together[4] == [0, 1] and together[7] == [1, 2]


def test_null_only_columns_answer_the_same_on_every_batch() -> None:
    engine = SigmaEngine([rule(d) for d in DETECTIONS])
    first = engine.match_records(EVENTS)
    assert engine.match_records(EVENTS) == first  # the second batch reads the cached answer
    assert engine.match_records(EVENTS[:1]) == {i: [0] for i, rows in first.items() if 0 in rows}
