"""The detector protocol: one small ABC every built-in and plug-in detector implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity
from watchhouse.core.taxonomy import CrimeCode

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class DetectorFamily(StrEnum):
    WEB = "web"
    ACCOUNTS = "accounts"
    SIGMA = "sigma"
    DATATHEFT = "datatheft"
    FRAUD = "fraud"
    MEDIA = "media"


@dataclass(frozen=True)
class DetectorInfo:
    """What a detector is, declared once on its class.

    ``name`` is a storage key (alert ids derive from it) and must never be renamed; it is dotted,
    family first, e.g. ``web.attack_patterns``. Bump ``version`` when behaviour changes.
    """

    name: str
    version: str
    family: DetectorFamily
    datasets: frozenset[Dataset]
    default_severity: Severity
    crime_code: CrimeCode
    summary: str
    #: opt-in detectors run only when named (``--detector``, a config's ``enabled`` list, or an
    #: option that needs them such as ``scan --sigma``): e.g. rule engines whose packs the user
    #: chooses, which would otherwise duplicate the built-in detectors' alerts
    opt_in: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise DetectorError(f"detector name {self.name!r} must be dotted lower-case, e.g. 'web.sqli'")
        if not self.name.startswith(f"{self.family.value}."):
            raise DetectorError(f"detector {self.name!r} must start with its family '{self.family.value}.'")
        if not self.datasets:
            raise DetectorError(f"detector {self.name!r} consumes no dataset")
        if not self.summary.strip():
            raise DetectorError(f"detector {self.name!r} needs a summary")


JSONState = dict[str, Any]


class Detector(ABC):
    """Turns batches of events into findings.

    ``detect`` is called once per batch, in input order, with batches of the datasets named in
    ``info.datasets`` only. Stateful detectors (windows, sessions) keep state between calls,
    emit what is still open from :meth:`finalize`, and expose that state through
    :meth:`checkpoint`/:meth:`restore` so a restarted runner neither loses nor repeats alerts.
    Hot paths must be vectorised; per-row Python only after a vectorised prefilter.
    """

    info: ClassVar[DetectorInfo]

    @abstractmethod
    def detect(self, batch: EventBatch) -> list[Finding]:
        """Findings from one batch (possibly none)."""

    def detect_rows(self, batch: EventBatch) -> Sequence[Finding]:
        """The findings of ``batch`` as the detection engine takes them: :meth:`detect`'s by default.

        A detector that flags many rows of a batch may return them as
        :class:`~watchhouse.core.finding_rows.FindingRows` here (the same findings, held as rows
        until read), so that their alerts can be written without being made one object at a time.
        """
        return self.detect(batch)

    def finalize(self) -> list[Finding]:
        """Findings still held in state at end of input. Stateless detectors have none."""
        return []

    def checkpoint(self) -> JSONState:
        """JSON-serialisable state; ``{}`` for stateless detectors."""
        return {}

    def restore(self, state: JSONState) -> None:
        """Resume from :meth:`checkpoint` output."""
        if state:
            raise DetectorError(f"{self.info.name} is stateless but was given state to restore")
