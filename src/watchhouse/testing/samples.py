"""Annotated detector samples: JSON lines of a dataset, with ``#`` lines saying what to expect.

A sample under ``tests/samples/<detector>/`` is the realistic input a detector's tests run on:
``positive_*`` files must fire, ``negative_*`` files are near misses that must stay quiet. Comment
lines explain why; ``# expect: N``, ``# expect-<what>: value`` and ``# options: {json}`` lines
are read into :attr:`AnnotatedSample.header` so the test can hold the detector to them. Rows keep
their real line numbers, so the evidence a finding cites can be checked against the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from watchhouse.core.events import LINE_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.testing.factories import make_batch

_HEADER_KEYS = ("expect", "options")


@dataclass(frozen=True)
class AnnotatedSample:
    batch: EventBatch
    header: dict[str, str]
    lines: frozenset[int]


def load_sample(path: Path, dataset: Dataset, root: Path) -> AnnotatedSample:
    """Read ``path`` as ``dataset`` rows; provenance paths are relative to ``root`` (the repository)."""
    rel = path.relative_to(root).as_posix()
    rows, header, lines = [], {}, set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.strip()
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if body.startswith(_HEADER_KEYS) and ":" in body:
                name, value = body.split(":", 1)
                header[name.strip()] = value.strip()
            continue
        if stripped:
            row = json.loads(stripped)
            row[TIMESTAMP_FIELD] = datetime.fromisoformat(row[TIMESTAMP_FIELD])
            row[PATH_FIELD], row[LINE_FIELD] = rel, number
            rows.append(row)
            lines.add(number)
    return AnnotatedSample(make_batch(dataset, rows, path=rel), header, frozenset(lines))


def sample_paths(samples_root: Path, detector: str) -> list[Path]:
    return sorted((samples_root / detector).glob("*.jsonl"))


def has_both_kinds(samples_root: Path, detector: str) -> bool:
    """Whether a detector has at least one positive and one near-miss sample."""
    stems = [p.stem for p in sample_paths(samples_root, detector)]
    return any(s.startswith("positive_") for s in stems) and any(s.startswith("negative_") for s in stems)
