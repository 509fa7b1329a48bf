"""Readers that turn log sources into typed, pseudonymised event batches.

Formats: nginx/Apache access logs (combined, common), ECS JSON lines, syslog (sshd auth and
host events) and mapped CSV. Every physical line ends up as an event, a blank, or a
quarantined line with its location and reason.

The readers (Arrow, Polars, the parsers) are imported on first use of :class:`SourceReader` or
:func:`detect_format`, not with the package: the command line names formats and options from
here to build its help, which should not wait for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watchhouse.ingest.options import FORMATS, ReaderOptions, ReadStats, resolve_format
from watchhouse.ingest.quarantine import Quarantine

if TYPE_CHECKING:
    from watchhouse.ingest.reader import SourceReader
    from watchhouse.ingest.sniff import detect_format

__all__ = ["FORMATS", "Quarantine", "ReadStats", "ReaderOptions", "SourceReader", "detect_format", "resolve_format"]

_LAZY = {"SourceReader": "watchhouse.ingest.reader", "detect_format": "watchhouse.ingest.sniff"}


def __getattr__(name: str) -> Any:
    """``SourceReader`` and ``detect_format``, imported when first asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
