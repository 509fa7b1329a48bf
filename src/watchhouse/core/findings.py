"""What detectors report: findings about a subject, backed by references to input rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from itertools import repeat
from typing import Any, NamedTuple

from watchhouse.core.taxonomy import CrimeCode


class Severity(IntEnum):
    """Ordered so thresholds compare naturally (``severity >= Severity.HIGH``)."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


class Stage(StrEnum):
    """Budapest Convention Article 11 as a modifier: was the offence only tried, or done?"""

    ATTEMPTED = "attempted"
    COMPLETED = "completed"


class EventRef(NamedTuple):
    """Where an input row came from: a file and line, or a stream and byte offset.

    Why a named tuple and not a frozen dataclass: a brute-force report cites most of the lines
    of an sshd log (~640,000 references per million lines), and a frozen dataclass sets each
    field through ``object.__setattr__`` in a Python ``__init__`` (about 500 ns a reference),
    which made building references the largest single cost of reading an sshd log. A tuple is
    built in C (:meth:`many` builds a whole column of them at ~150 ns each) and hashes in C.
    It keeps the dataclass's behaviour: keyword construction, the same ``repr``, equality,
    ordering and hashing (the same hash value) among references only, immutability raising
    :class:`~dataclasses.FrozenInstanceError`, pickling, and :meth:`to_dict` / :meth:`from_dict`
    for storage and exports. A reference never equals the plain tuple of its fields. The price
    is 8 bytes more per reference (a tuple stores its length): 64 instead of 56.
    """

    path: str
    line: int | None = None
    offset: int | None = None

    @classmethod
    def many(cls, paths: Iterable[str], lines: Iterable[int | None], offsets: Iterable[int | None]) -> list[EventRef]:
        """One reference per position of the three columns of Python values (equally long, or
        ValueError: pass ``itertools.repeat(value, n)``, with its count, for a constant column).

        Why: building a finding's evidence one ``EventRef(...)`` at a time runs a Python
        ``__new__`` per row; this builds every tuple in C. Pass the same ``str`` object for rows
        of one file and the references share it instead of holding one copy of the path each.
        """
        return list(map(_new_tuple, repeat(cls), zip(paths, lines, offsets, strict=True)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.line is not None:
            out["line"] = self.line
        if self.offset is not None:
            out["offset"] = self.offset
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventRef:
        return cls(path=str(data["path"]), line=data.get("line"), offset=data.get("offset"))

    # Comparisons hold between references only, as the dataclass's did: a reference is not the
    # tuple ("a.log", 3, None), and ordering one against a tuple raises TypeError. The hash stays
    # the tuple's (the hash of the fields, as the dataclass's was): NamedTuple copies these
    # methods onto a finished class, so defining __eq__ does not unset __hash__ (tested).
    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> bool:
        return tuple.__lt__(self, _same_kind(self, other))

    def __le__(self, other: object) -> bool:
        return tuple.__le__(self, _same_kind(self, other))

    def __gt__(self, other: object) -> bool:
        return tuple.__gt__(self, _same_kind(self, other))

    def __ge__(self, other: object) -> bool:
        return tuple.__ge__(self, _same_kind(self, other))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


_new_tuple = tuple.__new__


def _same_kind(ref: EventRef, other: object) -> EventRef:
    """``other`` when it is a reference too; otherwise the TypeError the dataclass's ordering raised."""
    if other.__class__ is not ref.__class__:
        raise TypeError(f"cannot order {type(ref).__name__} against {type(other).__name__}")
    return other


@dataclass(frozen=True)
class Subject:
    """Who or what an alert is about: a source address, or a pseudonymous account.

    ``kind`` is the event field the value came from (``source.ip``, ``user.name``, ...). Account
    values are already pseudonyms when they reach a detector, so a subject never holds a
    cleartext user identifier.
    """

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One detector's claim that an offence was attempted or committed.

    ``key`` must be stable for the same input so that re-running a scan yields the same alert id
    (see :func:`watchhouse.core.alerts.alert_id`); it is usually built from the subject and the
    first event behind the finding.
    """

    detector: str
    key: str
    crime_code: CrimeCode
    stage: Stage
    severity: Severity
    confidence: float
    title: str
    explanation: str
    subject: Subject
    first_seen: datetime
    last_seen: datetime
    evidence: tuple[EventRef, ...]
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence}")
        if not self.evidence:
            raise ValueError("a finding needs at least one evidence reference")
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen precedes first_seen")
