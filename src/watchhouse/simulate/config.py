"""What a simulation run is asked to produce, and what it reports back.

The config is a frozen value so a run is fully described by it: the same config (and so the same
seed) must give byte-identical output, which is what makes the labelled files usable as ground truth
for benchmarks and regression tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Output name -> file written in out_dir. The names are the CLI's vocabulary; keep them stable.
OUTPUT_FILES: dict[str, str] = {
    "access": "access.log",
    "auth": "auth.jsonl",
    "sshd": "sshd.log",
    "messages": "messages.jsonl",
    "payments": "payments.jsonl",
    "uploads": "uploads.jsonl",
    "record_access": "record_access.jsonl",
}
ALL_OUTPUTS: frozenset[str] = frozenset(OUTPUT_FILES)

# Scenario name -> the output it writes into (a scenario is skipped when its output is not asked for).
SCENARIO_OUTPUTS: dict[str, str] = {
    "web_attack_campaign": "access",
    "vulnerability_scan": "access",
    "brute_force": "auth",
    "ssh_brute_force": "sshd",
    "credential_stuffing": "auth",
    "password_spraying": "auth",
    "account_takeover": "auth",
    "bulk_record_scraping": "record_access",
    "scam_messages": "messages",
    "card_testing": "payments",
}
ALL_SCENARIOS: frozenset[str] = frozenset(SCENARIO_OUTPUTS)

LABELS_FILE = "labels.jsonl"
MANIFEST_FILE = "manifest.json"

# The simulated platform. ".example" is reserved (RFC 2606), so no real site is impersonated; the
# look-alike phishing domains are derived from it.
PLATFORM_NAME = "Larkspur"
PLATFORM_DOMAIN = "larkspur.example"


@dataclass(frozen=True)
class SimulationConfig:
    """One simulation run. Volume scales roughly linearly with ``users * hours``."""

    out_dir: Path
    users: int = 1000
    hours: float = 24.0
    seed: int = 1
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)
    outputs: frozenset[str] = ALL_OUTPUTS
    scenarios: frozenset[str] = ALL_SCENARIOS
    intensity: float = 1.0  # multiplies crime volume (0 = benign only)

    def __post_init__(self) -> None:
        # Fail early with a readable message: the CLI passes user input straight through.
        if self.users < 10:
            raise ValueError("users must be at least 10")
        if not self.hours > 0:
            raise ValueError("hours must be positive")
        if self.intensity < 0:
            raise ValueError("intensity must not be negative")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        unknown = (set(self.outputs) - ALL_OUTPUTS) | (set(self.scenarios) - ALL_SCENARIOS)
        if unknown:
            raise ValueError(f"unknown outputs/scenarios: {sorted(unknown)}")

    def active_scenarios(self) -> list[str]:
        """Scenarios that will inject anything: selected, with their output written, intensity > 0."""
        if self.intensity <= 0:
            return []
        return sorted(s for s in self.scenarios if SCENARIO_OUTPUTS[s] in self.outputs)

    def to_json(self) -> dict[str, Any]:
        """The config as written into manifest.json (paths and sets made JSON-friendly)."""
        return {
            "users": self.users,
            "hours": self.hours,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "outputs": sorted(self.outputs),
            "scenarios": sorted(self.scenarios),
            "intensity": self.intensity,
        }


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote: per-file line counts, labels per scenario, incidents per scenario."""

    out_dir: Path
    files: dict[str, int] = field(default_factory=dict)  # relative path -> lines written
    labels: int = 0
    scenarios: dict[str, int] = field(default_factory=dict)  # scenario -> labelled lines
    instances: dict[str, int] = field(default_factory=dict)  # scenario -> injected incidents
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return sum(self.files.values())
