"""Simulated platform activity with injected, labelled crimes: ground truth for demos and benchmarks.

``simulate(config)`` writes one file per output (access.log, auth.jsonl, sshd.log, messages.jsonl,
payments.jsonl, uploads.jsonl, record_access.jsonl) plus labels.jsonl (one object per injected
line: path, 1-based line, crime code, scenario, instance) and manifest.json (config, counts, and
every incident's attacker addresses, accounts and time span). Output is byte-identical per config.
"""

from watchhouse.simulate.config import ALL_OUTPUTS, ALL_SCENARIOS, SimulationConfig, SimulationSummary
from watchhouse.simulate.runner import estimate_events, simulate
from watchhouse.simulate.sshlog import write_sshd_log

__all__ = [
    "ALL_OUTPUTS",
    "ALL_SCENARIOS",
    "SimulationConfig",
    "SimulationSummary",
    "estimate_events",
    "simulate",
    "write_sshd_log",
]
