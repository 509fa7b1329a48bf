"""Scanning attachments before they are sealed: type by magic bytes, size caps, archive bombs.

The declared content type and file name are the sender's claims, so neither decides anything:
the type is sniffed from the first bytes and must be on a short allow-list (images, PDF, plain
text, ZIP). ZIP archives are opened only as a directory listing (nothing is extracted): refused
when an entry would inflate past the size cap or by more than ``max_ratio``, when there are too
many entries, or when an entry is itself an archive (nesting is how bombs multiply).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from watchhouse.core.errors import UsageError
from watchhouse.office.portal.models import Upload

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
)
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jar")


@dataclass(frozen=True)
class UploadPolicy:
    max_files: int = 5
    max_bytes: int = 5 * 1024 * 1024
    """Per file, as sent."""
    max_total_bytes: int = 10 * 1024 * 1024
    max_inflated: int = 50 * 1024 * 1024
    """Largest a ZIP may claim to inflate to, summed over its entries."""
    max_ratio: int = 100
    max_entries: int = 1000


class UploadRefusedError(UsageError):
    """An attachment failed scanning; the message says which one and why, in plain words."""


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves show, or ``None`` when they are not on the allow-list."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if _is_plain_text(data):
        return "text/plain"
    return None


def _is_plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text[:65536])


def safe_name(name: str) -> str:
    """Only the last path part, no control or separator characters, at most 100 characters.

    Names are shown in the console and used if the item is ever exported, so ``../../etc/passwd``,
    ``C:\\x`` and names with NUL or newlines become harmless text.
    """
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return base[:100] or "attachment"


def check_zip(data: bytes, name: str, policy: UploadPolicy) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UploadRefusedError(f"{name}: not a readable ZIP archive ({exc})") from None
    if len(entries) > policy.max_entries:
        raise UploadRefusedError(f"{name}: archive has {len(entries)} entries (at most {policy.max_entries})")
    inflated = 0
    for entry in entries:
        inflated += entry.file_size
        if entry.filename.lower().endswith(_ARCHIVE_SUFFIXES):
            raise UploadRefusedError(f"{name}: archives inside archives are refused ({safe_name(entry.filename)})")
        if entry.compress_size and entry.file_size / entry.compress_size > policy.max_ratio:
            raise UploadRefusedError(
                f"{name}: {safe_name(entry.filename)} would inflate more than {policy.max_ratio} times (archive bomb?)"
            )
    if inflated > policy.max_inflated:
        raise UploadRefusedError(f"{name}: archive would inflate to {inflated} bytes (at most {policy.max_inflated})")
    if len(data) and inflated / len(data) > policy.max_ratio:
        raise UploadRefusedError(f"{name}: archive would inflate more than {policy.max_ratio} times (archive bomb?)")


def scan(files: list[tuple[str, bytes]], policy: UploadPolicy) -> tuple[Upload, ...]:
    """Every file checked, or an :class:`UploadRefusedError` for the first that fails."""
    if len(files) > policy.max_files:
        raise UploadRefusedError(f"at most {policy.max_files} attachments per report ({len(files)} sent)")
    total = sum(len(data) for _, data in files)
    if total > policy.max_total_bytes:
        raise UploadRefusedError(f"attachments total {total} bytes; at most {policy.max_total_bytes} per report")
    out = []
    for raw_name, data in files:
        name = safe_name(raw_name)
        if not data:
            raise UploadRefusedError(f"{name}: the file is empty")
        if len(data) > policy.max_bytes:
            raise UploadRefusedError(f"{name}: {len(data)} bytes; at most {policy.max_bytes} per file")
        media_type = sniff(data)
        if media_type is None:
            raise UploadRefusedError(
                f"{name}: this kind of file is not accepted (screenshots, photos, PDF, plain text or ZIP only)"
            )
        if media_type == "application/zip":
            check_zip(data, name, policy)
        out.append(Upload(name=name, media_type=media_type, data=data))
    return tuple(out)
