"""``accounts.slow_brute_force``: password guessing paced to stay under rate limits.

A guessing tool that waits minutes between tries never shows up as a burst: one failure every
twenty minutes is below any sensible rate threshold, and a day of it is still seventy guesses.
What gives it away is the *pacing*: the attempts from one address come at regular intervals, far
apart, for one account after another — a timer, not a person. A person who forgot a password tries
again after a varying while, for their own account, and stops after a few tries.

The detector follows each source address through its failures in stream order and keeps the
current *run*: failures whose gaps all lie between ``min_gap_seconds`` and ``max_gap_seconds``
and where each gap is within ``max_gap_ratio`` of the previous one. A run of ``min_attempts``
failures is reported when it names at least two accounts, or once it reaches
``single_account_attempts`` failures against one account. One finding per run, raised when it
qualifies (while the attack is happening), not when it ends. A successful login from the address
ends its run: an address that knows a password is a user with typos or a stale script, not a
guesser (a guesser that gets in is the burst detector's "completed" case).

The technique is the one CrowdSec's ``ssh-time-based-bf`` scenario test describes (slow, evenly
spaced attempts against one account after another); the rule and its defaults here are our own.

Bounded state, because every address under a flood fails once and each could be the first try
of a paced attacker: an address with a single failure lives in a fixed-size hashed table
(:class:`.slow_sightings.Sightings`, one 36-byte record a slot, newest wins a slot), and only
addresses with at least two paced failures get an exact run (:class:`.slow_runs.OpenRuns`: the
run's failures, in one frame), capped at ``max_runs`` (least recently extended dropped first).
Under a flood the table is overwritten faster than a slow attacker returns, so a paced run is then
found one attempt later or not at all; the flood itself is the burst and stuffing detectors' business.

A batch is handled in arrays: :mod:`.slow_batch` groups its rows by address with one sort, and
:func:`.slow_runs.pace` applies the rule to every address at once, its carried failures first.
Python only words the findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.reporting import US, at, event_refs
from watchhouse.detectors.accounts.sketches import U64, among
from watchhouse.detectors.accounts.slow_batch import BatchRows, Carried, columns
from watchhouse.detectors.accounts.slow_runs import I64, Mask, OpenRuns, Paced, PaceRule, pace, spans
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA, Sightings

#: accounts named in a finding; also the most distinct accounts a run counts exactly
SAMPLE_CAP = 20
#: failures a finding lists as evidence (the first ones of the run)
EVIDENCE_CAP = 50
#: 2: open runs are kept as their failures (:class:`.OpenRuns`), no longer as records
STATE_VERSION = 2


def _minutes(us: float) -> str:
    seconds = us / US
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finding says of a run that qualified, from its failures in stream order."""

    ip: str
    first_ts: int
    last_ts: int
    links: int  # paced gaps in the run: attempts - 1
    gap_min: int
    gap_max: int
    accounts: int  # distinct accounts, counted up to SAMPLE_CAP
    names: list[str]  # account names in the order first seen, at most SAMPLE_CAP
    evidence: tuple[EventRef, ...]

    @property
    def attempts(self) -> int:
        return self.links + 1

    @staticmethod
    def of(ip: str, ts: list[int], accounts: list[int], users: list[str | None], refs: list[EventRef]) -> RunSummary:
        gaps = [b - a for a, b in pairwise(ts)]
        names: list[str] = []
        for user in users:
            if user is not None and user not in names and len(names) < SAMPLE_CAP:
                names.append(user)
        return RunSummary(
            ip,
            ts[0],
            ts[-1],
            len(ts) - 1,
            min(gaps),
            max(gaps),
            min(len(set(accounts)), SAMPLE_CAP),
            names,
            tuple(refs[:EVIDENCE_CAP]),
        )


class SlowBruteForceDetector(Detector):
    """Reports addresses whose failed logins come at a slow, regular pace, against several accounts.

    Why: rate-based rules (:mod:`.failed_login_burst`) are blind to a tool that waits between tries;
    regular pacing over minutes to an hour is the mark of such a tool. See the module docstring for
    the run definition and the bounded state.

    Options (event time, seconds):

    * ``min_gap_seconds=60`` — faster than one try a minute is a burst, the burst detector's case.
    * ``max_gap_seconds=3600`` — tries more than an hour apart are not followed as one run.
    * ``max_gap_ratio=1.5`` — each gap within 1.5x the previous one: a timer, not a person.
    * ``min_attempts=4`` — three paced failures can be chance; four at a steady pace are a schedule.
    * ``single_account_attempts=8`` — one account retried at a steady pace is reported only from
      eight tries: its owner may retry a few times, a schedule does not stop.
    * ``allowed_lateness_seconds=60`` — how far behind its file's newest failure a run may end
      before it is forgotten on top of ``max_gap_seconds``.
    * ``sightings_bits=20`` — a million table slots (38 MB) for single failures. A single failure
      waits here for up to ``max_gap_seconds``; with a hundred thousand other addresses failing
      once in that hour, nine in ten survive (2**21 slots kept 95 % for twice the memory, and under
      a flood of millions neither size keeps them). One lost is found one attempt later.
    * ``max_runs=50000`` — exact runs kept at most (least recently extended dropped). A run keeps
      its failures until it is reported (fewer than ``single_account_attempts``), then its last
      two: at most 50,000 x 7 rows with the defaults.

    A failure that arrives out of order for its address (older than the previous one) restarts
    the run: pacing is judged in the order sshd wrote the lines, so late lines cannot be fitted
    into a schedule after the fact.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="accounts.slow_brute_force",
        version="1",
        family=DetectorFamily.ACCOUNTS,
        datasets=frozenset({Dataset.AUTH}),
        default_severity=Severity.MEDIUM,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Failed logins from one address at a slow, regular pace across accounts (paced password guessing).",
    )

    def __init__(
        self,
        *,
        min_gap_seconds: float = 60,
        max_gap_seconds: float = 3600,
        max_gap_ratio: float = 1.5,
        min_attempts: int = 4,
        single_account_attempts: int = 8,
        allowed_lateness_seconds: float = 60,
        sightings_bits: int = 20,
        max_runs: int = 50_000,
    ) -> None:
        if not 0 < min_gap_seconds <= max_gap_seconds:
            raise DetectorError("need 0 < min_gap_seconds <= max_gap_seconds")
        if max_gap_ratio < 1 or min_attempts < 3 or single_account_attempts < min_attempts:
            raise DetectorError("need max_gap_ratio >= 1, min_attempts >= 3, single_account_attempts >= min_attempts")
        if not 10 <= sightings_bits <= 28 or max_runs < 1 or allowed_lateness_seconds < 0:
            raise DetectorError("sightings_bits must be 10..28, max_runs positive, lateness not negative")
        self.min_gap = round(min_gap_seconds * US)
        self.max_gap = round(max_gap_seconds * US)
        self.max_gap_ratio = max_gap_ratio
        self.min_attempts = min_attempts
        self.single_account_attempts = single_account_attempts
        self.rule = PaceRule(self.min_gap, self.max_gap, max_gap_ratio, min_attempts, single_account_attempts)
        self.lateness = round(allowed_lateness_seconds * US)
        self.sightings_bits = sightings_bits
        self.max_runs = max_runs
        self._reset()

    def _reset(self) -> None:
        self.sightings = Sightings(self.sightings_bits)
        self.runs = OpenRuns()  # by address, least recently extended first
        self.max_seen: dict[str, int] = {}  # per file: newest failure time

    # -- Detector protocol --------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        rows = BatchRows(batch.to_polars(), self.sightings)
        if rows.height == 0:
            return []
        self._see(rows)
        findings = self._advance(rows)
        self._expire()
        return findings

    def finalize(self) -> list[Finding]:
        """Findings are raised as runs qualify, so nothing is left to report; state is dropped."""
        self._reset()
        return []

    def checkpoint(self) -> JSONState:
        return {
            "version": STATE_VERSION,
            "sightings": self.sightings.to_json(),
            "runs": self.runs.to_json(),
            "max_seen": self.max_seen,
        }

    def restore(self, state: JSONState) -> None:
        self._reset()
        if not state:
            return
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported slow brute force state version {state.get('version')!r}")
        self.sightings.load_json(state["sightings"])
        self.runs.load_json(state["runs"])
        self.max_seen = {str(p): int(t) for p, t in state["max_seen"].items()}

    @property
    def open_keys(self) -> int:
        """Addresses followed exactly (runs); single failures live in the fixed table."""
        return len(self.runs)

    # -- the runs -----------------------------------------------------------------------------
    def _see(self, rows: BatchRows) -> None:
        """Move each file's newest failure time forward (one maximum for a one-file batch)."""
        if rows.path is not None:
            pairs: list[tuple[str, int]] = [(rows.path, int(rows.ts.max()))]
        else:
            pairs = list(rows.frame.group_by("path").agg(pl.col("ts").max()).iter_rows())
        for path, newest in pairs:
            self.max_seen[path] = max(self.max_seen.get(path, newest), newest)

    def _advance(self, rows: BatchRows) -> list[Finding]:
        """Feed one batch: every row is grouped by address once (one sort of packed hashes), and
        each address's rows are handled by what it has going on, all in arrays.

        An address with one failure in the batch and no run only touches the table
        (:meth:`_simple`); the others go through the run rule (:meth:`_complex`). A success from
        the address ends its run: it knows a password, so its failures are typos or expired
        credentials, not a schedule (an address with only successes and nothing tracked is
        skipped: most logins are those)."""
        table = self.sightings
        h, order, starts, sizes = rows.hashes, rows.order, rows.starts, rows.sizes
        grouped_fail = rows.fail[order]
        fails = np.add.reduceat(grouped_fail, starts)
        hashes = h[order[starts]]
        slot, fp = table.slots(hashes)
        sighted = table.fp[slot] == fp
        run_hashes = self.runs.hashes()
        in_run = among(hashes, run_hashes) if run_hashes.size else np.zeros(hashes.size, dtype=bool)
        tracked = (fails > 0) | sighted | in_run
        alone = tracked & (sizes == 1) & ~in_run
        simple = alone & (fails == 1)
        if simple.any():
            self._simple(rows, np.sort(order[starts[simple]]), h)  # in stream order
            self.runs.cap(self.max_runs)
        lone_successes = alone & (fails == 0)
        if lone_successes.any():
            table.fp[slot[lone_successes]] = 0
        busy = tracked & ~alone
        if not busy.any():
            return []
        # read the table again: :meth:`_simple` may have taken or given a slot
        carrying = in_run | (table.fp[slot] == fp)
        batch, group = self._busy_rows(rows, busy, grouped_fail, carrying)
        return self._complex(rows, batch, group, hashes[busy])

    def _simple(self, rows: BatchRows, at: I64, h: U64) -> None:
        """Addresses with one failure in the batch and no run (rows ``at``, in stream order): table
        lookups and writes. A failure paced after the table's one starts a run of the two."""
        table = self.sightings
        slot, fp = table.slots(h[at])
        match = table.fp[slot] == fp
        gap = rows.ts[at] - table.ts[slot]
        paced = match & (gap >= self.min_gap) & (gap <= self.max_gap)
        if paced.any():
            new = at[paced]
            pair = np.r_[np.arange(new.size), np.arange(new.size)]  # run k: rows k and new.size + k
            ranked = np.argsort(pair, kind="stable")
            failures = pl.concat([table.rows(slot[paced]), rows.failures(new)])[ranked]
            ips = rows.ips(new)[pair[ranked]]
            self.runs.add(failures, np.tile(h[new], 2)[ranked], ips, np.zeros(ranked.size, dtype=bool), pair[ranked])
        write = ~paced
        rows.write(slot[write], fp[write], at[write])
        table.fp[slot[paced]] = 0  # those addresses now have a run

    @staticmethod
    def _busy_rows(rows: BatchRows, busy: Mask, grouped_fail: Mask, carrying: Mask) -> tuple[I64, I64]:
        """The rows the rule needs of the addresses ``busy`` (a mask over the batch's addresses),
        grouped and in stream order, and each one's group (its rank among ``busy``).

        Why not all their rows: a success only ends its address's run, so of several successes in
        a row only the first counts, and a success before an address's first failure counts only
        when the address carries a run or a single failure from earlier batches (``carrying``;
        kept when unsure, as an extra success changes nothing). Most logins are successes: this
        halves the rows the rule reads."""
        n = rows.height
        group_start = np.zeros(n, dtype=bool)
        group_start[rows.starts] = True
        wanted = grouped_fail.copy()
        wanted[1:] |= grouped_fail[:-1] & ~group_start[1:]  # a success right after a failure of its address
        wanted[rows.starts[carrying]] = True
        wanted &= np.repeat(busy, rows.sizes)
        at = np.flatnonzero(wanted)
        group = (np.cumsum(busy) - 1)[np.cumsum(group_start)[at] - 1]
        return rows.order[at], group.astype(np.int64)

    def _complex(self, rows: BatchRows, batch: I64, group: I64, hashes: U64) -> list[Finding]:
        """Addresses with several rows in the batch or a run, with address hashes ``hashes``: their
        rows ``batch`` (grouped, stream order within a group, each row's ``group``) through the run
        rule at once.

        Each address's carried state (its open run's failures, or the table's single failure) is
        put before its rows of this batch (:meth:`_carried`), and :func:`.slow_runs.pace` finds
        every run in arrays. Python builds only the findings; the runs still open go back to
        :class:`.OpenRuns` as rows, the addresses that end on one failure outside a run go to the
        table."""
        count = hashes.size
        n = batch.size
        sizes = np.bincount(group, minlength=count)
        firsts = np.cumsum(sizes) - sizes
        ips = rows.ips(batch[firsts])
        carried, pre_g, pre_k, reported = self._carried(hashes, ips)
        slot, fp = self.sightings.slots(hashes)
        # positions in the combined order: each group's carried rows, then its rows of the batch
        n_pre = np.bincount(pre_g, minlength=count)
        shift = np.cumsum(n_pre)
        begin = firsts + shift - n_pre  # each group's first position
        at_batch = np.arange(n) + shift[group]
        at_pre = begin[pre_g] + pre_k
        size = n + carried.height
        ts = np.empty(size, dtype=np.int64)
        ts[at_batch], ts[at_pre] = rows.ts[batch], carried.ts()
        account = np.empty(size, dtype=np.int64)
        account[at_batch], account[at_pre] = rows.account[batch], carried.account()
        fail = np.ones(size, dtype=bool)
        fail[at_batch] = rows.fail[batch]
        source = np.empty(size, dtype=np.int64)  # each position's row: of the batch, or height + carried row
        source[at_batch], source[at_pre] = batch, rows.height + np.arange(carried.height)
        first = np.zeros(size, dtype=bool)
        first[begin] = True
        was_reported = np.zeros(size, dtype=bool)
        was_reported[begin[reported]] = True
        paced = pace(self.rule, ts, fail, account, first, was_reported)

        qualified = paced.first_qualifying()
        findings = self._findings(rows, carried, source, paced.anchor[qualified], qualified, begin, ips)

        ends = np.r_[begin[1:] - 1, size - 1]
        ends_failing = fail[ends]
        links = paced.links[ends]
        singles = np.flatnonzero(ends_failing & (links == 0))
        if singles.size:
            last = source[ends[singles]]  # always a row of this batch
            if np.unique(slot[singles]).size < singles.size:
                # later rows win a shared slot: written in the row-by-row rule's order (by address)
                by_address = ips[singles].arg_sort().to_numpy()  # addresses are distinct
                singles, last = singles[by_address], last[by_address]
            rows.write(slot[singles], fp[singles], last)
        still_open = np.flatnonzero(ends_failing & (links >= 1))
        if still_open.size:
            self._keep(rows, carried, source, paced, qualified, ends, begin, reported, still_open, hashes, ips)
        return findings

    def _carried(self, hashes: U64, ips: pl.Series) -> tuple[Carried, I64, I64, Mask]:
        """The failures carried from earlier batches for the addresses ``hashes`` and ``ips``: open
        runs' failures, then the table's single failures (each one's group ``pre_g`` and place
        ``pre_k`` in it), and which groups carry a reported run. Carried runs are taken out of
        :attr:`runs` and table entries cleared: the rule decides what goes back."""
        count = hashes.size
        taken, carried_g = self.runs.take(hashes, ips)
        table = self.sightings
        slot, fp = table.slots(hashes)
        has_run = np.zeros(count, dtype=bool)
        has_run[carried_g] = True
        reported = np.zeros(count, dtype=bool)
        reported[carried_g[taken["alerted"].to_numpy()]] = True
        sighted = np.flatnonzero(~has_run & (table.fp[slot] == fp))
        carried = Carried(columns(taken, FAILURE_SCHEMA), table.take(slot[sighted]))
        table.fp[slot[sighted]] = 0  # those addresses' single failure is now part of a run or gone
        # each carried row's place in its run (a run's rows are together, in stream order)
        run_starts = np.flatnonzero(np.r_[True, carried_g[1:] != carried_g[:-1]])
        place = np.arange(carried_g.size) - np.repeat(run_starts, np.diff(np.r_[run_starts, carried_g.size]))
        pre_g = np.r_[carried_g, sighted].astype(np.int64)
        pre_k = np.r_[place, np.zeros(sighted.size, dtype=np.int64)].astype(np.int64)
        return carried, pre_g, pre_k, reported

    def _keep(
        self,
        rows: BatchRows,
        carried: Carried,
        source: I64,
        paced: Paced,
        qualified: I64,
        ends: I64,
        begin: I64,
        reported: Mask,
        groups: I64,
        hashes: U64,
        ips: pl.Series,
    ) -> None:
        """Keep the runs of ``groups`` still open at the batch's end, in address order: every
        failure of a run not reported yet, the last two of one reported (now or before)."""
        names: list[str] = ips[groups].to_list()  # distinct; Python's order is Polars' (code points)
        groups = groups[sorted(range(groups.size), key=names.__getitem__)]
        last = ends[groups]
        anchor = paced.anchor[last]
        now_reported = np.zeros(source.size, dtype=bool)
        now_reported[paced.anchor[qualified]] = True
        alerted = now_reported[anchor] | (reported[groups] & (anchor == begin[groups]))
        start = np.where(alerted, last - 1, anchor)
        at = spans(start, last)
        run_of = np.repeat(np.arange(groups.size, dtype=np.int64), last - start + 1)
        self.runs.add(
            rows.gather(source[at], carried),
            hashes[groups][run_of],
            ips[groups[run_of]],
            alerted[run_of],
            run_of,
        )
        self.runs.cap(self.max_runs)

    def _expire(self) -> None:
        """Drop runs, oldest first, that their file's newest failure has left behind for good."""
        self.runs.expire(self.max_gap + self.lateness, self.max_seen)

    def _findings(
        self, rows: BatchRows, carried: Carried, source: I64, anchors: I64, qualified: I64, begin: I64, ips: pl.Series
    ) -> list[Finding]:
        """One finding per run that qualified (its failures up to the qualifying one), in address
        order, then stream order. Only these runs' failures are read into Python."""
        if qualified.size == 0:
            return []
        addresses: list[str] = ips[np.searchsorted(begin, qualified, side="right") - 1].to_list()
        cited = rows.gather(source[spans(anchors, qualified)], carried)
        ts: list[int] = cited["ts"].to_list()
        accounts: list[int] = cited["account"].to_list()
        users: list[str | None] = cited["user"].to_list()
        refs = event_refs(cited)
        found: list[tuple[str, int, Finding]] = []
        k = 0
        for ip, a, q in zip(addresses, anchors.tolist(), qualified.tolist(), strict=True):
            end = k + q - a + 1
            run = RunSummary.of(ip, ts[k:end], accounts[k:end], users[k:end], refs[k:end])
            found.append((ip, q, self._finding(run)))
            k = end
        found.sort(key=lambda item: (item[0], item[1]))
        return [finding for _, _, finding in found]

    # -- reporting ----------------------------------------------------------------------------
    def _finding(self, run: RunSummary) -> Finding:
        attempts = run.attempts
        accounts = run.accounts
        many = "" if accounts < SAMPLE_CAP else "at least "
        mean_gap = (run.last_ts - run.first_ts) / run.links
        span = run.last_ts - run.first_ts
        subject = Subject("source.ip", run.ip)
        names = sorted(run.names)
        every = _minutes(mean_gap)
        first_seen, last_seen = at(run.first_ts), at(run.last_ts)
        first_iso = first_seen.isoformat()
        details: dict[str, Any] = {
            "key_kind": subject.kind,
            "key": run.ip,
            "failures": attempts,
            "distinct_accounts": accounts,
            "sample_accounts": names,
            "mean_gap_seconds": round(mean_gap / US, 1),
            "min_gap_seconds": round(run.gap_min / US, 1),
            "max_gap_seconds": round(run.gap_max / US, 1),
            "first_seen": first_iso,
            "last_failure": last_seen.isoformat(),
            "span_seconds": round(span / US, 1),
            "min_attempts": self.min_attempts,
            "max_gap_ratio": self.max_gap_ratio,
        }
        title = (
            f"Paced brute force: {attempts} failed logins from {run.ip} against {many}{accounts} "
            f"account{'s' if accounts != 1 else ''}, one every {every}"
        )
        listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        explanation = (
            f"{attempts} failed logins from {subject} between {details['first_seen']} and {details['last_failure']}, "
            f"{_minutes(run.gap_min)} to {_minutes(run.gap_max)} apart (mean {every}; each gap within "
            f"{self.max_gap_ratio:g}x the previous one). That regularity is a timer: a tool guessing slowly to stay "
            f"under rate limits and lockouts, which a burst rule does not see. {many.capitalize()}{accounts} distinct "
            f"account(s)"
            + (f", e.g. {listed}." if listed else ".")
            + " Attempted only so far: block or rate-limit the "
            "address over hours, not minutes, and check the named accounts for weak or default passwords."
        )
        confidence = min(0.95, 0.6 + 0.05 * (attempts - self.min_attempts) + (0.1 if accounts >= 2 else 0.0))
        return Finding(
            detector=self.info.name,
            key=f"{subject.kind}:{run.ip}:{first_iso}",
            crime_code=self.info.crime_code,
            stage=Stage.ATTEMPTED,
            severity=Severity.MEDIUM,
            confidence=round(confidence, 4),
            title=title,
            explanation=explanation,
            subject=subject,
            first_seen=first_seen,
            last_seen=last_seen,
            evidence=run.evidence,
            details=details,
            tags=("brute-force", "slow", "key:ip"),
        )
