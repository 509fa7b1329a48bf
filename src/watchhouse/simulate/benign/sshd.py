"""Benign host activity for sshd.log: cron, admin sessions with sudo, systemd-logind, health checks.

Real auth logs are mostly this noise; a detector reading them must skip it cheaply. Admins also
mistype passwords now and then, so "Failed password" alone is not evidence of an attack.
"""

from __future__ import annotations

import base64

import numpy as np

from watchhouse.simulate.clock import I64, US, rfc3339_us
from watchhouse.simulate.formats import sshd_line

ADMIN_SESSIONS_PER_HOST_DAY = 6.0
LINES_PER_HOST_DAY = 288 * 2 + 144 + ADMIN_SESSIONS_PER_HOST_DAY * 13  # for estimates

_UID = {"deploy": 1001, "ops": 1002, "backup": 1003, "root": 0}
_COMMANDS = (
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/apt-get update",
    "/usr/bin/tail -n 200 /var/log/nginx/error.log",
    "/usr/local/bin/deploy.sh release-2026.03",
)

Row = tuple[int, str, str, int, str]  # ts, host, process, pid, text


def _session(rng: np.random.Generator, t: int, host: str, user: str, ip: str, session_id: int) -> list[Row]:
    """One admin SSH login with sudo, in the order OpenSSH, PAM, logind and sudo write it."""
    pid = int(rng.integers(1000, 65000))
    port = int(rng.integers(32768, 61000))
    key = base64.b64encode(rng.integers(0, 256, size=32, dtype=np.uint8).tobytes()).decode().rstrip("=")
    uid = _UID.get(user, 1000)
    rows: list[Row] = []
    step = iter(np.cumsum(rng.integers(20_000, 4 * US, size=16)).tolist())

    def add(process: str, proc_pid: int, text: str) -> None:
        rows.append((t + int(next(step)), host, process, proc_pid, text))

    if user == "ops" and rng.random() < 0.25:  # a mistyped password before getting in
        add("sshd", pid, f"Failed password for {user} from {ip} port {port} ssh2")
        add("sshd", pid, f"Accepted password for {user} from {ip} port {port} ssh2")
    else:
        add("sshd", pid, f"Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{key}")
    add("sshd", pid, f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)")
    add("systemd-logind", 612, f"New session {session_id} of user {user}.")
    add("systemd", 1, f"Started Session {session_id} of User {user}.")
    if user != "backup":
        sudo_pid = int(rng.integers(1000, 65000))
        cmd = _COMMANDS[int(rng.random() * len(_COMMANDS))]
        add("sudo", sudo_pid, f"{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}")
        add("sudo", sudo_pid, f"pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})")
        add("sudo", sudo_pid, "pam_unix(sudo:session): session closed for user root")
    add("sshd", pid, f"Received disconnect from {ip} port {port}:11: disconnected by user")
    add("sshd", pid, f"Disconnected from user {user} {ip} port {port}")
    add("sshd", pid, f"pam_unix(sshd:session): session closed for user {user}")
    add("systemd-logind", 612, f"Session {session_id} logged out. Waiting for processes to exit.")
    add("systemd-logind", 612, f"Removed session {session_id}.")
    return rows


def generate_rows(
    rng: np.random.Generator, hosts: list[str], admins: list[tuple[str, str]], start_us: int, end_us: int
) -> list[Row]:
    """Unformatted benign rows for a slice (kept separate so write_sshd_log can reuse them)."""
    rows: list[Row] = []
    minute = 60 * US
    first = -(-start_us // minute) * minute
    for h, host in enumerate(hosts):
        for m in range(first, end_us, minute):
            minute_of_hour = (m // minute) % 60
            if minute_of_hour % 5 == 0 or minute_of_hour == 17:  # */5 jobs and the hourly run-parts
                pid = int(rng.integers(1000, 65000))
                t = m + int(rng.integers(0, 900_000))
                rows.append(
                    (t, host, "CRON", pid, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
                )
                done = min(t + int(rng.integers(50_000, 3 * US)), end_us - 1)
                rows.append((done, host, "CRON", pid, "pam_unix(cron:session): session closed for user root"))
            if minute_of_hour % 10 == 2:  # the monitoring system's TCP check of port 22
                port = int(rng.integers(32768, 61000))
                text = f"Connection closed by 10.0.0.9 port {port} [preauth]"
                rows.append((m + int(rng.integers(0, 30 * US)), host, "sshd", int(rng.integers(1000, 65000)), text))
        n = int(rng.poisson(ADMIN_SESSIONS_PER_HOST_DAY * (end_us - start_us) / (86_400 * US)))
        for _ in range(n):
            user, ip = admins[int(rng.random() * len(admins))]
            latest = max(start_us, end_us - 70 * US)
            t = int(rng.integers(start_us, latest + 1))
            session_id = int(rng.integers(100, 9000)) * 10 + h
            rows.extend(r for r in _session(rng, t, host, user, ip, session_id) if r[0] < end_us)
    return rows


def format_rows(rows: list[Row]) -> tuple[I64, list[str]]:
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    stamps = rfc3339_us(ts)
    return ts, [sshd_line(s, r[1], r[2], r[3], r[4]) for s, r in zip(stamps, rows, strict=True)]
