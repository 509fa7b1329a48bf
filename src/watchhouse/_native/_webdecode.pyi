"""Types of the compiled decoding twin (:file:`_webdecode.pyx`)."""

from collections.abc import Sequence
from typing import Any

SOURCE_SHA256: str

def decode_views(
    parts: Sequence[tuple[Any, ...]], with_base64: bool, tables: tuple[Any, ...]
) -> tuple[list[Any], list[Any], list[Any], list[Any]]: ...
