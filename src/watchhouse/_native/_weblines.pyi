"""Types of the compiled web alert-line writer (:file:`_weblines.pyx`)."""

from collections.abc import Callable
from typing import Any

SOURCE_SHA256: str

def alert_lines(
    indices: list[int],
    ids: list[str],
    name: bytes,
    version_json: bytes,
    verdicts: list[Any],
    fields: tuple[int, ...],
    columns: list[list[Any]],
    keys: list[str],
    references: list[Any],
    shown: dict[Any, str],
    agents_shown: dict[str, str],
    stamps: dict[int, bytes],
    limit: int,
    redact_url: Callable[..., str],
    excerpt: Callable[..., str],
    instant_json: Callable[[Any], bytes],
    dumps: Callable[[Any], bytes],
) -> bytes: ...
