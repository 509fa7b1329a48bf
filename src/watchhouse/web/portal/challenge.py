"""A challenge every submission must answer, needing no third-party service.

Browsers with JavaScript solve a hashcash-style proof of work: find a nonce such that
SHA-256(``salt:nonce``) starts with ``difficulty`` zero bits (``pow.js``, about 16k hashes at the
default 14 bits). Without JavaScript the form shows a small arithmetic question written in words
instead; it costs a human seconds and a generic form-spamming bot a parser. Neither stops a
determined, targeted attacker: the per-client rate limit and bad-faith invalidation do that work.
The choice keeps the portal usable with JavaScript off (accessibility, privacy tools) and keeps
it free of CAPTCHA providers that would learn who reports crime.

Tokens are stateless (HMAC-signed, with an expiry) and single-use: a used salt is remembered
until its token expires, in memory per process and, with the accepted report, in the office
database (``office.portal.limits``), which is what holds across several server processes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from watchhouse.core.errors import UsageError

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


class ChallengeFailedError(UsageError):
    """The anti-abuse check was missing, wrong, expired or already used."""


@dataclass(frozen=True)
class Challenge:
    token: str
    salt: str
    difficulty: int
    question: str


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(salt: str, difficulty: int) -> str:
    """What ``pow.js`` does, for tests and the load benchmark."""
    nonce = 0
    while leading_zero_bits(hashlib.sha256(f"{salt}:{nonce}".encode()).digest()) < difficulty:
        nonce += 1
    return str(nonce)


@dataclass
class Challenges:
    key: bytes
    difficulty: int
    ttl_s: int
    clock: Callable[[], float] = time.time
    _used: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self) -> Challenge:
        salt = secrets.token_hex(12)
        a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
        body = f"v1.{salt}.{self.difficulty}.{a}.{b}.{int(self.clock()) + self.ttl_s}"
        token = f"{body}.{self._sign(body)}"
        return Challenge(token, salt, self.difficulty, f"What is {_WORDS[a]} plus {_WORDS[b]}? (answer in digits)")

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, b"challenge\x00" + body.encode(), hashlib.sha256).hexdigest()[:32]

    def verify(self, token: str, nonce: str, answer: str) -> tuple[str, float]:
        """Accept a solved proof of work or a right answer, once; anything else is a clear refusal.

        Returns the challenge's salt and expiry (epoch seconds): the memory here refuses a replay
        within this process, and the office records the salt with the report so that a replay
        is refused in every other server process too.
        """
        parts = token.split(".")
        # (compare_digest raises on a non-ASCII text: a signature that is not one is simply wrong)
        if (
            len(parts) != 7
            or not parts[6].isascii()
            or not hmac.compare_digest(self._sign(".".join(parts[:6])), parts[6])
        ):
            raise ChallengeFailedError("the form's anti-abuse check is missing or damaged; reload the form")
        _, salt, difficulty, a, b, expires = parts[:6]
        now = self.clock()
        if int(expires) < now:
            raise ChallengeFailedError("the form has expired; reload it and submit again")
        nonce, answer = nonce.strip()[:40], answer.strip()[:10]
        digest = hashlib.sha256(f"{salt}:{nonce}".encode()).digest()
        if not (nonce and leading_zero_bits(digest) >= int(difficulty)) and answer != str(int(a) + int(b)):
            raise ChallengeFailedError("the answer to the anti-abuse question is not right; please try again")
        with self._lock:
            if salt in self._used:
                raise ChallengeFailedError("this form was already submitted; reload it to send another report")
            self._used[salt] = float(expires)
            if len(self._used) > 100_000:
                for old in [s for s, until in self._used.items() if until < now]:
                    del self._used[old]
        return salt, float(expires)
