"""What every route needs, held on the app instance (never in module globals)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from fastapi import Request
from jinja2 import Environment

from watchhouse.office.services import Office
from watchhouse.web.settings import WebSettings


@dataclass
class ClientLimiter:
    """Sliding-window attempt counter per client address, in memory (one per app instance).

    In memory on purpose: it only slows guessing from one address; the durable protection is the
    per-account lockout in the database, which survives restarts and covers every worker.
    """

    limit: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, client: str) -> bool:
        """Count one attempt unless the client is already over the limit (then refuse it)."""
        now = self.clock()
        with self._lock:
            times = self._recent(client, now)
            if len(times) >= self.limit:
                return False
            times.append(now)
            if len(self._seen) > 10_000:  # forget idle clients so the map cannot grow without bound
                for key in [k for k, v in self._seen.items() if not v]:
                    del self._seen[key]
            return True

    def exhausted(self, client: str) -> bool:
        """Whether the client is over the limit, without counting an attempt.

        For credentials checked before we know they fail (API tokens): only failures are
        counted (with :meth:`allow`), so a script with a good token is never throttled.
        """
        with self._lock:
            return len(self._recent(client, self.clock())) >= self.limit

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


@dataclass(frozen=True)
class WebContext:
    office: Office
    settings: WebSettings
    templates: Environment
    login_limiter: ClientLimiter


def ctx_of(request: Request) -> WebContext:
    return cast(WebContext, request.app.state.ctx)


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"
