"""EventRef keeps the behaviour of the frozen dataclass it replaced (see its docstring for why).

The dataclass below is the old definition, kept here as the specification: every public
behaviour the rest of the office relies on (construction, attributes, repr, equality, hashing,
ordering, immutability, pickling, dict form) must come out the same for the same values.
"""

from __future__ import annotations

import copy
import itertools
import operator
import pickle
from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode


@dataclass(frozen=True, order=True, slots=True)
class DataclassRef:
    """The previous EventRef, field for field."""

    path: str
    line: int | None = None
    offset: int | None = None


DataclassRef.__name__ = DataclassRef.__qualname__ = "EventRef"

# lines of a file read by line, offsets of a stream, both, neither; two files; a big line number
VALUES: list[tuple[str, int | None, int | None]] = [
    ("/var/log/auth.log", 1, None),
    ("/var/log/auth.log", 2, None),
    ("/var/log/auth.log", 2, 4096),
    ("/var/log/auth.log.1", 1, None),
    ("journal", None, 0),
    ("journal", None, 123_456_789_012),
    ("auth.jsonl", 9_999_999, 1_048_576),
    ("", None, None),
]


def _outcome(compare: Any, left: Any, right: Any) -> Any:
    try:
        return compare(left, right)
    except TypeError:
        return TypeError


def test_construction_attributes_repr_and_hash_match_the_dataclass() -> None:
    for path, line, offset in VALUES:
        new, old = EventRef(path, line, offset), DataclassRef(path, line, offset)
        assert (new.path, new.line, new.offset) == (old.path, old.line, old.offset)
        assert repr(new) == repr(old)
        assert hash(new) == hash(old)  # the same hash value, not just a consistent one
        assert EventRef(path=path, line=line, offset=offset) == new
    assert EventRef("a.log") == EventRef("a.log", None, None)
    assert repr(EventRef("a.log", line=3)) == "EventRef(path='a.log', line=3, offset=None)"


def test_equality_and_ordering_between_references_match_the_dataclass() -> None:
    comparisons = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
    for (a, b), compare in itertools.product(itertools.product(VALUES, repeat=2), comparisons):
        assert _outcome(compare, EventRef(*a), EventRef(*b)) is _outcome(compare, DataclassRef(*a), DataclassRef(*b)), (
            compare,
            a,
            b,
        )
    in_order = [EventRef(*VALUES[i]) for i in (0, 1, 3)]
    assert sorted(reversed(in_order)) == in_order


def test_a_reference_is_not_the_tuple_of_its_fields() -> None:
    ref = EventRef("auth.log", 7, None)
    fields = ("auth.log", 7, None)
    assert ref != fields
    assert fields != ref
    assert not ref == fields  # noqa: SIM201 - the == operator itself is under test
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError):
            compare(ref, fields)
        with pytest.raises(TypeError):
            compare(fields, ref)
    # sets and dicts keyed by references treat them as references only
    assert fields not in {ref}
    assert {ref: 1}.get(EventRef("auth.log", 7)) == 1


def test_references_are_immutable_as_before() -> None:
    ref = EventRef("auth.log", 7, None)
    with pytest.raises(FrozenInstanceError):
        ref.line = 8  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        ref.extra = 1
    with pytest.raises(FrozenInstanceError):
        del ref.path
    assert ref == EventRef("auth.log", 7, None)


def test_pickling_copying_and_the_dict_form_round_trip() -> None:
    for values in VALUES:
        ref = EventRef(*values)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(ref, protocol))
            assert type(back) is EventRef
            assert back == ref
        assert copy.copy(ref) == ref
        assert copy.deepcopy(ref) == ref
        assert EventRef.from_dict(ref.to_dict()) == ref
    # the dict form leaves out what is unknown, exactly as stored alerts and exports expect
    assert EventRef("auth.log", 7).to_dict() == {"path": "auth.log", "line": 7}
    assert EventRef("journal", None, 0).to_dict() == {"path": "journal", "offset": 0}
    assert EventRef.from_dict({"path": "auth.log", "line": 7}) == EventRef("auth.log", 7)


def test_many_builds_the_same_references_and_shares_a_path_string() -> None:
    paths = [v[0] for v in VALUES]
    lines = [v[1] for v in VALUES]
    offsets = [v[2] for v in VALUES]
    built = EventRef.many(paths, lines, offsets)
    assert built == [EventRef(*v) for v in VALUES]
    assert all(type(ref) is EventRef for ref in built)
    path = "".join(["/var/log/", "auth.log"])  # one str object, as a reader hands it out
    shared = EventRef.many(itertools.repeat(path, 3), [1, 2, 3], itertools.repeat(None, 3))
    assert [ref.line for ref in shared] == [1, 2, 3]
    assert all(ref.path is path for ref in shared)
    assert EventRef.many([], [], []) == []
    with pytest.raises(ValueError):
        EventRef.many(["a.log", "a.log"], [1], [None, None])


def test_an_alert_with_references_round_trips_through_its_dict_form() -> None:
    evidence = tuple(EventRef(*v) for v in VALUES)
    finding = Finding(
        detector="failed_login_burst",
        key="source.ip:203.0.113.9:2026-03-02T00:00:00+00:00:/var/log/auth.log:1",
        crime_code=next(iter(CrimeCode)),
        stage=Stage.ATTEMPTED,
        severity=Severity.MEDIUM,
        confidence=0.8,
        title="Brute force",
        explanation="many failed logins",
        subject=Subject("source.ip", "203.0.113.9"),
        first_seen=datetime(2026, 3, 2, tzinfo=UTC),
        last_seen=datetime(2026, 3, 2, 0, 5, tzinfo=UTC),
        evidence=evidence,
    )
    alert = Alert.from_finding(finding, "1")
    stored = alert.to_dict()
    assert stored["evidence"][0] == {"path": "/var/log/auth.log", "line": 1}
    assert stored["evidence"][2] == {"path": "/var/log/auth.log", "line": 2, "offset": 4096}
    assert stored["evidence"][4] == {"path": "journal", "offset": 0}
    assert stored["evidence"][7] == {"path": ""}
    back = Alert.from_dict(stored)
    assert back.evidence == evidence
    assert back == alert
