"""Bounded load test of the report portal: submissions per second on 127.0.0.1, and no lost report.

Starts the app under uvicorn in a child process (one worker, SQLite office in a temporary home),
then sends ``--reports`` submissions from ``--concurrency`` concurrent clients, each with a small
unique PNG attachment, through the real HTTP path (challenge fetched, form posted as multipart).
Afterwards it opens the office database and checks that every accepted reference is stored, with
exactly its attachment, and that the sealed bytes re-hash to what the client sent.

Besides submissions/s and latency it prints the CPU seconds the server and the client spent
during the run, and the server's CPU per submission: on a shared machine wall-clock rates move
with the neighbours' load, CPU per submission does not. ``--profile FILE`` runs the server under
yappi (CPU clock, every thread; ``pip install yappi``; slower, for finding where the time goes)
and ``--workers N`` runs N server processes on one listening socket.

The client answers the no-JavaScript arithmetic challenge (read from the signed token): the proof
of work is the browser's cost, not the server's, so it would only measure the client's CPU here.

    .venv/bin/python bench/portal_load.py --reports 2000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import httpx

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def office_location(home: Path):  # type: ignore[no-untyped-def]
    from watchhouse.office.services import OfficeLocation

    return OfficeLocation(f"sqlite:///{home / 'office.db'}", home / "audit-signing.key", home / "evidence")


def serve(home: Path, port: int, workers: int, profile: str | None) -> None:
    """The server side: ``workers`` processes sharing one listening socket (pre-forked here)."""
    import socket

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    children = []
    for n in range(1, workers):
        pid = os.fork()
        if pid == 0:
            _serve_one(home, sock, f"{profile}.{n}" if profile else None)
            os._exit(0)
        children.append(pid)
    try:
        _serve_one(home, sock, profile)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _serve_one(home: Path, sock: object, profile: str | None) -> None:
    import importlib

    import uvicorn

    from watchhouse.office.services import open_office
    from watchhouse.web.app import create_app
    from watchhouse.web.portal.settings import PortalSettings
    from watchhouse.web.settings import WebSettings

    office = open_office(office_location(home))
    app = create_app(office, WebSettings(secure_cookies=False), PortalSettings(submissions_per_client=10**9))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if profile:
        # yappi, not cProfile: the submission runs in the thread pool, which cProfile never sees.
        yappi = importlib.import_module("yappi")  # optional: only this option needs it

        yappi.set_clock_type("cpu")
        yappi.start()
    try:
        with suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT that stopped it
            server.run(sockets=[sock])  # type: ignore[list-item]
    finally:
        if profile:
            yappi.stop()
            yappi.get_func_stats().save(profile, type="pstat")
        office.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its waited-for children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU of the server process and its live worker children."""
    total = cpu_seconds(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        with suppress(FileNotFoundError):
            total += cpu_seconds(int(child))
    return total


def attachment(n: int) -> bytes:
    return PNG_HEAD + n.to_bytes(8, "big") + os.urandom(1024)


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand.

    httpx spent as much CPU per submission as the server (about 7 ms for the two requests), so
    on a two-core machine the client, not the portal, set the rate. Requests here are the same
    bytes a browser sends (a GET, then a multipart POST); only the client's overhead is gone.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n"
        if body or method == "POST":
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, as a browser's form would send it."""
    boundary = f"----watchhouse{os.urandom(8).hex()}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    for field_name, file_name, data, media_type in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{file_name}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def one(client: Connection, n: int) -> tuple[str, str] | None:
    """Fetch a challenge, answer it and submit report ``n``: (reference, attachment sha256)."""
    status, body = await client.request("GET", "/report/challenge")
    token = json.loads(body)["token"]
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
    form, content_type = multipart(fields, [("attachments", f"shot{n}.png", data, "image/png")])
    status, body = await client.request("POST", "/report", form, content_type)
    if status != 201:
        return None
    return json.loads(body)["reference"], hashlib.sha256(data).hexdigest()


async def load(
    host: str, port: int, reports: int, concurrency: int
) -> tuple[float, list[tuple[str, str]], int, list[float]]:
    """(seconds, accepted (reference, sha256), refused count, per-submission latencies)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(reports):
        queue.put_nowait(n)
    accepted: list[tuple[str, str]] = []
    latencies: list[float] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        client = await Connection.open(host, port)
        try:
            while not queue.empty():
                n = queue.get_nowait()
                began = time.perf_counter()
                got = await asyncio.wait_for(one(client, n), 60)
                latencies.append(time.perf_counter() - began)
                if got is None:
                    failed += 1
                else:
                    accepted.append(got)
        finally:
            client.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, accepted, failed, latencies


def verify(home: Path, accepted: list[tuple[str, str]]) -> tuple[int, int, bool]:
    """(missing reports, attachment problems, audit chain intact) after the run."""
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
        counts: dict[str, int] = {}
        for ref in conn.execute(select(portal_attachments.c.reference)).scalars():
            counts[ref] = counts.get(ref, 0) + 1
    missing = sum(1 for ref, _ in accepted if ref not in stored)
    problems = sum(1 for ref, sha in accepted if by_ref.get(ref, ("", ""))[0] != sha or counts.get(ref) != 1)
    checks = office.evidence.verify("bench:portal-load", [by_ref[ref][1] for ref, _ in accepted if ref in by_ref])
    problems += sum(1 for c in checks if not c.ok) + (len(accepted) - len(checks))
    chain_ok = office.audit.verify().ok  # group-committed entries must still form one chain
    office.close()
    return missing, problems, chain_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--profile", metavar="FILE", help="profile the server with yappi, pstats to FILE")
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.workers, args.profile)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        from watchhouse.office.services import open_office

        open_office(office_location(home)).close()  # migrate before the clock starts
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, __file__, "--serve", str(home), str(port), "--workers", str(args.workers)]
        if args.profile:
            command += ["--profile", args.profile]
        server = subprocess.Popen(command)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{base}/report/challenge", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            time.sleep(0.5 * args.workers)  # let every worker finish starting before counting CPU
            server_before, client_before = tree_cpu_seconds(server.pid), time.process_time()
            seconds, accepted, failed, latencies = asyncio.run(load("127.0.0.1", port, args.reports, args.concurrency))
            server_cpu, client_cpu = tree_cpu_seconds(server.pid) - server_before, time.process_time() - client_before
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        missing, problems, chain_ok = verify(home, accepted)
    rate = len(accepted) / seconds
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    print(
        f"submitted {args.reports} reports with {args.concurrency} clients, "
        f"{args.workers} worker(s), in {seconds:.2f} s"
    )
    print(f"accepted {len(accepted)}, refused {failed}: {rate:.1f} submissions/s (target 200/s)")
    print(f"latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print(
        f"CPU: server {server_cpu:.2f} s ({server_cpu / max(len(accepted), 1) * 1000:.2f} ms per submission), "
        f"client {client_cpu:.2f} s"
    )
    print(f"lost reports: {missing}; attachment hash problems: {problems}; audit chain intact: {chain_ok}")
    return 0 if missing == 0 and problems == 0 and failed == 0 and chain_ok else 1


if __name__ == "__main__":
    sys.exit(main())
