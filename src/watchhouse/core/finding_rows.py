"""Findings and alerts held as rows, from a detector to the written line.

Why: on traffic a detector flags request after request (a campaign, a scanner, the CRS regression
suite) every finding used to become a dozen Python objects (the finding, its details and hit
records, the alert copied from it, the record written out) that were made, copied, serialized and
freed again within the batch. Measured on the CRS requests cycled ten times, the scan ran at twice
the rate with those objects left out (``bench/modsec_compare.py``; see the session note on issue 3).

A detector that can (``web.attack_patterns``) returns its findings of a batch as
:class:`FindingRows`: what post-processing needs without objects (each finding's key, severity and
crime code) and each alert's JSON line, written from the rows. Post-processing keeps them as
:class:`AlertRows` inside an :class:`AlertBatch`, which a JSON-lines sink writes as it is. Every
reader that wants objects (the office database, ``web.campaigns``, tests) gets the same
:class:`Finding` and :class:`Alert` objects as before, made on first reading and kept. The line
written from the rows is the very line ``Alert.to_json`` writes for the alert; the detector's tests
hold it to that byte for byte.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import Finding, Severity
from watchhouse.core.taxonomy import CrimeCode

_T = TypeVar("_T")
#: alerts per piece of a batch's JSON lines (:meth:`AlertBatch.json_chunks`): about a megabyte of
#: CRS alerts, small enough for the allocator to hand the same memory back piece after piece
LINES_PER_CHUNK = 512


class _MadeOnReading(ABC, Sequence[_T]):
    """A sequence whose objects are made on first reading, once, and kept (:meth:`_objects`)."""

    _made: list[_T] | None = None

    @abstractmethod
    def _make_objects(self) -> list[_T]:
        """Every object, in order (called once)."""

    def _objects(self) -> list[_T]:
        if self._made is None:
            self._made = self._make_objects()
        return self._made

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        return self._objects()[index]

    def __iter__(self) -> Iterator[_T]:
        return iter(self._objects())


class FindingRows(_MadeOnReading[Finding]):
    """One detector's findings of one batch, kept as rows; a sequence of findings to any reader.

    Subclasses give :meth:`_make` (the finding objects, in row order) and :meth:`alert_lines` (alerts'
    JSON lines from the rows); ``keys``, ``severities`` and ``crime_codes`` are the findings'
    fields of those names, in the same order.
    """

    def __init__(self, detector: str, keys: list[str], severities: list[Severity], crime_codes: list[CrimeCode]):
        if not len(keys) == len(severities) == len(crime_codes):
            raise ValueError("keys, severities and crime codes must be given for every row")
        self.detector = detector
        self.keys = keys
        self.severities = severities
        self.crime_codes = crime_codes

    @abstractmethod
    def _make(self) -> list[Finding]:
        """Every row's finding, in row order (called once, on first reading)."""

    @abstractmethod
    def alert_lines(self, indices: list[int], ids: list[str], version: str) -> bytes:
        """The JSON lines of the alerts of rows ``indices`` (ids ``ids``), joined: exactly
        ``b"".join(a.to_json() for a in Alert.many([self[i] for i in indices], ids, {self.detector: version}))``."""

    @property
    def findings(self) -> list[Finding]:
        """The finding objects, made once."""
        return self._objects()

    def _make_objects(self) -> list[Finding]:
        made = self._make()
        if len(made) != len(self.keys):
            raise ValueError(f"{self.detector} made {len(made)} findings from {len(self.keys)} rows")
        return made

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.detector}: {len(self)} finding(s)>"


class AlertRows:
    """The alerts post-processing kept of a :class:`FindingRows`: the rows, their ids and the
    detector's version."""

    __slots__ = ("ids", "kept", "rows", "version")

    def __init__(self, rows: FindingRows, kept: list[int], ids: list[str], version: str) -> None:
        self.rows = rows
        self.kept = kept
        self.ids = ids
        self.version = version

    def __len__(self) -> int:
        return len(self.kept)

    def alerts(self) -> list[Alert]:
        findings = self.rows.findings
        return Alert.many([findings[i] for i in self.kept], self.ids, {self.rows.detector: self.version})

    def lines(self) -> bytes:
        return self.rows.alert_lines(self.kept, self.ids, self.version)

    def line_chunks(self, size: int) -> Iterator[bytes]:
        """:meth:`lines` in pieces of up to ``size`` alerts, written from the rows piece by piece."""
        kept, ids, write = self.kept, self.ids, self.rows.alert_lines
        for start in range(0, len(kept), size):
            yield write(kept[start : start + size], ids[start : start + size], self.version)


class AlertBatch(_MadeOnReading[Alert]):
    """The alerts of one batch, in order: alert objects, and alerts still held as rows.

    A sequence of :class:`Alert` to any reader (made on first reading, once); a JSON-lines sink
    asks for :meth:`json_lines` instead, and the scan summary for :meth:`counts`.
    """

    def __init__(self, segments: Sequence[list[Alert] | AlertRows] = ()) -> None:
        self._segments = [segment for segment in segments if len(segment)]

    def _make_objects(self) -> list[Alert]:
        made: list[Alert] = []
        for segment in self._segments:
            made += segment.alerts() if isinstance(segment, AlertRows) else segment
        return made

    def __len__(self) -> int:
        return sum(len(segment) for segment in self._segments)

    def __repr__(self) -> str:
        return f"<AlertBatch: {len(self)} alert(s)>"

    def json_lines(self) -> bytes:
        """Every alert's JSON line (``Alert.to_json``), in order; rows are written from the rows."""
        return b"".join(self.json_chunks())

    def json_chunks(self, size: int = LINES_PER_CHUNK) -> Iterator[bytes]:
        """:meth:`json_lines` in pieces of up to ``size`` alerts, each made when asked for.

        Why pieces: a batch of an attack-heavy input writes tens of megabytes of lines (about two
        kilobytes an alert, nine requests in ten flagged). Made whole, then joined, then handed to
        the file, the batch's lines were held two or three times over, each copy on fresh pages of
        memory (26,000 page faults in the line writer on the CRS requests cycled ten times). A
        piece is written and freed before the next is made, so the next reuses the same memory
        (2,400 page faults there) and a batch's lines are never all held at once.
        """
        if self._made is not None:  # someone read the objects already: write those
            yield from _object_chunks(self._made, size)
            return
        for segment in self._segments:
            if isinstance(segment, AlertRows):
                yield from segment.line_chunks(size)
            else:
                yield from _object_chunks(segment, size)

    def counts(self) -> tuple[Counter[tuple[CrimeCode, Severity]], Counter[str]]:
        """Alerts per (crime code, severity) and per detector, without making objects of rows."""
        by_crime: Counter[tuple[CrimeCode, Severity]] = Counter()
        by_detector: Counter[str] = Counter()
        for segment in self._segments:
            if isinstance(segment, AlertRows):
                rows = segment.rows
                crimes, severities = rows.crime_codes, rows.severities
                by_crime.update([(crimes[i], severities[i]) for i in segment.kept])
                by_detector[rows.detector] += len(segment.kept)
            else:
                by_crime.update([(alert.crime_code, alert.severity) for alert in segment])
                by_detector.update([alert.detector for alert in segment])
        return by_crime, by_detector


def _object_chunks(alerts: list[Alert], size: int) -> Iterator[bytes]:
    """The JSON lines of alert objects, ``size`` alerts a piece."""
    for start in range(0, len(alerts), size):
        yield b"".join([alert.to_json() for alert in alerts[start : start + size]])
