"""The reporter's own session: a signed cookie scoped to ``/report``, never an office session.

After the reporter proves reference + status code once, the cookie carries the reference, an
expiry and a signature (HMAC with the portal's token key), so later pages need no database
lookup to know which report it is. It has another name, path and format than the console's
``wh_session``, which is looked up in ``account_sessions``: a reporter cookie opens nothing in the
console or the API. Its CSRF token is derived from the same signature, so forms on the status
page carry a value a cross-site page cannot know.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from watchhouse.core.digits import ascii_digits


@dataclass(frozen=True)
class ReporterSession:
    reference: str
    csrf_token: str


@dataclass(frozen=True)
class ReporterSessions:
    key: bytes
    lifetime_s: int
    clock: Callable[[], float] = time.time

    def _sign(self, reference: str, expires: int) -> str:
        return hmac.new(self.key, f"reporter\x00{reference}\x00{expires}".encode(), hashlib.sha256).hexdigest()

    def issue(self, reference: str) -> str:
        expires = int(self.clock()) + self.lifetime_s
        return f"{reference}.{expires}.{self._sign(reference, expires)}"

    def read(self, cookie: str | None) -> ReporterSession | None:
        parts = (cookie or "").split(".")
        if len(parts) != 3 or not ascii_digits(parts[1]):
            return None
        reference, expires, signature = parts[0], int(parts[1]), parts[2]
        # (compare_digest raises on a non-ASCII text: a signature that is not one is simply wrong)
        if (
            expires < self.clock()
            or not signature.isascii()
            or not hmac.compare_digest(self._sign(reference, expires), signature)
        ):
            return None
        csrf = hmac.new(self.key, f"csrf\x00{signature}".encode(), hashlib.sha256).hexdigest()[:32]
        return ReporterSession(reference, csrf)
