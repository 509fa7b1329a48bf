"""Quarantine of lines that could not become events.

Nothing read is silently dropped: a line that fails to parse is written here with where it came
from and why, so an operator can fix the producer or re-ingest. The file is created lazily (a
clean run leaves no empty file behind) and private (0600), because raw lines can hold personal
data that pseudonymisation never touched.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import IO

import orjson

# Raw text kept per entry; beyond it the entry says it was truncated. A runaway line must not
# turn the quarantine into a second copy of a multi-gigabyte input.
MAX_RAW_CHARS = 64 * 1024


class Quarantine:
    """Collects rejected lines as JSON lines; with ``path=None`` it only counts them."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._file: IO[bytes] | None = None
        self._count = 0
        self._reasons: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return self._count

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def reasons(self) -> Counter[str]:
        return self._reasons

    def add(self, source: str, line: int | None, reason: str, raw: bytes | str, offset: int | None = None) -> None:
        self._count += 1
        self._reasons[_reason_key(reason)] += 1
        if self._path is None:
            return
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        entry: dict[str, object] = {"source": source, "line": line, "offset": offset, "reason": reason}
        if len(text) > MAX_RAW_CHARS:
            entry["raw_chars"] = len(text)
            entry["truncated"] = True
            text = text[:MAX_RAW_CHARS]
        entry["raw"] = text
        self._handle().write(orjson.dumps(entry) + b"\n")

    def _handle(self) -> IO[bytes]:
        if self._file is None:
            assert self._path is not None
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # an existing file keeps its old mode through os.open
            self._file = os.fdopen(fd, "wb")
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Quarantine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _reason_key(reason: str) -> str:
    """Group reasons by their stable prefix so counts stay readable ("field x: ..." -> "field x")."""
    return reason.split(":", 1)[0]
