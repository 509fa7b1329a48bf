"""``accounts.credential_stuffing``: a leaked combo list replayed through many addresses.

Stuffing spreads its attempts over a residential proxy pool, so no address and no account sees a
burst: each address tries a few different accounts, many of which do not even exist here. What
gives it away is what the addresses share: the kit sends one pinned client fingerprint (user
agent) on every request, and the logins made with that fingerprint are nearly all failures, from
many sources, against many accounts. Real browsers of the same version log in mostly with success.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import DetectorFamily, DetectorInfo
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.reporting import SAMPLE_CAP, US, at, capped_note, iso, plural, sample, span
from watchhouse.detectors.accounts.tumbling import TumblingWindows
from watchhouse.detectors.accounts.window_evidence import cite, in_group_order
from watchhouse.detectors.accounts.window_screen import ClosingGroups
from watchhouse.detectors.accounts.windowed_detector import WindowedLoginDetector

#: evidence lines cited per finding; a flood of millions of lines would make one alert unreadable
EVIDENCE_CAP = 50_000
#: failed logins cited per finding, the first and the last ones of its window; the others are
#: counted but folded out of state (see :meth:`TumblingWindows._fold`)
EVIDENCE_HEAD = 150
EVIDENCE_TAIL = 150


class CredentialStuffingDetector(WindowedLoginDetector):
    """Reports a client fingerprint failing logins from many sources against many accounts.

    Options (event time, seconds):

    * ``window_seconds=600`` — stuffing runs send a steady stream; ten minutes holds dozens of
      sources even for a slow campaign, and keeps state small.
    * ``min_sources=10`` and ``min_accounts=10`` — distinct failing addresses and accounts with
      one fingerprint in a window; one household or office never reaches both.
    * ``min_failure_ratio=0.7`` — failures over all logins with the fingerprint in the window.
      Popular browsers carry thousands of honest, mostly successful logins.
    * ``max_failures_per_source=10`` — mean failures per address: above it the addresses are
      brute-forcing, a different shape reported by ``accounts.failed_login_burst``.
    * ``continuation_sources=3`` — the bar in the window after one that fired: a campaign does
      not stop at a window edge.
    * ``promote_at=3`` — failures per fingerprint and window before its rows are held.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="accounts.credential_stuffing",
        version="1",
        family=DetectorFamily.ACCOUNTS,
        datasets=frozenset({Dataset.AUTH}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Many sources sharing one client fingerprint failing logins on many accounts (credential stuffing).",
    )

    KEY_COLUMN: ClassVar[str] = "user_agent.original"
    FIRED_STATE: ClassVar[str] = "active"

    def __init__(
        self,
        *,
        window_seconds: float = 600,
        min_sources: int = 10,
        min_accounts: int = 10,
        min_failure_ratio: float = 0.7,
        max_failures_per_source: float = 10.0,
        continuation_sources: int = 3,
        allowed_lateness_seconds: float = 60,
        promote_at: int = 3,
        pending_seconds: float = 600,
    ) -> None:
        if window_seconds <= 0 or allowed_lateness_seconds < 0 or pending_seconds < 0:
            raise DetectorError("window_seconds must be positive, lateness and pending_seconds not negative")
        if min(min_sources, min_accounts) < 2 or not 1 <= continuation_sources <= min_sources or promote_at < 1:
            raise DetectorError("min_sources, min_accounts >= 2; 1 <= continuation_sources <= min_sources")
        if max_failures_per_source < 1 or not 0 <= min_failure_ratio <= 1:
            raise DetectorError("max_failures_per_source >= 1 and min_failure_ratio in [0, 1]")
        self.window_seconds = window_seconds
        self.min_sources = min_sources
        self.min_accounts = min_accounts
        self.min_failure_ratio = min_failure_ratio
        self.max_failures_per_source = max_failures_per_source
        self.continuation_sources = continuation_sources
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self.promote_at = promote_at
        self.pending_seconds = pending_seconds
        self._windows = self._new_windows()
        self._fired: dict[str, int] = {}  # fingerprint -> start of the last window it fired in

    def _new_windows(self) -> TumblingWindows:
        return TumblingWindows(
            window=round(self.window_seconds * US),
            lateness=round(self.allowed_lateness_seconds * US),
            promote_at=self.promote_at,
            horizon=round(self.pending_seconds * US),
            width_bits=14,
            fold_head=EVIDENCE_HEAD,
            fold_tail=EVIDENCE_TAIL,
            screen=self._screen,
        )

    def _screen(self, groups: ClosingGroups) -> npt.NDArray[np.bool_]:
        """The lower, continuation bar of :meth:`_plausible` for windows a batch closes, before
        their rows are held (:mod:`.window_screen`): the same counts, so the same groups pass.
        Sources and accounts are counted only for groups with enough failures and failure ratio."""
        failures, successes = groups.failures, groups.successes
        maybe = (
            groups.closing
            & (failures >= max(self.continuation_sources, 2))
            & (failures >= self.min_failure_ratio * (failures + successes))
        )
        sources = groups.distinct("ip", maybe)
        maybe &= (sources >= self.continuation_sources) & (failures <= sources * self.max_failures_per_source)
        accounts = groups.distinct("user", maybe)
        return maybe & (accounts >= 2)

    def _judge(self, rows: pl.DataFrame) -> list[Finding]:
        """Findings of the closed windows in ``rows``, oldest window first (a campaign that fired
        in the previous window lowers the bar for the next one).

        Groups that cannot fire are dropped first by numpy counts (:meth:`_plausible`); the rest
        are sorted once and aggregated in one group-by (statistics and wording alike), and only
        fingerprints that pass the lower, continuation bar are walked in Python, in window order.
        Evidence comes from the same order (:func:`cite`)."""
        if rows.height == 0:
            return []
        width = round(self.window_seconds * US)
        last_window = int(rows["win"].max())  # type: ignore[arg-type]
        rows = self._plausible(rows)
        if rows.height == 0:
            # nothing can fire: no sort, group-by or wording (the usual batch of ordinary logins)
            self._forget_fired(last_window - width)
            return []
        rows = in_group_order(rows)
        fail = pl.col("outcome") == "failure"
        agg = rows.group_by("win", "key", maintain_order=True).agg(
            rows=pl.len(),
            n=fail.sum(),
            sources_all=pl.col("ip").filter(fail).n_unique(),
            k=pl.col("user").filter(fail).n_unique(),
            successes=pl.max_horizontal(pl.col("successes_seen").max(), (~fail).sum()),
            # counts and the alphabetical head only: a flood window fires thousands of
            # fingerprints with hundreds of sources each, and full lists as Python strings
            # were the largest transient of judging it
            s=pl.col("ip").filter(fail).drop_nulls().n_unique(),
            sources=pl.col("ip").filter(fail).drop_nulls().unique().sort().head(SAMPLE_CAP),
            accounts=pl.col("user").filter(fail).unique().sort().head(SAMPLE_CAP),
            first=pl.col("ts").min(),
            last=pl.col("ts").max(),
            unknown=(fail & (pl.col("reason") == "unknown_user")).sum(),
        )
        # the lower bar in numpy (a frame query costs more than the comparisons, on a few groups)
        n, k = agg["n"].to_numpy().astype(np.int64), agg["k"].to_numpy().astype(np.int64)
        every_source = agg["sources_all"].to_numpy().astype(np.int64)
        candidate = (
            (every_source >= self.continuation_sources)
            & (k >= 2)
            & (n <= every_source * self.max_failures_per_source)
            & (n >= self.min_failure_ratio * (n + agg["successes"].to_numpy()))
        )
        fired = np.zeros(agg.height, dtype=bool)
        wins, keys = agg["win"].to_list(), agg["key"].to_list()
        sources, accounts = every_source.tolist(), k.tolist()
        for i in np.flatnonzero(candidate).tolist():
            continuing = self._fired.get(keys[i]) == wins[i] - width
            if continuing or (sources[i] >= self.min_sources and accounts[i] >= self.min_accounts):
                fired[i] = True
                self._fired[keys[i]] = wins[i]
        self._forget_fired(last_window - width)
        if not fired.any():
            return []
        # no finding can pass the cap when all of them together do not
        cited = cite(rows, agg["rows"].to_numpy(), fired, on="ip", cap=EVIDENCE_CAP)
        # logins that succeeded from the failing sources: the accounts taken, and how many logins
        taken = cited.taken_by_group()
        findings = []
        for row in cited.hits(agg, fired):
            group = (row["win"], row["key"])
            users = taken.get(group, [])
            findings.append(self._finding({**row, "taken": sorted(set(users)), "wins": len(users)}, cited.refs[group]))
        return findings

    def _plausible(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows of the groups that can fire (:meth:`KeyGroups.may_fire`; see
        :meth:`_group_failures`). Distinct values are told apart by hash bits, so a group would be
        dropped wrongly only if two of its values agreed in 46 or more bits."""
        groups, failed, failures, successes = self._group_failures(rows)
        sources = groups.distinct(rows["ip"], failed)
        accounts = groups.distinct(rows["user"], failed)
        candidate = (
            (sources >= self.continuation_sources)
            & (accounts >= 2)
            & (failures <= sources * self.max_failures_per_source)
            & (failures >= self.min_failure_ratio * (failures + successes))
        )
        opening = (sources >= self.min_sources) & (accounts >= self.min_accounts)
        keep = self._may_fire(groups, candidate, opening)
        return rows if keep.all() else rows.filter(pl.Series(keep[groups.group]))

    def _finding(self, row: dict[str, Any], shown: tuple[EventRef, ...]) -> Finding:
        """One stuffing finding from its aggregate row (see :meth:`_judge`)."""
        win, fingerprint = int(row["win"]), str(row["key"])
        sources: list[str] = row["sources"]
        accounts: list[str] = row["accounts"]
        taken: list[str] = row["taken"]
        n, s, k = int(row["n"]), int(row["s"]), int(row["k"])
        successes = int(row["successes"])
        ratio = n / (n + successes) if n + successes else 1.0
        unknown = int(row["unknown"])
        first, last = int(row["first"]), int(row["last"])
        # each time is worded once (a batch words dozens of findings, each naming them several times)
        first_at, last_at = at(first), at(last)
        start, since, until = iso(win), first_at.isoformat(), last_at.isoformat()
        completed = bool(taken)
        wins = int(row["wins"])
        listed = int(row["listed"])
        shown_rows = n + wins
        details: dict[str, Any] = {
            "user_agent": fingerprint,
            "window_start": start,
            "window_seconds": self.window_seconds,
            "first_seen": since,
            "last_seen": until,
            "failures": n,
            "distinct_sources": s,
            "distinct_accounts": k,
            "failures_per_source": round(n / max(s, 1), 3),
            "failure_ratio": round(ratio, 4),
            "unknown_accounts": unknown,
            "successes_with_fingerprint": successes,
            "sample_sources": sources[:SAMPLE_CAP],
            "sample_accounts": accounts[:SAMPLE_CAP],
            "accounts_logged_into": taken[:SAMPLE_CAP],
            "completed": completed,
            "evidence_truncated": shown_rows > min(EVIDENCE_CAP, listed + wins),
        }
        title = (
            f"Credential stuffing: {n} failed logins from {plural(s, 'source')} on {plural(k, 'account')} "
            f"with one client fingerprint in {span(last - first)}"
        )
        if completed:
            title += f" - {plural(len(taken), 'account')} logged into"
        explanation = (
            f"Between {since} and {until} (window of {self.window_seconds:g}s from {start}) the client "
            f"fingerprint {fingerprint!r} failed {n} logins from {s} distinct sources ({n / max(s, 1):.1f} each) "
            f"against {k} distinct accounts, failure ratio {ratio:.0%}; {unknown} attempts named accounts that do not "
            f"exist here, typical of a leaked combo list. Sources: {sample(sources, total=s)}. "
            + (
                f"Logins succeeded from those sources for {sample(taken)}: reset those passwords and end their "
                "sessions; the credentials leaked elsewhere."
                if completed
                else "No login from those sources succeeded: attempted only. Challenge or block the fingerprint."
            )
            + capped_note(listed, n, int(row["head"]), int(row["tail"]))
        )
        confidence = min(0.99, 0.6 + 0.3 * math.log10(max(s / self.min_sources, 1.0)) + 0.3 * (ratio - 0.7))
        return Finding(
            detector=self.info.name,
            key=f"user_agent.original:{fingerprint}:{start}:{row['anchor']}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED if completed else Stage.ATTEMPTED,
            severity=Severity.CRITICAL if completed else Severity.HIGH,
            confidence=round(max(confidence, 0.5), 4),
            title=title,
            explanation=explanation,
            subject=Subject("user_agent.original", fingerprint),
            first_seen=first_at,
            last_seen=last_at,
            evidence=shown,
            details=details,
            tags=("credential-stuffing",),
        )
