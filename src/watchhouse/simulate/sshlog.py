"""A standalone sshd auth log of an exact length, for parser and detector benchmarks.

Benchmarks need "N lines of realistic sshd log" without the rest of the simulation: here benign
host noise from a fleet of hosts is mixed with dictionary attacks (roughly half the lines, as on
any internet-facing host) and the stream is cut at exactly the requested number of lines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from watchhouse.simulate.benign.sshd import Row, format_rows, generate_rows
from watchhouse.simulate.clock import SLICE_US, US, rng_for, to_us
from watchhouse.simulate.crimes.ssh import attack_rows
from watchhouse.simulate.population import HOSTING, IpAllocator

_FLEET = [f"web-{i}" for i in range(1, 41)] + ["db-1", "db-2", "bastion-1"]
_ADMINS = [("deploy", "10.8.0.2"), ("ops", "10.8.0.3"), ("backup", "10.0.2.5")]
START = datetime(2026, 3, 2, tzinfo=UTC)


def write_sshd_log(path: Path, lines: int, seed: int = 1) -> int:
    """Write exactly ``lines`` sshd syslog lines (benign and brute force mixed); return the count."""
    rng = rng_for(seed, "sshd-bench")
    attackers = IpAllocator(rng_for(seed, "sshd-bench-ips"), attacker=True)
    written = 0
    s0 = to_us(START)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        while written < lines:
            s1 = s0 + SLICE_US
            rows: list[Row] = generate_rows(rng, _FLEET, _ADMINS, s0, s1)
            for _ in range(int(rng.poisson(1.2))):
                duration = int(rng.integers(60, 540)) * US
                begin = int(rng.integers(s0, s1 - duration))
                host = _FLEET[int(rng.integers(0, len(_FLEET)))]
                attempts = int(rng.integers(20, 150))
                rows.extend(
                    r
                    for r in attack_rows(rng, attackers.take_from(HOSTING)[0], host, begin, duration, attempts)
                    if r[0] < s1
                )
            ts, text = format_rows(rows)
            order = np.argsort(ts, kind="stable")[: lines - written].tolist()
            if order:
                fh.write("\n".join(text[i] for i in order))
                fh.write("\n")
            written += len(order)
            s0 = s1
    return written
