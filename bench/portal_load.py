"""Bounded load test of the report portal: submissions per second on 127.0.0.1, and no lost report.

Starts the app under uvicorn in a child process (one worker, SQLite office in a temporary home),
then sends ``--reports`` submissions from ``--concurrency`` concurrent clients, each with a small
unique PNG attachment, through the real HTTP path (challenge fetched, form posted as multipart).
Afterwards it opens the office database and checks that every accepted reference is stored, with
exactly its attachment, and that the sealed bytes re-hash to what the client sent.

The client answers the no-JavaScript arithmetic challenge (read from the signed token): the proof
of work is the browser's cost, not the server's, so it would only measure the client's CPU here.

    .venv/bin/python bench/portal_load.py --reports 2000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def office_location(home: Path):  # type: ignore[no-untyped-def]
    from watchhouse.office.services import OfficeLocation

    return OfficeLocation(f"sqlite:///{home / 'office.db'}", home / "audit-signing.key", home / "evidence")


def serve(home: Path, port: int) -> None:
    import uvicorn

    from watchhouse.office.services import open_office
    from watchhouse.web.app import create_app
    from watchhouse.web.portal.settings import PortalSettings
    from watchhouse.web.settings import WebSettings

    office = open_office(office_location(home))
    app = create_app(office, WebSettings(secure_cookies=False), PortalSettings(submissions_per_client=10**9))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def attachment(n: int) -> bytes:
    return PNG_HEAD + n.to_bytes(8, "big") + os.urandom(1024)


async def one(client: httpx.AsyncClient, n: int) -> tuple[str, str] | None:
    token = (await client.get("/report/challenge")).json()["token"]
    a, b = (int(x) for x in token.split(".")[3:5])
    fields = {
        "role": "victim",
        "category": "scam",
        "narrative": f"Load test report {n}: paid for goods that never arrived.",
        "emails": f"seller{n % 50}@fraud.example",
        "amount": "10",
        "currency": "EUR",
        "method": "card",
        "bona_fide": "yes",
        "challenge_token": token,
        "challenge_answer": str(a + b),
    }
    data = attachment(n)
    answer = await client.post(
        "/report",
        data=fields,
        files=[("attachments", (f"shot{n}.png", data, "image/png"))],
        headers={"Accept": "application/json"},
    )
    if answer.status_code != 201:
        return None
    return answer.json()["reference"], hashlib.sha256(data).hexdigest()


async def load(base: str, reports: int, concurrency: int) -> tuple[float, list[tuple[str, str]], int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(reports):
        queue.put_nowait(n)
    accepted: list[tuple[str, str]] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while not queue.empty():
                n = queue.get_nowait()
                got = await one(client, n)
                if got is None:
                    failed += 1
                else:
                    accepted.append(got)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, accepted, failed


def verify(home: Path, accepted: list[tuple[str, str]]) -> tuple[int, int]:
    """(missing reports, attachment problems) after the run."""
    from sqlalchemy import select

    from watchhouse.office.portal.tables import portal_attachments, portal_reports
    from watchhouse.office.services import open_office

    office = open_office(office_location(home))
    with office.engine.connect() as conn:
        stored = set(conn.execute(select(portal_reports.c.reference)).scalars())
        rows = conn.execute(
            select(portal_attachments.c.reference, portal_attachments.c.sha256, portal_attachments.c.evidence_id)
        )
        by_ref = {r.reference: (r.sha256, r.evidence_id) for r in rows}
    missing = sum(1 for ref, _ in accepted if ref not in stored)
    problems = sum(1 for ref, sha in accepted if by_ref.get(ref, ("", ""))[0] != sha)
    checks = office.evidence.verify("bench:portal-load", [by_ref[ref][1] for ref, _ in accepted if ref in by_ref])
    problems += sum(1 for c in checks if not c.ok) + (len(accepted) - len(checks))
    office.close()
    return missing, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        from watchhouse.office.services import open_office

        open_office(office_location(home)).close()  # migrate before the clock starts
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(home), str(port)])
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{base}/report/challenge", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            seconds, accepted, failed = asyncio.run(load(base, args.reports, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
        missing, problems = verify(home, accepted)
    rate = len(accepted) / seconds
    print(f"submitted {args.reports} reports with {args.concurrency} clients in {seconds:.2f} s")
    print(f"accepted {len(accepted)}, refused {failed}: {rate:.1f} submissions/s (target 200/s)")
    print(f"lost reports: {missing}; attachment hash problems: {problems}")
    return 0 if missing == 0 and problems == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
