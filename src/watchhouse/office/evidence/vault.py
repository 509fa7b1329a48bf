"""Content-addressed, sealed storage of evidence bytes on disk.

A blob lives at ``<root>/sha256/<h[0:2]>/<h[2:4]>/<h>`` and is made read-only (0400) once written;
the name is its SHA-256, so any change to the bytes is visible by re-hashing. Writes go to a
temporary file in the same filesystem, are fsynced, then renamed into place, so a crash never
leaves a half-written blob under a valid name; the folder is fsynced after the rename, so the
blob's name is as durable as its bytes before anyone records that it exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from watchhouse.core.errors import InputError
from watchhouse.office.errors import IntegrityError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    sha256: str
    sha512: str
    size: int


def digests_of(data: bytes) -> Digests:
    return Digests(hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), len(data))


def digests_of_file(path: Path) -> Digests:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
    return Digests(sha256.hexdigest(), sha512.hexdigest(), size)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX needs the directory itself synced)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Vault:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> Digests:
        """Seal ``data``; an intact blob already there is kept, a damaged one is an error."""
        digests = digests_of(data)
        final = self.path_of(digests.sha256)
        if final.exists():
            if digests_of_file(final).sha256 != digests.sha256:
                raise IntegrityError(f"sealed blob {final} no longer matches its name; it has been altered")
            return digests
        try:
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp_name).chmod(0o400)
                Path(tmp_name).replace(final)
                _fsync_dir(final.parent)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(tmp_name).unlink()
                raise
        except OSError as exc:
            raise InputError(f"cannot write to the evidence store: {exc.strerror}", path=str(final)) from exc
        return digests

    def read(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"sealed blob {sha256[:16]}… is missing from {self.root}") from None
        except OSError as exc:
            raise InputError(f"cannot read sealed evidence: {exc.strerror}", path=str(path)) from exc

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def remove(self, sha256: str) -> None:
        """Destroy a blob (custody records stay: destruction is itself a recorded event)."""
        path = self.path_of(sha256)
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)
            path.unlink()
