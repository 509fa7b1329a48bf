"""What verification found: problems that fail the log, warnings that do not, and who signed what."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from watchhouse.office.audit.signing import TreeHead


class Failure(StrEnum):
    CONTENT = "content-changed"
    CHAIN = "chain-broken"
    GAP = "entries-missing"
    SIGNATURE = "bad-signature"
    ROOT = "root-mismatch"
    TRUNCATED = "log-truncated"
    CONSISTENCY = "inconsistent-checkpoints"
    HEAD = "head-mismatch"
    ROTATION = "bad-key-rotation"
    WITNESS_DIVERGED = "witness-diverged"
    """A head published outside the database is not a prefix of the log any more (re-chained)."""
    WITNESS_TRUNCATED = "witness-truncated"
    """A head published outside the database covers entries the log no longer has."""
    WITNESS_UNREADABLE = "witness-unreadable"
    # warnings: reported, but the log still verifies
    WITNESS_MISSING = "witness-missing"
    UNWITNESSED = "checkpoint-not-witnessed"


@dataclass(frozen=True)
class Problem:
    failure: Failure
    where: str
    message: str
    seq: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.failure.value}: {self.message}"


@dataclass(frozen=True)
class Checkpoint:
    id: int
    head: TreeHead
    signature: str


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """Gaps in what can be proved (no witness file, an unwitnessed checkpoint) that are not tampering."""
    signed_by: dict[int, str] = field(default_factory=dict)
    """Checkpoint id -> key id of the key that signed it."""
    witnessed: int = 0
    """Heads checked from witness files (the home's and any ``--heads`` file)."""

    @property
    def ok(self) -> bool:
        return not self.problems
