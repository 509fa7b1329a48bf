"""Sealing the exact input lines behind an alert, in one action.

An alert points at its input by (path, line) and/or (path, byte offset); offsets count bytes of
the decompressed stream, lines are 1-based, as the readers record them. We re-read each source
(gzip when its magic bytes say so), take exactly those lines, and bundle them with the source
file's own SHA-256 so a court can later tie the sealed lines to a copy of the original file. When
a reference has both a line and an offset they must agree: if they do not, the file changed since
the scan and sealing it would mislead, so we refuse.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchhouse import __version__
from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError
from watchhouse.core.findings import EventRef
from watchhouse.office.canonical import canonical_json
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.evidence.vault import digests_of_file

BUNDLE_FORMAT = "watchhouse-alert-lines/v1"
METHOD = "alert-source-lines"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class SourceLine:
    line: int
    offset: int
    raw: bytes

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "offset": self.offset, "sha256": hashlib.sha256(self.raw).hexdigest()}
        try:
            out["text"] = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            out["base64"] = base64.b64encode(self.raw).decode("ascii")
        return out


def _resolve(ref_path: str, base: Path | None) -> Path:
    if ref_path in ("", "-", "<stdin>"):
        raise InputError("the alert came from standard input; there is no file to seal lines from")
    path = Path(ref_path)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise InputError("source file of the alert is not there (moved or rotated?)", path=str(path))
    return path


def read_lines(path: Path, refs: Iterable[EventRef]) -> list[SourceLine]:
    """The referenced lines of one source, in file order, without their newline."""
    by_line = {r.line: r for r in refs if r.line is not None}
    by_offset = {r.offset for r in refs if r.line is None and r.offset is not None}
    found: list[SourceLine] = []
    last_line = max(by_line, default=0)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            offset = 0
            for number, line in enumerate(handle, start=1):
                if number in by_line or offset in by_offset:
                    found.append(SourceLine(number, offset, line.removesuffix(b"\n")))
                    by_offset.discard(offset)
                offset += len(line)
                if number >= last_line and not by_offset:
                    break  # everything asked for is in hand; do not read the rest of a large file
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read the alert's source: {exc}", path=str(path)) from exc
    got = {s.line: s for s in found}
    for number, ref in sorted(by_line.items()):
        if number not in got:
            raise InputError("line is not in the file any more (truncated or rotated?)", path=str(path), line=number)
        if ref.offset is not None and ref.offset != got[number].offset:
            raise InputError(
                f"line starts at byte {got[number].offset} but the alert recorded {ref.offset}: "
                "the file changed since the scan",
                path=str(path),
                line=number,
            )
    if by_offset:
        raise InputError(f"no line starts at byte offset(s) {sorted(by_offset)}", path=str(path))
    return found


def bundle_alert_lines(alert: Alert, base: Path | None = None) -> tuple[bytes, Acquisition]:
    """The canonical JSON bundle of an alert's source lines, and how it was acquired."""
    refs: dict[str, list[EventRef]] = defaultdict(list)
    for ref in alert.evidence:
        refs[ref.path].append(ref)
    sources: list[dict[str, Any]] = []
    total_lines = 0
    for ref_path in sorted(refs):
        path = _resolve(ref_path, base)
        digests = digests_of_file(path)
        lines = read_lines(path, refs[ref_path])
        total_lines += len(lines)
        sources.append(
            {
                "path": ref_path,
                "sha256": digests.sha256,
                "sha512": digests.sha512,
                "size": digests.size,
                "lines": [line.to_dict() for line in lines],
            }
        )
    bundle = {
        "format": BUNDLE_FORMAT,
        "alert": {
            "id": alert.id,
            "detector": alert.detector,
            "detector_version": alert.detector_version,
            "crime_code": alert.crime_code.value,
            "title": alert.title,
            "subject": str(alert.subject),
            "first_seen": alert.first_seen.isoformat(),
            "last_seen": alert.last_seen.isoformat(),
        },
        "sources": sources,
    }
    acquisition = Acquisition(
        original_name=f"{alert.id}-lines.json",
        media_type="application/json",
        source=f"alert {alert.id}: " + ", ".join(sorted(refs)),
        method=METHOD,
        tool=f"watchhouse {__version__}",
        details={
            "alert_id": alert.id,
            "lines": total_lines,
            "sources": [{"path": s["path"], "sha256": s["sha256"]} for s in sources],
        },
    )
    return canonical_json(bundle), acquisition
