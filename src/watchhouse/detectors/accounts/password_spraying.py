"""``accounts.password_spraying``: one or two common passwords tried against many accounts.

Spraying dodges lockouts and per-account burst rules by trying each account only once or twice,
slowly, from one address or a handful: no account sees a burst, and one address sees a trickle
of failures spread over dozens of different accounts. The signal is the *shape* per source over a
longer window: many distinct accounts, very few attempts each, almost nothing but failures.
Brute force (many attempts at one account) is the other shape and is left to
``accounts.failed_login_burst``.
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

#: failed logins a finding cites, the first and the last ones of its window: a spray over
#: thousands of accounts would make one alert unreadable and its state large
EVIDENCE_HEAD = 100
EVIDENCE_TAIL = 100


class PasswordSprayingDetector(WindowedLoginDetector):
    """Reports a source address that failed logins on many accounts, a few tries each.

    Options (event time, seconds):

    * ``window_seconds=3600`` — sprays pace themselves over tens of minutes to stay under
      lockout counters; an hour holds enough of one to see its breadth.
    * ``min_accounts=10`` — distinct accounts failing from the address in the window. People
      behind one NAT do mistype, but ten different accounts failing from one address in an hour,
      with nearly no successes, is not people.
    * ``max_attempts_per_account=3.0`` — mean failures per targeted account; above it the source
      is guessing accounts one by one (brute force), not spraying.
    * ``min_failure_ratio=0.8`` — failures over all logins from the address; a shared address
      with real users logging in shows many successes.
    * ``continuation_accounts=3`` — once an address sprayed in one window, the next window needs
      only this many accounts: a spray does not stop at a window edge.
    * ``allowed_lateness_seconds=60`` — out-of-order delivery tolerated, as in the burst detector.
    * ``promote_at=2`` — failures (per address and window, counted in a sketch) before the
      address's rows are held for evidence; a flood of one-off addresses then costs fixed memory.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="accounts.password_spraying",
        version="1",
        family=DetectorFamily.ACCOUNTS,
        datasets=frozenset({Dataset.AUTH}),
        default_severity=Severity.MEDIUM,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="One address failing logins on many accounts with few attempts each (password spraying).",
    )

    KEY_COLUMN: ClassVar[str] = "source.ip"
    FIRED_STATE: ClassVar[str] = "sprayed"

    def __init__(
        self,
        *,
        window_seconds: float = 3600,
        min_accounts: int = 10,
        max_attempts_per_account: float = 3.0,
        min_failure_ratio: float = 0.8,
        continuation_accounts: int = 3,
        allowed_lateness_seconds: float = 60,
        promote_at: int = 2,
        pending_seconds: float = 900,
    ) -> None:
        if window_seconds <= 0 or allowed_lateness_seconds < 0 or pending_seconds < 0:
            raise DetectorError("window_seconds must be positive, lateness and pending_seconds not negative")
        if min_accounts < 2 or not 1 <= continuation_accounts <= min_accounts or promote_at < 1:
            raise DetectorError("min_accounts >= 2, 1 <= continuation_accounts <= min_accounts, promote_at >= 1")
        if max_attempts_per_account < 1 or not 0 <= min_failure_ratio <= 1:
            raise DetectorError("max_attempts_per_account >= 1 and min_failure_ratio in [0, 1]")
        self.window_seconds = window_seconds
        self.min_accounts = min_accounts
        self.max_attempts_per_account = max_attempts_per_account
        self.min_failure_ratio = min_failure_ratio
        self.continuation_accounts = continuation_accounts
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self.promote_at = promote_at
        self.pending_seconds = pending_seconds
        self._windows = self._new_windows()
        self._fired: dict[str, int] = {}  # address -> start of the last window it sprayed in

    def _new_windows(self) -> TumblingWindows:
        return TumblingWindows(
            window=round(self.window_seconds * US),
            lateness=round(self.allowed_lateness_seconds * US),
            promote_at=self.promote_at,
            horizon=round(self.pending_seconds * US),
            # a flood of ten million one-off addresses in one window must not look like repeats:
            # a Bloom filter of up to 2**27 bits (16 MB) says "seen before" wrongly for under 1%
            # of them, and only the keys it has seen consult the count-min (2**22 wide, not 2**23);
            # successes are few per address and only lower the failure ratio, so 2**20 will do
            width_bits=22,
            bloom_bits=27,
            fold_head=EVIDENCE_HEAD,
            fold_tail=EVIDENCE_TAIL,
            small=True,
            success_width_bits=20,
            depth=3,
            key_is_ip=True,
            screen=self._screen,
        )

    def _screen(self, groups: ClosingGroups) -> npt.NDArray[np.bool_]:
        """The lower, continuation bar of :meth:`_plausible` for windows a batch closes, before
        their rows are held (:mod:`.window_screen`): the same counts, so the same groups pass.
        Accounts are counted only for groups with enough failures and failure ratio."""
        failures, successes = groups.failures, groups.successes
        maybe = (
            groups.closing
            & (failures >= self.continuation_accounts)
            & (failures >= self.min_failure_ratio * (failures + successes))
        )
        accounts = groups.distinct("user", maybe)
        return maybe & (accounts >= self.continuation_accounts) & (failures <= accounts * self.max_attempts_per_account)

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, rows: pl.DataFrame) -> list[Finding]:
        """Findings of the closed windows in ``rows``, oldest window first (a spray that went on
        in the previous window lowers the bar for the next one).

        Groups that cannot fire are dropped first by numpy counts (:meth:`_plausible`); the rest
        are sorted once and aggregated in one group-by (statistics and wording alike), and only
        addresses that pass the lower, continuation bar are walked in Python, in window order, to
        apply the bar that holds for them. Evidence comes from the same order (:func:`cite`)."""
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
            k=pl.col("user").filter(fail).n_unique(),
            successes=pl.max_horizontal(pl.col("successes_seen").max(), (~fail).sum()),
            accounts=pl.col("user").filter(fail).unique().sort(),
            cracked=pl.col("user").filter(~fail).unique().sort(),
            first=pl.col("ts").min(),
            last=pl.col("ts").max(),
            unknown=(fail & (pl.col("reason") == "unknown_user")).sum(),
        )
        # the lower bar in numpy (a frame query costs more than the comparisons, on a few groups)
        n, k = agg["n"].to_numpy().astype(np.int64), agg["k"].to_numpy().astype(np.int64)
        candidate = (
            (k >= self.continuation_accounts)
            & (n <= k * self.max_attempts_per_account)
            & (n >= self.min_failure_ratio * (n + agg["successes"].to_numpy()))
        )
        fired = np.zeros(agg.height, dtype=bool)
        wins, keys, accounts = agg["win"].to_list(), agg["key"].to_list(), k.tolist()
        for i in np.flatnonzero(candidate).tolist():
            continuing = self._fired.get(keys[i]) == wins[i] - width
            if accounts[i] >= (self.continuation_accounts if continuing else self.min_accounts):
                fired[i] = True
                self._fired[keys[i]] = wins[i]
        self._forget_fired(last_window - width)
        if not fired.any():
            return []
        cited = cite(rows, agg["rows"].to_numpy(), fired, on="user", cap=None)
        return [self._finding(row, cited.refs[(row["win"], row["key"])]) for row in cited.hits(agg, fired)]

    def _plausible(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows of the groups that can fire (:meth:`KeyGroups.may_fire`; see
        :meth:`_group_failures`). Distinct values are told apart by hash bits, so a group would be
        dropped wrongly only if two of its values agreed in 46 or more bits."""
        groups, failed, failures, successes = self._group_failures(rows)
        accounts = groups.distinct(rows["user"], failed)
        candidate = (
            (accounts >= self.continuation_accounts)
            & (failures <= accounts * self.max_attempts_per_account)
            & (failures >= self.min_failure_ratio * (failures + successes))
        )
        keep = self._may_fire(groups, candidate, accounts >= self.min_accounts)
        return rows if keep.all() else rows.filter(pl.Series(keep[groups.group]))

    def _finding(self, row: dict[str, Any], shown: tuple[EventRef, ...]) -> Finding:
        """One spraying finding from its aggregate row (see :meth:`_judge`)."""
        win, address = int(row["win"]), str(row["key"])
        accounts: list[str] = row["accounts"]
        cracked = sorted(set(row["cracked"]) & set(accounts))
        n, k = int(row["n"]), len(accounts)
        successes = int(row["successes"])
        first, last = int(row["first"]), int(row["last"])
        # each time is worded once (a batch words dozens of findings, each naming them several times)
        first_at, last_at = at(first), at(last)
        start, since, until = iso(win), first_at.isoformat(), last_at.isoformat()
        unknown = int(row["unknown"])
        completed = bool(cracked)
        severity = (
            Severity.CRITICAL if completed else (Severity.HIGH if k >= 10 * self.min_accounts else Severity.MEDIUM)
        )
        ratio = n / (n + successes) if n + successes else 1.0
        details: dict[str, Any] = {
            "source_ip": address,
            "window_start": start,
            "window_seconds": self.window_seconds,
            "first_seen": since,
            "last_seen": until,
            "failures": n,
            "distinct_accounts": k,
            "attempts_per_account": round(n / k, 3),
            "failure_ratio": round(ratio, 4),
            "unknown_accounts": unknown,
            "successes_from_source": successes,
            "sample_accounts": accounts[:SAMPLE_CAP],
            "accounts_logged_into": cracked[:SAMPLE_CAP],
            "completed": completed,
        }
        listed = int(row["listed"])
        if listed < n:
            details["evidence_failures_listed"] = listed
        title = (
            f"Password spraying: {address} failed on {plural(k, 'account')} ({n / k:.1f} tries each) "
            f"in {span(last - first)}"
        )
        if completed:
            title += f" - then logged into {plural(len(cracked), 'sprayed account')}"
        explanation = (
            f"{n} failed logins from {address} against {k} distinct accounts between {since} and {until} "
            f"(window of {self.window_seconds:g}s from {start}), {n / k:.2f} attempts per account, failure ratio "
            f"{ratio:.0%}; {unknown} attempt(s) named accounts that do not exist. Accounts: {sample(accounts)}. "
            + (
                f"It then logged into {sample(cracked)}: treat those accounts as compromised (reset, review sessions)."
                if completed
                else "No sprayed account was logged into: attempted only. Block or rate-limit the source and check "
                "the accounts for weak or common passwords."
            )
            + capped_note(listed, n, int(row["head"]), int(row["tail"]))
        )
        confidence = min(0.99, 0.6 + 0.3 * math.log10(max(k / self.min_accounts, 1.0)) + 0.2 * (ratio - 0.8))
        return Finding(
            detector=self.info.name,
            key=f"source.ip:{address}:{start}:{row['anchor']}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED if completed else Stage.ATTEMPTED,
            severity=severity,
            confidence=round(max(confidence, 0.5), 4),
            title=title,
            explanation=explanation,
            subject=Subject("source.ip", address),
            first_seen=first_at,
            last_seen=last_at,
            evidence=shown,
            details=details,
            tags=("password-spraying",),
        )
