"""``accounts.failed_login_burst``: password guessing seen as a burst of failed logins.

Guessing passwords is the commonest attempt at illegal access (Budapest Convention Article 2):
credential stuffing against the web login, dictionary attacks against ``sshd``. One failed login
means nothing; many failures close together in time, from one address or against one account,
mean someone is trying to get in who does not know the password. A success right after such a
burst may mean they did get in, which is what an analyst most needs to know first.

The time logic (watermark, lateness, burst segmentation, checkpoint state) lives in
:mod:`watchhouse.detectors.accounts.windows`; this module filters the events and writes findings.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.reporting import US, at
from watchhouse.detectors.accounts.windows import ACCOUNT_KIND, IP_KIND, BurstTracker, ClosedBursts

#: how many sample accounts or sources a finding's details list
SAMPLE_CAP = 20
#: successes put into evidence besides the failures (the failures themselves are never capped)
SUCCESS_EVIDENCE_CAP = 50


def _duration(us: int) -> str:
    seconds = us // US
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def _short(value: str) -> str:
    return value if len(value) <= 12 else f"{value[:10]}..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that hold no cycles.

    Why: an sshd dictionary attack makes over half a million evidence references at once, and
    the collector, woken every few hundred allocations to scan them all again, took 40 % of that
    time; none of them can be garbage yet."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _event_refs(refs: pl.DataFrame) -> list[EventRef]:
    """One :class:`EventRef` per row of ``refs`` (``seq``, ``path``, ``line``, ``offset``).

    Why not one per row: most failures are evidence twice (address burst and account burst),
    and creating a million frozen dataclasses was the costliest step of a dictionary attack's
    report. Rows of one event (same ``seq``) share one immutable reference object instead, and
    references into one file share its path string (a scan reads a few files, not one per event).
    The distinct events are found with one integer sort; Python only constructs the objects.
    """
    if refs.height == 0:
        return []
    _, first, inverse = np.unique(refs["seq"].to_numpy(), return_index=True, return_inverse=True)
    events = refs.select("path", "line", "offset")[first]
    files = events["path"].unique().sort()
    names = np.array(files.to_list(), dtype=object)
    paths = names[events["path"].replace_strict(files, pl.int_range(files.len(), eager=True)).to_numpy()].tolist()
    lines = events["line"].to_list()
    offsets = [None] * events.height if events["offset"].null_count() == events.height else events["offset"].to_list()
    made = np.empty(events.height, dtype=object)
    with _no_gc():
        made[:] = list(map(EventRef, paths, lines, offsets))
    shared: list[EventRef] = made[inverse.reshape(-1)].tolist()
    return shared


class FailedLoginBurstDetector(Detector):
    """Reports bursts of failed logins per source address and per account.

    Why both keys: one address guessing many accounts (credential stuffing, ``sshd`` dictionary
    attacks) and many addresses guessing one account (a botnet spreading its attempts) are both
    password guessing, and each is invisible from the other key.

    Options (all times in event time, seconds):

    * ``window_seconds=600`` — failures more than ten minutes apart are not one attempt; ten
      minutes is also the lockout/observation period common in login throttling (OWASP ASVS
      2.2.1 style) and long enough to catch slow "low and slow" guessing at a few per minute.
    * ``ip_threshold=20`` — one address may legitimately front many users (office NAT, mobile
      carrier CGNAT), each mistyping now and then; twenty failures in ten minutes from one address
      is well above that noise and well below what any guessing tool produces.
    * ``account_threshold=10`` — a person locked out of their own account gives up or resets the
      password after a handful of tries; ten failures in ten minutes is guessing.
    * ``allowed_lateness_seconds=60`` — log shippers and multi-host merges deliver events slightly
      out of order; a minute covers syslog buffering without holding bursts open for long.
    * ``large_burst_factor=10`` — an unsuccessful burst of at least this many times the threshold
      is rated HIGH rather than MEDIUM: that volume is tooling and will likely continue elsewhere.

    Counting choices: failures from one address are counted *together across services* (``sshd``
    and ``web``): the same actor probing two doors is one attack, and splitting would let it
    halve its visible rate. Failures for one account are counted *per service*, because the
    ``sshd`` user ``admin`` and the platform account ``admin`` are different accounts.

    A burst is reported from one window before the point where its failures first reached half
    the threshold within a window: a key failing every few minutes all day is not guessing until
    it speeds up, and that quiet lead-in is neither evidence nor state worth holding (it is what
    keeps memory flat under a flood of millions of keys, see :mod:`.windows`).

    A success for the same key within a burst or ``window_seconds`` after its last failure makes
    the finding *completed*: HIGH, or CRITICAL when the success is for an account the address was
    guessing (address key) or comes from an address that took part in the guessing (account key)
    — a success from elsewhere may just be the owner logging in, and is reported as HIGH.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="accounts.failed_login_burst",
        version="1",
        family=DetectorFamily.ACCOUNTS,
        datasets=frozenset({Dataset.AUTH}),
        default_severity=Severity.MEDIUM,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Bursts of failed logins from one address or against one account (password guessing).",
    )

    def __init__(
        self,
        *,
        window_seconds: float = 600,
        ip_threshold: int = 20,
        account_threshold: int = 10,
        allowed_lateness_seconds: float = 60,
        large_burst_factor: int = 10,
    ) -> None:
        if window_seconds <= 0 or allowed_lateness_seconds < 0:
            raise DetectorError("window_seconds must be positive and allowed_lateness_seconds not negative")
        if ip_threshold < 2 or account_threshold < 2 or large_burst_factor < 1:
            raise DetectorError("thresholds must be at least 2 and large_burst_factor at least 1")
        self.window_seconds = window_seconds
        self.ip_threshold = ip_threshold
        self.account_threshold = account_threshold
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self.large_burst_factor = large_burst_factor
        self._thresholds = {IP_KIND: ip_threshold, ACCOUNT_KIND: account_threshold}
        self._tracker = self._new_tracker()

    def _new_tracker(self) -> BurstTracker:
        return BurstTracker(
            window=round(self.window_seconds * US),
            lateness=round(self.allowed_lateness_seconds * US),
            thresholds=self._thresholds,
        )

    # -- Detector protocol --------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        frame = batch.to_polars().select(
            pl.col(TIMESTAMP_FIELD).cast(pl.Int64).alias("ts"),
            pl.col("event.outcome").alias("outcome"),
            pl.col("source.ip").alias("ip"),
            pl.col("user.name").alias("user"),
            pl.col("service.name").alias("service"),
            pl.col(PATH_FIELD).alias("path"),
            pl.col(LINE_FIELD).alias("line"),
            pl.col(OFFSET_FIELD).alias("offset"),
        )
        return self._findings(self._tracker.update(frame))

    def finalize(self) -> list[Finding]:
        return self._findings(self._tracker.flush())

    def checkpoint(self) -> JSONState:
        return {"tracker": self._tracker.to_json()}

    def restore(self, state: JSONState) -> None:
        self._tracker = self._new_tracker()
        if state:
            self._tracker.load_json(state["tracker"])

    @property
    def open_keys(self) -> int:
        """Keys with failures still held in state (bounded-state checks and metrics)."""
        return self._tracker.open_keys

    # -- reporting ----------------------------------------------------------------------------
    def _findings(self, closed: ClosedBursts) -> list[Finding]:
        """Word every closed burst: one vectorised pass over all of them, then plain Python per burst.

        Why not a frame per burst: a dictionary attack on a host closes thousands of bursts per
        batch, and a dozen Polars calls per burst cost more than reading the log.
        """
        if len(closed) == 0:
            return []
        by_ip = pl.col("kind") == IP_KIND
        fails = closed.failures.with_columns(other=pl.when(by_ip).then(pl.col("user")).otherwise(pl.col("ip")))
        agg = fails.group_by("seg", maintain_order=True).agg(
            n=pl.len(),
            first_ts=pl.col("ts").first(),
            last_ts=pl.col("ts").last(),
            first_path=pl.col("path").first(),
            first_line=pl.col("line").first(),
            first_offset=pl.col("offset").first(),
            first_user=pl.col("user").first(),
            others=pl.col("other").drop_nulls().unique().sort(),
            services=pl.col("service").drop_nulls().unique().sort(),
        )
        # the success that shows the guessing worked: same account (address key), same guesser (account key)
        pairs = fails.select("seg", "other").drop_nulls().unique()
        succ = (
            closed.successes.with_columns(other=pl.when(by_ip).then(pl.col("user")).otherwise(pl.col("ip")))
            .join(pairs.with_columns(decisive=pl.lit(True)), on=["seg", "other"], how="left")
            .with_columns(decisive=pl.col("decisive").fill_null(False))
            .with_columns(any_decisive=pl.col("decisive").any().over("seg"))
            .with_columns(
                shown=pl.when(pl.col("any_decisive"))
                .then(pl.col("decisive"))
                .otherwise(pl.int_range(pl.len()).over("seg") == 0)
            )
        )
        shown = succ.filter("shown").filter(pl.int_range(pl.len()).over("seg") < SUCCESS_EVIDENCE_CAP)
        sagg = succ.group_by("seg").agg(
            successes=pl.len(),
            decisive=pl.col("decisive").sum(),
            success_accounts=pl.col("user").drop_nulls().unique().sort(),
            success_sources=pl.col("ip").drop_nulls().unique().sort(),
        )
        shown_last = shown.group_by("seg").agg(shown_last=pl.col("ts").max())
        table = (
            closed.bursts.join(agg, on="seg", how="left")
            .join(sagg, on="seg", how="left")
            .join(shown_last, on="seg", how="left")
            .sort("seg")
        )
        cols = ["seg", "ts", "seq", "path", "line", "offset"]
        refs = pl.concat([fails.select(cols), shown.select(cols)]).sort("seg", "ts", "seq")
        counts = refs.group_by("seg", maintain_order=True).len()
        ends = dict(zip(counts["seg"].to_list(), counts["len"].cum_sum().to_list(), strict=True))
        all_refs = _event_refs(refs)
        findings: list[Finding] = []
        begin = 0
        for row in table.iter_rows(named=True):
            end = ends[row["seg"]]
            findings.append(self._finding(row, tuple(all_refs[begin:end])))
            begin = end
        return findings

    def _finding(self, row: dict[str, Any], evidence: tuple[EventRef, ...]) -> Finding:
        """One burst's finding from its aggregate row (see :meth:`_findings`)."""
        kind = row["kind"]
        by_ip = kind == IP_KIND
        threshold = self._thresholds[kind]
        n = int(row["n"])
        first_ts, last_ts = int(row["first_ts"]), int(row["last_ts"])
        first_path, first_line, first_offset = row["first_path"], row["first_line"], row["first_offset"]
        subject = Subject("source.ip", row["key"]) if by_ip else Subject("user.name", str(row["first_user"]))
        others: list[str] = row["others"]
        services: list[str] = row["services"]
        other_set = set(others)
        n_succ = int(row["successes"] or 0)
        n_decisive = int(row["decisive"] or 0)
        completed = n_succ > 0
        if completed:
            stage = Stage.COMPLETED
            severity = Severity.CRITICAL if n_decisive else Severity.HIGH
        else:
            stage = Stage.ATTEMPTED
            severity = Severity.HIGH if n >= self.large_burst_factor * threshold else Severity.MEDIUM
        last_seen = max(last_ts, int(row["shown_last"])) if row["shown_last"] is not None else last_ts
        ratio = n / (n + n_succ)
        confidence = min(0.99, 0.6 + 0.39 * math.log10(max(row["peak"] / threshold, 1.0)))
        anchor = first_line if first_line is not None else f"@{first_offset}"
        key = f"{subject.kind}:{subject.value}:{at(first_ts).isoformat()}:{first_path}:{anchor}"
        span = _duration(last_ts - first_ts)
        other_word = "account" if by_ip else "source"
        if by_ip:
            title = (
                f"Brute force: {n} failed logins from {row['key']} against {_plural(len(others), 'account')} in {span}"
            )
        else:
            title = (
                f"Brute force: {n} failed logins for account {_short(subject.value)} "
                f"from {_plural(len(others), 'source')} in {span}"
            )
        if completed:
            title += " - then a successful login"
        success_accounts: list[str] = row["success_accounts"] or []
        success_sources: list[str] = row["success_sources"] or []
        details: dict[str, Any] = {
            "key_kind": subject.kind,
            "key": subject.value,
            "failures": n,
            "threshold": threshold,
            "window_seconds": self.window_seconds,
            "peak_in_window": row["peak"],
            "peak_window_start": at(row["peak_start"]).isoformat(),
            "peak_window_end": at(row["peak_end"]).isoformat(),
            "first_seen": at(first_ts).isoformat(),
            "last_failure": at(last_ts).isoformat(),
            f"distinct_{other_word}s": len(others),
            f"sample_{other_word}s": others[:SAMPLE_CAP],
            "services": services,
            "successes": n_succ,
            "failure_ratio": round(ratio, 4),
            "completed": completed,
            "success_matches_burst": n_decisive > 0,
            "success_accounts": success_accounts[:SAMPLE_CAP],
            "success_sources": success_sources[:SAMPLE_CAP],
        }
        explanation = self._explain(subject, details, other_set, services)
        return Finding(
            detector=self.info.name,
            key=key,
            crime_code=self.info.crime_code,
            stage=stage,
            severity=severity,
            confidence=round(confidence, 4),
            title=title,
            explanation=explanation,
            subject=subject,
            first_seen=at(first_ts),
            last_seen=at(last_seen),
            evidence=evidence,
            details=details,
            tags=("brute-force", f"key:{kind}", *(f"service:{s}" for s in services)),
        )

    def _explain(self, subject: Subject, d: dict[str, Any], others: set[str], services: list[str]) -> str:
        by_ip = subject.kind == "source.ip"
        other_word = "account" if by_ip else "source address"
        sample = ", ".join(sorted(others)[:5]) + (", ..." if len(others) > 5 else "")
        lines = [
            f"{d['failures']} failed logins {'from' if by_ip else 'for'} {subject} between {d['first_seen']} and "
            f"{d['last_failure']} (each within {d['window_seconds']:g}s of the previous one).",
            f"Peak: {d['peak_in_window']} failures within {d['window_seconds']:g}s "
            f"({d['peak_window_start']} to {d['peak_window_end']}); the threshold is {d['threshold']}.",
            f"{_plural(len(others), 'distinct ' + other_word)} involved" + (f": {sample}." if others else "."),
            f"Services: {', '.join(services) if services else 'unknown'}.",
        ]
        if d["completed"]:
            who = "for an account that was being guessed" if by_ip else "from an address that took part in the guessing"
            verdict = (
                f"It ended in success: {d['successes']} successful login(s) within the burst or "
                f"{d['window_seconds']:g}s after it (failure ratio {d['failure_ratio']:.0%})"
            )
            if d["success_matches_burst"]:
                verdict += f", {who} - treat the account as compromised: reset credentials, review the session."
            else:
                verdict += " but not " + who + " - possibly the legitimate owner; confirm with them."
            lines.append(verdict)
        else:
            lines.append(
                "No successful login followed: attempted only. Consider rate-limiting or blocking the source "
                "and checking the targeted accounts for weak passwords."
            )
        return " ".join(lines)
