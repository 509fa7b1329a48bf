"""Writing slices: merge benign and injected lines, sort by time, append, and label by final line number.

Labels refer to 1-based line numbers in the final file; since each slice is sorted completely
before it is appended and slices do not overlap in time, the line number is known at write time and
nothing has to be rewritten afterwards.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from watchhouse.simulate.clock import I64
from watchhouse.simulate.crimes.base import CrimeEvent, Instance
from watchhouse.simulate.formats import dumps


class FileSink:
    """One output file being appended to slice by slice."""

    def __init__(self, out_dir: Path, rel: str) -> None:
        self.rel = rel
        self.lines = 0
        self._fh = (out_dir / rel).open("wb")

    def write(self, ts: I64, lines: list[str], crimes: list[tuple[CrimeEvent, Instance]]) -> list[dict[str, Any]]:
        """Append one slice; return the label objects of its injected lines."""
        n_benign = len(lines)
        if crimes:
            ts = np.concatenate([ts, np.array([c.ts_us for c, _ in crimes], dtype=np.int64)])
            lines = lines + [c.line for c, _ in crimes]
        if not lines:
            return []
        order = np.argsort(ts, kind="stable")
        ordered: list[str] = (
            np.array(lines, dtype=object)[order].tolist() if len(lines) > 64 else [lines[i] for i in order]
        )
        ordered.append("")
        self._fh.write("\n".join(ordered).encode())
        labels: list[dict[str, Any]] = []
        if crimes:
            position = np.empty_like(order)
            position[order] = np.arange(len(order))
            crime_pos = position[n_benign:].tolist()
            for pos, (event, inst) in sorted(zip(crime_pos, crimes, strict=True), key=lambda x: x[0]):
                labels.append(
                    {
                        "path": self.rel,
                        "line": self.lines + pos + 1,
                        "crime_code": event.code,  # a StrEnum: orjson writes its value
                        "scenario": inst.scenario,
                        "instance": inst.key,
                    }
                )
        self.lines += len(lines)
        return labels

    def close(self) -> None:
        self._fh.close()


class LabelSink:
    """labels.jsonl, one ground-truth object per injected line."""

    def __init__(self, path: Path) -> None:
        self.count = 0
        self._fh = path.open("w", encoding="utf-8", newline="\n")

    def write(self, labels: list[dict[str, Any]]) -> None:
        if labels:
            self._fh.write("".join(dumps(label) + "\n" for label in labels))
            self.count += len(labels)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> LabelSink:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
