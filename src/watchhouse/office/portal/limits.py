"""Abuse limits checked inside the submission's own transaction, so they hold across processes.

The web layer refuses replays and floods cheaply from memory first, but memory is per server
process: with two workers a challenge could be used once in each, and a client got the limit
once per worker. Checked here, under the write lock that every submission's transaction holds,
with the used challenge recorded in that same transaction, neither depends on which process a
request reached. The per-client count is read from the reports themselves (client pseudonym and
time, indexed by migration 0011), so nothing extra is written to count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from watchhouse.core.errors import UsageError
from watchhouse.office.errors import PolicyError
from watchhouse.office.portal.tables import portal_challenge_uses, portal_reports


class ReplayedChallengeError(UsageError):
    """The form's challenge was already used for an accepted report."""


class TooManyReportsError(PolicyError):
    """The client reached its limit of accepted reports for the window."""


@dataclass(frozen=True)
class SubmitGuard:
    """What one submission must respect; ``None`` fields are not checked."""

    challenge: str | None = None
    """The salt of the form's challenge: each may be used for one accepted report."""
    challenge_expires: datetime | None = None
    """Until when a replay must be refused (afterwards the token is refused as expired anyway)."""
    per_client: int | None = None
    """Accepted reports one client may make per ``window``."""
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Attempt:
    guard: SubmitGuard
    client: str
    """The client pseudonym the report will be stored under."""


def refusals(conn: Connection, attempts: Sequence[Attempt], now: datetime) -> dict[int, UsageError | PolicyError]:
    """Index → refusal for the attempts that break a limit, taking earlier ones in the batch into account."""
    refused: dict[int, UsageError | PolicyError] = {}
    salts = [a.guard.challenge for a in attempts if a.guard.challenge]
    used = set(
        conn.execute(select(portal_challenge_uses.c.salt).where(portal_challenge_uses.c.salt.in_(salts))).scalars()
        if salts
        else ()
    )
    counts = _recent(conn, attempts, now)
    for i, attempt in enumerate(attempts):
        guard = attempt.guard
        if guard.challenge and guard.challenge in used:
            refused[i] = ReplayedChallengeError("this form was already submitted; reload it to send another report")
            continue
        key = (attempt.client, guard.window)
        if guard.per_client is not None and counts[key] >= guard.per_client:
            refused[i] = TooManyReportsError("Too many reports from your connection; please wait a few minutes.")
            continue
        if guard.challenge:
            used.add(guard.challenge)
        counts[key] += 1
    return refused


def _recent(conn: Connection, attempts: Sequence[Attempt], now: datetime) -> Counter[tuple[str, timedelta]]:
    """Accepted reports per (client, window) within the window (one query per distinct window)."""
    counts: Counter[tuple[str, timedelta]] = Counter()
    windows = {a.guard.window for a in attempts if a.guard.per_client is not None}
    for window in windows:
        clients = sorted({a.client for a in attempts if a.guard.per_client is not None and a.guard.window == window})
        rows = conn.execute(
            select(portal_reports.c.client, func.count())
            .where(portal_reports.c.client.in_(clients), portal_reports.c.received_at >= now - window)
            .group_by(portal_reports.c.client)
        )
        for client, count in rows:
            counts[(client, window)] = int(count)
    return counts


def record(conn: Connection, guards: Sequence[SubmitGuard], now: datetime) -> None:
    """Mark the accepted submissions' challenges used (the primary key is the last line of defence)."""
    rows = [
        {"salt": g.challenge, "expires_at": g.challenge_expires or now + timedelta(days=1)}
        for g in guards
        if g.challenge
    ]
    if rows:
        conn.execute(portal_challenge_uses.insert(), rows)


def forget_expired(conn: Connection, now: datetime) -> None:
    """Drop used challenges past their expiry: an expired token is refused on its own."""
    conn.execute(delete(portal_challenge_uses).where(portal_challenge_uses.c.expires_at < now))
