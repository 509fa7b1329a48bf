#!/usr/bin/env python3
"""A throw-away PostgreSQL server for the test suite, started and stopped by the tests themselves.

Installs Debian's ``postgresql`` package when it is missing (as root, with a ``policy-rc.d`` that
exits 101 so the packaged service never starts), then runs ``initdb`` and ``pg_ctl`` as the
``postgres`` user on a temporary directory, listening on 127.0.0.1 only on a free port. Nothing
outside the temporary directory is touched, and ``stop`` removes it.

Command line: ``postgres_test_server.py install`` (just the package), or ``run -- CMD...`` (start,
export ``WATCHHOUSE_TEST_PG_URL`` to CMD, stop afterwards).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
PG_ROOT = Path("/usr/lib/postgresql")


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be installed or started here; the message says why."""


def find_bin_dir() -> Path | None:
    """The newest installed server's ``bin`` folder (Debian keeps one per major version)."""
    if not PG_ROOT.is_dir():
        return None
    candidates = sorted(
        (p / "bin" for p in PG_ROOT.iterdir() if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def install() -> Path:
    """Install the server package if needed; never starts the packaged service."""
    found = find_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise PostgresUnavailableError("postgresql is not installed and installing it needs root")
    apt = shutil.which("apt-get")
    if apt is None:
        raise PostgresUnavailableError("postgresql is not installed and apt-get is not available")
    created_policy = False
    if not POLICY_RC_D.exists():
        POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n", encoding="ascii")
        POLICY_RC_D.chmod(0o755)
        created_policy = True
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for args in ([apt, "update", "-q"], [apt, "install", "-y", "-q", "--no-install-recommends", "postgresql"]):
            done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603 - fixed apt-get arguments
            if done.returncode != 0:
                raise PostgresUnavailableError(f"{' '.join(args[1:3])} failed: {done.stderr.strip()[-300:]}")
    finally:
        if created_policy:
            POLICY_RC_D.unlink()
    found = find_bin_dir()
    if found is None:
        raise PostgresUnavailableError("postgresql was installed but no initdb was found under /usr/lib/postgresql")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    bin_dir: Path
    data_dir: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603 - our own server binaries

    def stop(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data_dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(*, durable: bool = False) -> Server:
    """Install if needed, then start a fresh cluster; ``durable`` keeps fsync on (for timings)."""
    bin_dir = install()
    as_postgres = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="watchhouse-pg-"))
    if as_postgres:
        if shutil.which("runuser") is None:
            raise PostgresUnavailableError("running as root but runuser is missing, so initdb cannot run as postgres")
        shutil.chown(base, user="postgres", group="postgres")
    server = Server(bin_dir, base, _free_port(), as_postgres)
    data = base / "data"
    done = server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    if done.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailableError(f"initdb failed: {done.stderr.strip()[-300:]}")
    settings = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base}"
    if not durable:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    done = server._run("pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-o", settings, "-w", "start")
    if done.returncode != 0:
        log = (base / "server.log").read_text(errors="replace")[-300:] if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailableError(f"pg_ctl start failed: {done.stderr.strip()[-200:]} {log}")
    return server


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(install())
        return 0
    if argv[:1] == ["run"]:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        server = start(durable="--durable" in command)
        command = [c for c in command if c != "--durable"]
        try:
            env = {**os.environ, "WATCHHOUSE_TEST_PG_URL": server.url}
            return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 - the caller's command
        finally:
            server.stop()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
