"""Reader options, per-source statistics and the format names the CLI accepts.

Kept apart from the readers so the CLI can validate ``--format`` and build options without
importing any parser.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from watchhouse.core.datasets import Dataset
from watchhouse.core.errors import UsageError

COMBINED = "combined"
COMMON = "common"
JSONL = "jsonl"
SYSLOG = "syslog"
CSV = "csv"
ACCESS = "access"  # combined or common, decided by sniffing the content
EVTX = "evtx"  # Windows event log files
WINLOG_JSON = "winlog-json"  # their JSON exports: evtx_dump objects or Winlogbeat documents
AUDITD = "auditd"  # Linux audit daemon records (type=... msg=audit(...): ...)

FORMATS: tuple[str, ...] = (COMBINED, COMMON, JSONL, SYSLOG, CSV, AUDITD)
#: record-oriented Windows formats (not line-oriented like FORMATS); accepted by --format too
WINLOG_FORMATS: tuple[str, ...] = (EVTX, WINLOG_JSON)

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "nginx": ACCESS,
        "apache": ACCESS,
        "access": ACCESS,
        "json": JSONL,
        "ndjson": JSONL,
        "ecs": JSONL,
        "auth": SYSLOG,
        "sshd": SYSLOG,
        "journal": SYSLOG,
        "audit": AUDITD,
        "evtx_dump": WINLOG_JSON,
        "winlogbeat": WINLOG_JSON,
        "winlog": WINLOG_JSON,
    }
)


def resolve_format(name: str) -> str:
    """Canonical format name for a user-given one; ``access`` still needs sniffing.

    Raises UsageError listing every accepted name, because a typo in ``--format`` is the most
    common way to get here.
    """
    key = name.strip().lower()
    if key in FORMATS or key in WINLOG_FORMATS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    valid = ", ".join((*FORMATS, *WINLOG_FORMATS, *sorted(ALIASES)))
    raise UsageError(f"unknown format {name!r}; valid formats: {valid}")


@dataclass(frozen=True)
class ReaderOptions:
    """How to read one source; the defaults sniff everything."""

    fmt: str | None = None
    dataset: Dataset | None = None
    field_map: Mapping[str, str] = field(default_factory=dict)
    year: int | None = None
    batch_bytes: int = 8 * 1024 * 1024
    # A line longer than this is quarantined instead of being buffered, so memory stays bounded
    # even for a file without a single newline.
    max_line_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.batch_bytes < 1:
            raise UsageError("batch_bytes must be positive")
        if self.fmt is not None:
            resolve_format(self.fmt)


@dataclass
class ReadStats:
    """Counters of one source; final once its batch iterator is exhausted.

    ``bytes_read`` counts on-disk bytes (compressed bytes for gzip), the same unit as
    ``SourceReader.size_hint`` so a progress bar can end at 100 %.
    """

    path: str
    fmt: str
    bytes_read: int = 0
    lines: int = 0
    blank: int = 0
    quarantined: int = 0
    events: Counter[Dataset] = field(default_factory=Counter)
    unknown_fields: Counter[str] = field(default_factory=Counter)

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    @property
    def balanced(self) -> bool:
        """True when every physical line is accounted for (event, blank or quarantined)."""
        return self.lines == self.total_events + self.blank + self.quarantined
