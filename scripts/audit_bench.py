#!/usr/bin/env python3
"""Audit-log figures: appends/s (one transaction each), checkpoint time and full-verify time.

Usage: .venv/bin/python scripts/audit_bench.py [N] [--postgres]. With --postgres a throw-away
server is started with fsync ON (scripts/postgres_test_server.py), so the figure is durable commits.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import postgres_test_server

from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.signing import Signer, load_or_create_private_key
from watchhouse.storage.engine import open_engine
from watchhouse.storage.migrate import upgrade


def run(url: str, n: int, folder: Path) -> None:
    engine = open_engine(url)
    upgrade(engine)
    log = AuditLog(engine, Signer(load_or_create_private_key(folder / "k.pem")))
    start = time.perf_counter()
    for i in range(n):
        log.append("bench", "read", "alert", f"wh-{i:08d}", "benchmark", {"i": i})
    appended = time.perf_counter() - start
    start = time.perf_counter()
    log.checkpoint()
    checkpointed = time.perf_counter() - start
    start = time.perf_counter()
    report = log.verify()
    verified = time.perf_counter() - start
    assert report.ok
    print(
        f"{engine.dialect.name}: {n} appends in {appended:.2f}s = {n / appended:.0f}/s; "
        f"checkpoint {checkpointed:.2f}s; verify {report.entries} entries {verified:.2f}s"
    )
    engine.dispose()


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "2000"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "--postgres" in sys.argv:
            server = postgres_test_server.start(durable=True)
            try:
                run(server.url, n, folder)
            finally:
                server.stop()
        else:
            run(f"sqlite:///{folder / 'office.db'}", n, folder)


if __name__ == "__main__":
    main()
