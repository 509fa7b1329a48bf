"""Exporting a case: gather on the record, render, validate, seal, write, record custody.

Each export is sealed as an evidence item (so what left the office can be proved later), linked
to the case, written to its destination without overwriting anything, and then recorded in
custody as ``exported`` — which is also its audit entry. Rendering validates with the format's own
library (stix2, pymisp) before anything is sealed, so an invalid export never leaves.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine

from watchhouse.core.errors import InputError
from watchhouse.office.cases import records as case_records
from watchhouse.office.cases.service import CaseService
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.office.exports.bundle import CaseBundle, gather
from watchhouse.storage.alert_store import AlertStore


class ExportFormat(StrEnum):
    STIX = "stix"
    MISP = "misp"
    HTML = "html"


#: per format: renderer module and function, media type, file suffix. Renderers are imported when
#: used: stix2 and pymisp take about a second to import, which every CLI command would pay.
_RENDER: dict[ExportFormat, tuple[str, str, str, str]] = {
    ExportFormat.STIX: ("stix", "case_to_stix", "application/stix+json;version=2.1", "stix.json"),
    ExportFormat.MISP: ("misp", "case_to_misp", "application/json", "misp.json"),
    ExportFormat.HTML: ("html_report", "case_to_html", "text/html", "report.html"),
}


def _renderer(fmt: ExportFormat) -> Callable[[CaseBundle], str]:
    module, function, _, _ = _RENDER[fmt]
    render: Callable[[CaseBundle], str] = getattr(
        importlib.import_module(f"watchhouse.office.exports.{module}"), function
    )
    return render


@dataclass(frozen=True)
class ExportResult:
    path: Path
    evidence_id: str
    format: ExportFormat
    size: int


class CaseExports:
    def __init__(
        self,
        engine: Engine,
        cases: CaseService,
        alerts: AlertStore,
        evidence: EvidenceService,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._cases = cases
        self._alerts = alerts
        self._evidence = evidence
        self._clock = clock

    def render(self, actor: str, ref: str, fmt: ExportFormat, purpose: str | None = None) -> tuple[str, CaseBundle]:
        """The export's text (validated); reading the case for it is audited, sealing is not done here."""
        bundle = gather(self._cases, self._alerts, actor, ref, self._clock(), purpose)
        return _renderer(fmt)(bundle), bundle

    def export(
        self, actor: str, ref: str, fmt: ExportFormat, destination: Path, purpose: str | None = None
    ) -> ExportResult:
        if destination.exists():
            raise InputError("already exists; export to a new file", path=str(destination))
        text, bundle = self.render(actor, ref, fmt, purpose)
        case_id = bundle.case_file.case.id
        data = text.encode("utf-8")
        _, _, media_type, suffix = _RENDER[fmt]
        why = purpose or f"export of {case_id}"
        item, new = self._evidence.seal(
            data,
            Acquisition(
                original_name=f"{case_id}.{suffix}",
                media_type=media_type,
                source=f"case {case_id}",
                method=f"case export ({fmt.value})",
                tool="watchhouse case export",
                details={"case": case_id, "format": fmt.value, "alerts": len(bundle.alerts)},
            ),
            actor,
            why,
        )
        with self._engine.connect() as conn:
            linked = item.id in case_records.linked(conn, case_id, "evidence")
        if not linked:
            self._cases.link_evidence(actor, case_id, item.id, why)
        _write_new(destination, data)
        self._evidence.record_export(
            item.id, actor, why, {"to": str(destination), "case": case_id, "format": fmt.value, "new": new}
        )
        return ExportResult(destination, item.id, fmt, len(data))


def _write_new(path: Path, data: bytes) -> None:
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except FileExistsError:
        raise InputError("already exists; export to a new file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot write the export: {exc.strerror}", path=str(path)) from exc
