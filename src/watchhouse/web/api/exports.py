"""``/api/v1/exports``: a case as a STIX 2.1 bundle, a MISP event or an HTML incident report.

An export is a POST, not a GET: like ``watchhouse case export`` it seals what leaves as evidence
of the case and records it in custody as ``exported`` (the export's audit entry), so a download
changes the record and must carry the CSRF token and a purpose. The bytes answered are the bytes
sealed; the ``X-Evidence-Id`` header names the sealed item.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.exports.html_report import STYLE
from watchhouse.office.exports.service import ExportFormat
from watchhouse.office.services import Office
from watchhouse.web.actions import download_name, parse_enum
from watchhouse.web.api.schemas import ExportBody
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
Exporter = Annotated[Session, Depends(api_actor(Permission.CASE_EXPORT))]

REPORT_CSP = (
    f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
"""The HTML incident report's inline stylesheet is allowed by its hash; no script or remote load."""

MEDIA_TYPES = {
    ExportFormat.STIX: "application/stix+json;version=2.1",
    ExportFormat.MISP: "application/json",
    ExportFormat.HTML: "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class CaseDownload:
    name: str
    media_type: str
    data: bytes
    evidence_id: str

    def response(self) -> Response:
        headers = {"Content-Disposition": f'attachment; filename="{self.name}"', "X-Evidence-Id": self.evidence_id}
        if self.media_type.startswith("text/html"):
            # served from our origin, the report may apply its one stylesheet and nothing else
            headers["Content-Security-Policy"] = REPORT_CSP
        return Response(self.data, media_type=self.media_type, headers=headers)


def export_case(office: Office, actor: str, case_id: str, fmt: str, purpose: str) -> CaseDownload:
    """Export through the export service (validated, sealed, custody recorded) into a private temporary
    folder, and hand back the bytes; the folder is removed afterwards."""
    if not purpose.strip():
        raise UsageError("exporting a case needs a purpose")
    kind = parse_enum(ExportFormat, fmt, "export format")
    with tempfile.TemporaryDirectory(prefix="wh-case-export-") as folder:
        result = office.exports.export(actor, case_id, kind, Path(folder) / "export", purpose.strip())
        data = result.path.read_bytes()
    suffix = "html" if kind is ExportFormat.HTML else "json"
    name = download_name(f"{case_id.strip().upper()}.{kind.value}.{suffix}", f"case.{kind.value}.{suffix}")
    return CaseDownload(name, MEDIA_TYPES[kind], data, result.evidence_id)


@router.post("/cases/{case_id}/{fmt}", response_class=Response)
def export(request: Request, session: Exporter, case_id: str, fmt: str, body: ExportBody) -> Response:
    """``fmt`` is ``stix``, ``misp`` or ``html``; the need-to-know rules of the case apply."""
    return export_case(ctx_of(request).office, session.account.username, case_id, fmt, body.purpose).response()
