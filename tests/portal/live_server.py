"""The app under uvicorn on 127.0.0.1 and a random free port, in a background thread, and how a
browser test waits for the console's htmx-boosted requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def submit(page: Any, selector: str) -> None:
    """Click, then wait until htmx has swapped in the answer.

    The office console's links and forms are boosted: a click sends an in-page request instead of
    navigating, so Playwright's own wait-for-navigation does not apply, and acting before the
    swap (a ``goto`` right after logging in, say) would race it.
    """
    page.evaluate(
        "window.__settled = false;"
        "document.body.addEventListener('htmx:afterSettle', () => { window.__settled = true }, {once: true})"
    )
    page.click(selector)
    # polled from here: Playwright's wait_for_function evaluates a string, which the CSP forbids
    deadline = time.monotonic() + 15
    while not page.evaluate("() => window.__settled === true"):
        assert time.monotonic() < deadline, f"htmx did not settle after clicking {selector}"
        page.wait_for_timeout(25)
