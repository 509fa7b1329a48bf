"""Helpers shared by the simulate tests: a loaded run and the access-log regex."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from watchhouse.simulate import SimulationConfig, SimulationSummary


@dataclass(frozen=True)
class Run:
    config: SimulationConfig
    summary: SimulationSummary
    labels: list[dict[str, Any]]
    manifest: dict[str, Any]

    def lines(self, rel: str) -> list[str]:
        return (self.config.out_dir / rel).read_text(encoding="utf-8").splitlines()


def load(config: SimulationConfig, summary: SimulationSummary) -> Run:
    out = config.out_dir
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return Run(config, summary, labels, manifest)


ACCESS_RE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) HTTP/1\.[01]" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$')
