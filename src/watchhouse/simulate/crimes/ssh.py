"""SSH brute force in sshd.log: one address cycling through common user names and passwords."""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.benign.sshd import Row, format_rows
from watchhouse.simulate.clock import rng_for
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext, spread
from watchhouse.simulate.population import HOSTING

_USERNAMES = (
    "root",
    "root",
    "root",
    "admin",
    "test",
    "user",
    "oracle",
    "ubuntu",
    "postgres",
    "git",
    "ftpuser",
    "guest",
    "pi",
    "support",
    "mysql",
    "deploy",
    "hadoop",
    "jenkins",
    "minecraft",
    "ansible",
    "es",
    "centos",
    "dev",
    "test1",
)
HOST_ACCOUNTS = frozenset({"root", "deploy", "ops", "backup"})


def attack_rows(
    rng: np.random.Generator, ip: str, host: str, start_us: int, duration_us: int, attempts: int
) -> list[Row]:
    """The sshd lines of one dictionary attack, in OpenSSH's wording for valid and invalid users."""
    rows: list[Row] = []
    for t in spread(rng, start_us, duration_us, attempts, jitter=0.8):
        user = _USERNAMES[int(rng.random() * len(_USERNAMES))]
        pid = int(rng.integers(1000, 65000))
        port = int(rng.integers(32768, 65000))
        d = iter(np.cumsum(rng.integers(1_000, 900_000, size=4)).tolist())
        if user in HOST_ACCOUNTS:
            rhost = (
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
                f"rhost={ip}  user={user}"
            )
            rows.append((t, host, "sshd", pid, rhost))
            rows.append((t + int(next(d)), host, "sshd", pid, f"Failed password for {user} from {ip} port {port} ssh2"))
            rows.append(
                (
                    t + int(next(d)),
                    host,
                    "sshd",
                    pid,
                    f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]",
                )
            )
            rows.append(
                (
                    t + int(next(d)),
                    host,
                    "sshd",
                    pid,
                    f"Disconnected from authenticating user {user} {ip} port {port} [preauth]",
                )
            )
        else:
            rows.append((t, host, "sshd", pid, f"Invalid user {user} from {ip} port {port}"))
            rows.append(
                (
                    t + int(next(d)),
                    host,
                    "sshd",
                    pid,
                    f"Failed password for invalid user {user} from {ip} port {port} ssh2",
                )
            )
            rows.append(
                (
                    t + int(next(d)),
                    host,
                    "sshd",
                    pid,
                    f"Connection closed by invalid user {user} {ip} port {port} [preauth]",
                )
            )
    return rows


def plan_ssh_brute_force(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """Internet-wide SSH guessing against one of the platform's hosts."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 4.0) + 1):
        ip = ctx.ips.take_from(HOSTING)[0]
        host = ctx.pop.hosts[int(rng.random() * len(ctx.pop.hosts))]
        duration = ctx.duration(rng, 5, 60)
        start = ctx.start_time(rng, duration)
        attempts = int(rng.integers(40, 300))
        irng = rng_for(ctx.seed, "ssh_brute_force", number)

        def build(
            irng: np.random.Generator = irng,
            ip: str = ip,
            host: str = host,
            start: int = start,
            duration: int = duration,
            attempts: int = attempts,
        ) -> list[CrimeEvent]:
            ts, lines = format_rows(attack_rows(irng, ip, host, start, duration, attempts))
            return [
                CrimeEvent(int(t), line, CrimeCode.ILLEGAL_ACCESS) for t, line in zip(ts.tolist(), lines, strict=True)
            ]

        out.append(
            Instance(
                "ssh_brute_force",
                number,
                "sshd",
                start,
                [ip],
                [],
                [ip],
                {"host": host, "attempts": attempts},
                build,
                int(attempts * 3.4),
            )
        )
    return out
