"""Alerts: findings that survived post-processing, with a deterministic identity."""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode

#: looked up once: ``dataclasses.fields`` rebuilds its answer on every call, once per alert
_FINDING_FIELDS = tuple(f.name for f in fields(Finding))
#: a finding's detector and key, read in C (every finding of a scan is asked)
_detector_of: Callable[[Finding], str] = operator.attrgetter("detector")
_key_of: Callable[[Finding], str] = operator.attrgetter("key")


def alert_id(detector: str, key: str) -> str:
    """Same detector and key, same id: re-scanning the same input never duplicates an alert.

    The id is the first 24 hex digits of SHA-256 over ``detector``, a unit separator and ``key``.
    The hash of the detector's prefix is taken once and copied for each key (every alert of a
    scan comes through here; copying a hash state is cheaper than hashing the prefix again).
    """
    digest = _prefix_hash(detector).copy()
    digest.update(key.encode())
    return "wh-" + digest.hexdigest()[:24]


def alert_ids(findings: Sequence[Finding]) -> list[str]:
    """``alert_id(f.detector, f.key)`` of each finding, in order.

    Why in bulk: every finding of a scan needs its id before the post-processor can tell a
    duplicate, and per finding the call and the prefix memory's lookup cost as much as the hashing
    itself. Findings come in runs of one detector (a detector's findings of one batch), so each run
    is hashed by :func:`alert_ids_of` with its prefix looked up once.
    """
    ids: list[str] = []
    for detector, run in groupby(findings, key=_detector_of):
        ids += alert_ids_of(detector, list(map(_key_of, run)))
    return ids


def alert_ids_of(detector: str, keys: Sequence[str]) -> list[str]:
    """``alert_id(detector, key)`` of each key, in order: the ids of one detector's findings held
    as rows (:class:`watchhouse.core.finding_rows.FindingRows`), from their keys alone."""
    fresh = _prefix_hash(detector).copy
    ids: list[str] = []
    append = ids.append
    for key in keys:
        digest = fresh()
        digest.update(key.encode())
        append("wh-" + digest.hexdigest()[:24])
    return ids


@functools.lru_cache(maxsize=256)
def _prefix_hash(detector: str) -> hashlib._Hash:
    """SHA-256 of ``detector`` and the separator, to be copied (never updated in place)."""
    return hashlib.sha256(f"{detector}\x1f".encode())


@dataclass(frozen=True, kw_only=True)
class Alert(Finding):
    """A finding as the office stores it: with an id and the detector version that raised it."""

    id: str
    detector_version: str

    @classmethod
    def from_finding(cls, finding: Finding, detector_version: str) -> Alert:
        """The alert for ``finding``, which was validated when it was made.

        Why not ``cls(...)``: the frozen dataclass constructor sets sixteen fields one
        ``object.__setattr__`` at a time and validates them again; every alert of a scan is made
        this way (by :meth:`many`), and the constructor cost three times the copy made there.
        """
        (alert,) = cls.many([finding], [alert_id(finding.detector, finding.key)], {finding.detector: detector_version})
        return alert

    @classmethod
    def many(cls, findings: Sequence[Finding], ids: Sequence[str], versions: Mapping[str, str]) -> list[Alert]:
        """The alert of each finding, with its id from ``ids`` (as :func:`alert_ids` gives them) and
        the version ``versions`` names for its detector ("?" where it names none).

        Why in bulk: the post-processor makes an alert of nearly every finding of a scan, and one
        loop here costs less than a call per finding; why a copy, see :meth:`from_finding`.
        """
        alerts: list[Alert] = []
        append = alerts.append
        new = object.__new__
        set_field = object.__setattr__
        for finding, id_ in zip(findings, ids, strict=True):
            source = finding.__dict__
            # a Finding's instance dict holds exactly its fields: copied whole; a subclass (an alert
            # itself) may carry more, so only the finding's fields are taken from it
            values = source.copy() if type(finding) is Finding else {name: source[name] for name in _FINDING_FIELDS}
            values["id"] = id_
            values["detector_version"] = versions.get(values["detector"], "?")
            alert = new(cls)
            set_field(alert, "__dict__", values)
            append(alert)
        return alerts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready flat record; the inverse of :meth:`from_dict`.

        Built field by field rather than with ``dataclasses.asdict``, whose deep copy of every
        evidence reference dominated writing alerts (a burst alert can cite thousands of lines).
        Keys keep the dataclass field order, so written files do not change. Every alert written
        passes through here, so the enums' texts are looked up (``value`` is a Python property,
        ``str`` a Python method), an instant that is both first and last seen (one request) is
        spelt once (``isoformat`` of an aware time costs microseconds) and references are
        converted in one loop (:func:`evidence_records`).
        """
        first_seen = self.first_seen.isoformat()
        last_seen = first_seen if self.last_seen is self.first_seen else self.last_seen.isoformat()
        return self._record(first_seen, last_seen)

    def to_json(self) -> bytes:
        """``orjson.dumps(self.to_dict())`` and a newline: the alert as one line of an alerts file.

        Why not that spelling: every alert a scan writes to a file passes through here, and
        ``isoformat`` of its instants was a fifth of the cost of the line. An instant in UTC
        (every instant Watchhouse reads is) goes to orjson as it is: its C formatting writes the
        very text ``isoformat`` writes for one. Any other zone is spelt by ``isoformat`` as before
        (orjson would round an offset of seconds to minutes). ``bench/alert_lines.py`` measures
        both spellings on the CRS requests' alerts.
        """
        record = self._record(_instant_value(self.first_seen), _instant_value(self.last_seen))
        # (orjson's OPT_APPEND_NEWLINE measured slower here than appending the newline)
        return orjson.dumps(record) + b"\n"

    def _record(self, first_seen: str | datetime, last_seen: str | datetime) -> dict[str, Any]:
        """The record of :meth:`to_dict` with its instants as given (a fresh details dict and tag
        list: measured, orjson writes those faster than the alert's own, older objects).

        ``web.attack_patterns`` writes the lines of its alerts held as rows in this very layout
        (:mod:`watchhouse.detectors.web.findings`); its tests hold the two byte for byte.
        """
        return {
            "detector": self.detector,
            "key": self.key,
            "crime_code": _CRIME_TEXT[self.crime_code],
            "stage": _STAGE_TEXT[self.stage],
            "severity": _SEVERITY_TEXT[self.severity],
            "confidence": self.confidence,
            "title": self.title,
            "explanation": self.explanation,
            "subject": {"kind": self.subject.kind, "value": self.subject.value},
            "first_seen": first_seen,
            "last_seen": last_seen,
            "evidence": evidence_records(self.evidence),
            "details": dict(self.details),
            "tags": list(self.tags),
            "id": self.id,
            "detector_version": self.detector_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(
            id=data["id"],
            detector=data["detector"],
            detector_version=data["detector_version"],
            key=data["key"],
            crime_code=CrimeCode(data["crime_code"]),
            stage=Stage(data["stage"]),
            severity=Severity.parse(data["severity"]),
            confidence=float(data["confidence"]),
            title=data["title"],
            explanation=data["explanation"],
            subject=Subject(**data["subject"]),
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            evidence=tuple(EventRef.from_dict(r) for r in data["evidence"]),
            details=dict(data.get("details") or {}),
            tags=tuple(data.get("tags") or ()),
        )


def _utc_zones() -> tuple[tzinfo, ...]:
    """The UTC zones instants come in: Python's, and the zone database's, which Polars and Arrow
    hand out (``ZoneInfo`` returns one object per key, so ``tzinfo in`` this tuple is an identity
    test first). Without a zone database there is only Python's."""
    try:
        return (UTC, ZoneInfo("UTC"))
    except ZoneInfoNotFoundError:
        return (UTC,)


_UTC_ZONES = _utc_zones()

#: the stored text of each member (what ``value`` and ``str`` give), looked up once
_CRIME_TEXT: dict[CrimeCode, str] = {member: member.value for member in CrimeCode}
_STAGE_TEXT: dict[Stage, str] = {member: member.value for member in Stage}
_SEVERITY_TEXT: dict[Severity, str] = {member: str(member) for member in Severity}


def _instant_value(moment: datetime) -> str | datetime:
    """What :meth:`Alert.to_json` hands orjson for an instant: a UTC one as it is (orjson's C
    formatting writes the very text ``isoformat`` writes for one), any other as ``isoformat`` spells
    it (orjson would round an offset of seconds to minutes)."""
    return moment if type(moment) is datetime and moment.tzinfo in _UTC_ZONES else moment.isoformat()


def instant_json(moment: datetime) -> bytes:
    """An instant as an alert's JSON line spells it, quotes included."""
    return orjson.dumps(_instant_value(moment))


def evidence_records(references: tuple[EventRef, ...]) -> list[dict[str, Any]]:
    """``[ref.to_dict() for ref in references]`` (the same keys, in the same order, None left out)
    without a method call per reference: an sshd burst alert cites thousands of lines, and writing
    its references one call at a time cost most of writing the alert."""
    records: list[dict[str, Any]] = []
    append = records.append
    for path, line, offset in references:
        if line is not None:
            append({"path": path, "line": line} if offset is None else {"path": path, "line": line, "offset": offset})
        else:
            append({"path": path} if offset is None else {"path": path, "offset": offset})
    return records
