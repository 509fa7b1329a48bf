"""The shape every injected crime takes: instances planned up-front, lines built when needed.

Planning is cheap and small (start time, attacker addresses and accounts) so the manifest can be
written and memory stays bounded; the lines of an instance are only built when the run reaches its
start slice, and each instance has its own random stream so the result does not depend on which
other scenarios or outputs were selected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.clock import DAY_US, US
from watchhouse.simulate.population import Population


class CrimeEvent(NamedTuple):
    """One injected line, already formatted, with its ground truth."""

    ts_us: int
    line: str
    code: CrimeCode


@dataclass
class Instance:
    """One incident of a scenario (e.g. one brute-force attack)."""

    scenario: str
    number: int
    output: str
    start_us: int
    ips: list[str]
    accounts: list[str]
    markers: list[str]  # strings that never occur in benign lines of this output (ground-truth tests)
    details: dict[str, Any]
    build: Callable[[], list[CrimeEvent]]
    estimate: int = 0  # expected lines, for progress-bar totals before anything is built
    lines: int = 0
    first_us: int | None = None
    last_us: int | None = None
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.scenario}#{self.number}"


@dataclass(frozen=True)
class PlanContext:
    """What a scenario planner may use: the population, the run window, scaling and an allocator."""

    seed: int
    pop: Population
    start_us: int
    end_us: int
    intensity: float
    ips: Any  # IpAllocator for attacker addresses (shared, so instances never reuse an address)
    fresh_names: Callable[[int], list[str]]  # unused, never-benign account names

    @property
    def span_us(self) -> int:
        return self.end_us - self.start_us

    def instance_count(self, rng: np.random.Generator, per_day: float) -> int:
        """Incidents for this run: rate x days x intensity, grown gently with platform size, at least one.

        At least one so that short demo runs still show every selected scenario.
        """
        mean = per_day * self.span_us / DAY_US * self.intensity * math.sqrt(max(1.0, self.pop.size / 1000))
        return max(1, int(mean) + int(rng.random() < mean - int(mean)))

    def start_time(self, rng: np.random.Generator, duration_us: int) -> int:
        """A start so that the incident fits in the window (or starts at the window if it cannot)."""
        latest = max(self.start_us, self.end_us - duration_us)
        return int(rng.integers(self.start_us, latest + 1))

    def duration(self, rng: np.random.Generator, lo_min: float, hi_min: float) -> int:
        """A duration in minutes, squeezed to fit a short run."""
        d = int(rng.uniform(lo_min, hi_min) * 60 * US)
        return min(d, max(60 * US, self.span_us - US))


def spread(rng: np.random.Generator, start_us: int, duration_us: int, n: int, jitter: float = 0.6) -> list[int]:
    """``n`` increasing times over a duration with jittered gaps (tools pace themselves unevenly)."""
    gaps = rng.exponential(1.0, size=n) * jitter + (1 - jitter)
    times = np.cumsum(gaps)
    times = times / times[-1] * duration_us if n else times
    return [start_us + int(t) for t in times.tolist()]
