"""``accounts.failed_login_burst``: password guessing seen as a burst of failed logins.

Guessing passwords is the commonest attempt at illegal access (Budapest Convention Article 2):
credential stuffing against the web login, dictionary attacks against ``sshd``. One failed login
means nothing; many failures close together in time, from one address or against one account,
mean someone is trying to get in who does not know the password. A success right after such a
burst may mean they did get in, which is what an analyst most needs to know first.

The time logic (watermark, lateness, burst segmentation, checkpoint state) lives in
:mod:`watchhouse.detectors.accounts.burst_tracker`; this module filters the events and writes findings.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.gc_pause import paused_gc
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND
from watchhouse.detectors.accounts.burst_tracker import BurstTracker, ClosedBursts
from watchhouse.detectors.accounts.direct_columns import filtered
from watchhouse.detectors.accounts.reporting import US, at, event_refs

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


def _event_refs(refs: pl.DataFrame) -> npt.NDArray[np.object_]:
    """One :class:`EventRef` per row of ``refs`` (``seq``, ``path``, ``line``, ``offset``).

    Why not one per row: most failures are evidence twice (address burst and account burst),
    and creating a million reference objects was the costliest step of a dictionary attack's
    report. Rows of one event (same ``seq``) share one immutable reference object instead, and
    references into one file share its path string (:func:`.reporting.event_refs`). The first
    row of each event is found by scattering row numbers into a table indexed by ``seq`` (the
    cited events lie within a few batches of each other), not by sorting.
    """
    n = refs.height
    if n == 0:
        return np.empty(0, dtype=object)
    seq = refs["seq"].to_numpy()
    lo = int(seq.min())
    span = int(seq.max()) - lo + 1
    rows = np.arange(n, dtype=np.int64)
    if span <= 4 * n + (1 << 16):
        table = np.empty(span, dtype=np.int64)
        table[seq[::-1] - lo] = rows[::-1]  # the last write wins: each event's first row
        owner = table[seq - lo]
    else:  # events spread too thin for a table (never from one scan's batches): sort instead
        _, first, inverse = np.unique(seq, return_index=True, return_inverse=True)
        owner = first[inverse.reshape(-1)]
    is_first = owner == rows
    # the three columns filtered one by one: a frame's ``filter`` is a query of its own
    keep = pl.Series(is_first)
    # ``fromiter``: assigning a list of references (tuples) into an object array made numpy
    # inspect each one as a nested sequence first, a tenth of the whole report's time
    made = np.fromiter(
        event_refs(pl.DataFrame([refs.get_column(name).filter(keep) for name in ("path", "line", "offset")])),
        dtype=object,
        count=int(is_first.sum()),
    )
    slot = np.cumsum(is_first) - 1  # each first row's place in ``made``
    shared: npt.NDArray[np.object_] = made[slot[owner]]
    return shared


def _interleaved(
    fails: pl.DataFrame, shown: pl.DataFrame, burst_seg: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Where the rows of ``fails`` and of ``shown`` go when both, each sorted by (``seg``, ``ts``,
    ``seq``), are merged in that order; None when the times span too much to lay all bursts end
    to end on one integer axis (then the caller sorts).

    Why not concatenate and sort: a dictionary attack's bursts cite a million failures and a few
    hundred successes; finding the successes' places costs two binary searches each."""
    burst_f = np.searchsorted(burst_seg, fails["seg"].to_numpy())
    burst_s = np.searchsorted(burst_seg, shown["seg"].to_numpy())
    ts_f, ts_s = fails["ts"].to_numpy(), shown["ts"].to_numpy()
    low = min(int(ts_f.min()), int(ts_s.min()))
    span = max(int(ts_f.max()), int(ts_s.max())) - low + 1
    if span * (len(burst_seg) + 1) >= 1 << 62:
        return None
    axis_f = burst_f * span + (ts_f - low)
    axis_s = burst_s * span + (ts_s - low)
    place = np.searchsorted(axis_f, axis_s, side="left")
    ties = np.flatnonzero(np.searchsorted(axis_f, axis_s, side="right") > place)
    if ties.size:  # same burst and time: stream order decides
        seq_f, seq_s = fails["seq"].to_numpy(), shown["seq"].to_numpy()
        for j in ties.tolist():
            lo, hi = int(place[j]), int(np.searchsorted(axis_f, axis_s[j], side="right"))
            place[j] = lo + int(np.searchsorted(seq_f[lo:hi], seq_s[j]))
    at_s = place + np.arange(len(place))
    at_f = np.arange(len(axis_f)) + np.searchsorted(place, np.arange(len(axis_f)), side="right")
    return at_f, at_s


def _pairs(rows: pl.DataFrame) -> pl.DataFrame:
    """``seg`` and, as ``other``, the value a burst counts distinct of, per tracked row: the
    account for an address key, the source for an account key.

    Why series and not a ``when``/``then`` in a ``select``: a query costs a fixed fraction of a
    millisecond, paid on every batch; choosing between two columns by a mask does not."""
    other = rows.get_column("user").zip_with(rows.get_column("kind") == IP_KIND, rows.get_column("ip"))
    return pl.DataFrame([rows.get_column("seg"), other.alias("other")])


#: how many distinct values a burst holds, and the first :data:`SAMPLE_CAP` of them in sorted order
_Sample = tuple[int, list[str]]


class _Shape(NamedTuple):
    """One burst's key and failure aggregates (``first``: ts, path, line, offset, user of its first failure)."""

    kind: str
    key: str
    n: int
    first: tuple[int, str, int | None, int | None, str | None]
    last: int
    peak: int
    iso: tuple[str, str, str, str]  # first, last, peak start and peak end as ``datetime.isoformat`` writes them


class _Won(NamedTuple):
    """One burst's successes: how many, how many from the guessing pair, who, the last one cited."""

    successes: int
    decisive: int
    accounts: list[str]
    sources: list[str]
    shown_last: int


def iso_times(values: pl.Series | list[int]) -> list[str]:
    """``at(us).isoformat()`` of each time (microseconds since the epoch, UTC), written by Polars
    all at once. Why: five times per finding, formatted one by one through aware datetimes, were
    a third of wording a dictionary attack's eleven thousand findings. As ``isoformat`` does, the
    fraction of a second is written only when there is one."""
    us = pl.Series("us", values, dtype=pl.Int64)
    when = us.cast(pl.Datetime("us"))
    text = pl.select(
        pl.when(us % US == 0)
        .then(when.dt.to_string("%Y-%m-%dT%H:%M:%S"))
        .otherwise(when.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f"))
        + "+00:00"
    ).to_series()
    return text.to_list()


def _samples(pairs: pl.DataFrame, burst_seg: npt.NDArray[np.int64], cap: int) -> list[_Sample]:
    """Per burst (``burst_seg``, ascending), the count and head of its values in ``pairs``.

    ``pairs`` holds distinct (``seg``, ``other``) rows sorted by both; only the head of each
    burst (at most ``cap`` values) is turned into Python strings."""
    seg = pairs["seg"].to_numpy()
    lo = np.searchsorted(seg, burst_seg, side="left")
    counts = np.searchsorted(seg, burst_seg, side="right") - lo
    heads = np.minimum(counts, cap)
    rank = np.arange(seg.size) - np.repeat(lo, counts)
    values = pairs["other"].filter(pl.Series(rank < cap)).to_list()
    out: list[_Sample] = []
    begin = 0
    for count, head in zip(counts.tolist(), heads.tolist(), strict=True):
        out.append((count, values[begin : begin + head]))
        begin += head
    return out


def _distinct_runs(values: list[str | None], bounds: list[int]) -> list[list[str]]:
    """Per run ``values[bounds[i]:bounds[i + 1]]``, its distinct values but None, sorted.

    Why Python and not a Polars ``unique`` and ``sort``: the successes of a batch's bursts are a
    few dozen rows, and four Polars calls on them cost more than the sets. Python orders strings
    by code point, as Polars does by their UTF-8 bytes."""
    return [sorted({v for v in values[a:b] if v is not None}) for a, b in pairwise(bounds)]


def _named(names: pl.Series, name: str) -> npt.NDArray[np.bool_]:
    """Per row, whether it is ``name`` (a missing name is not); ``fill_null`` is a query, so
    only where names are missing."""
    hits = names == name
    found: npt.NDArray[np.bool_] = (hits.fill_null(False) if hits.null_count() else hits).to_numpy()
    return found


def _services(names: pl.Series, starts: npt.NDArray[np.int64]) -> list[list[str]]:
    """Per burst (its failures are the rows from one of ``starts`` to the next), the services
    its failures came from, sorted.

    Why not (burst, service) pairs made unique and sorted: a scan knows a handful of services, so
    one pass per service over the failures, and a per-burst ``any``, cost a fraction of that."""
    per_name = [
        (name, np.logical_or.reduceat(_named(names, name), starts).tolist())
        for name in names.drop_nulls().unique().sort().to_list()
    ]
    return [[name for name, hit in per_name if hit[i]] for i in range(len(starts))]


class _Successes:
    """The successes of closed bursts, aggregated per burst, and those cited as evidence.

    A success for the pair that was guessing (the account an address failed for, the address
    an account failed from) is *decisive*; when a burst has any, only those are cited,
    otherwise its first success; at most :data:`SUCCESS_EVIDENCE_CAP` either way."""

    def __init__(self, shown: pl.DataFrame, won: dict[int, _Won], burst_seg: npt.NDArray[np.int64]) -> None:
        self.shown = shown
        self._by_index = {int(i): won[int(seg)] for i, seg in enumerate(burst_seg.tolist()) if int(seg) in won}

    def row(self, index: int) -> _Won | None:
        return self._by_index.get(index)

    @staticmethod
    def of(successes: pl.DataFrame, pairs: pl.DataFrame, burst_seg: npt.NDArray[np.int64]) -> _Successes:
        """Aggregate ``successes`` (sorted by ``seg``, ``ts``, ``seq``) against the bursts' distinct
        (``seg``, ``other``) failure ``pairs``.

        Why numpy runs and not Polars windows: the successes arrive sorted by burst, so each burst's
        are a run of rows; per-burst windows and group-bys in Polars cost a fixed fraction of a
        millisecond each, paid on every batch, more than the few thousand rows themselves."""
        if successes.height == 0:
            return _Successes(successes, {}, burst_seg)
        # the rows that have their pair, by a semi join of row numbers: a left join needed a
        # flag column added to all the (many) pairs first, a query of its own on every batch
        hits = (
            _pairs(successes)
            .with_row_index("row")
            .join(pairs, on=["seg", "other"], how="semi")
            .get_column("row")
            .to_numpy()
        )
        decisive = np.zeros(successes.height, dtype=np.bool_)
        decisive[hits] = True
        seg = successes.get_column("seg").to_numpy()
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        run = np.cumsum(np.r_[True, seg[1:] != seg[:-1]]) - 1  # each row's burst, counted from 0
        any_decisive = np.logical_or.reduceat(decisive, starts)
        is_first = np.zeros(seg.size, dtype=np.bool_)
        is_first[starts] = True
        shown = np.where(any_decisive[run], decisive, is_first)
        before = np.cumsum(shown) - shown  # shown rows before each row
        shown &= before - before[starts][run] < SUCCESS_EVIDENCE_CAP
        last = np.maximum.reduceat(
            np.where(shown, successes.get_column("ts").to_numpy(), np.iinfo(np.int64).min), starts
        )
        n_decisive = np.add.reduceat(decisive.astype(np.int64), starts)
        segs = seg[starts]
        bounds = np.r_[starts, seg.size].tolist()
        accounts, sources = (_distinct_runs(successes.get_column(name).to_list(), bounds) for name in ("user", "ip"))
        won = {
            seg_: _Won(n, decisive_, account, source, last_)
            for seg_, n, decisive_, account, source, last_ in zip(
                segs.tolist(),
                np.diff(np.r_[starts, seg.size]).tolist(),
                n_decisive.tolist(),
                accounts,
                sources,
                last.tolist(),
                strict=True,
            )
        }
        return _Successes(filtered(successes, pl.Series(shown)), won, burst_seg)


#: the batch's fields the tracker reads besides the timestamp, and its names for them
_INPUT_NAMES = (
    ("event.outcome", "outcome"),
    ("source.ip", "ip"),
    ("user.name", "user"),
    ("service.name", "service"),
    (PATH_FIELD, "path"),
    (LINE_FIELD, "line"),
    (OFFSET_FIELD, "offset"),
)


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
    keeps memory flat under a flood of millions of keys, see :mod:`.burst_tracker`).

    An address whose burst never named an account (sshd connections closed before
    authentication, which the reader keeps as failures) is a port check or a scanner, not a
    guesser: it is reported, as a *connection flood* rated MEDIUM, only at ``large_burst_factor``
    times the address threshold within a window (see :meth:`_reported`).

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
        # renamed series, not a ``select``: a query of its own on every batch, for no work
        events = batch.to_polars()
        frame = pl.DataFrame(
            [
                events.get_column(TIMESTAMP_FIELD).cast(pl.Int64).alias("ts"),
                *(events.get_column(field).alias(name) for field, name in _INPUT_NAMES),
            ]
        )
        closed = self._tracker.update(frame)
        # an sshd dictionary attack words thousands of findings citing half a million references at once
        with paused_gc():
            return self._findings(closed)

    def finalize(self) -> list[Finding]:
        closed = self._tracker.flush()
        with paused_gc():  # see detect
            return self._findings(closed)

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

        Why not a frame per burst, or Polars list aggregations: a dictionary attack on a host
        closes thousands of bursts per batch citing a million rows, and both cost more than
        reading the log. Failures arrive sorted by burst (``seg``), so each burst is a run of
        rows found with numpy; distinct accounts or sources are one ``unique`` over (burst,
        value) pairs, of which only the counts and the first :data:`SAMPLE_CAP` go to Python.
        """
        if len(closed) == 0:
            return []
        bursts = closed.bursts
        fails = closed.failures
        fail_seg = fails["seg"].to_numpy()
        burst_seg = bursts["seg"].to_numpy()
        starts = np.searchsorted(fail_seg, burst_seg, side="left")
        ends = np.searchsorted(fail_seg, burst_seg, side="right")
        # frames of series, not ``select`` queries (paid on every batch)
        firsts = pl.DataFrame([fails.get_column(name) for name in ("ts", "path", "line", "offset", "user")])[starts]
        last_ts = fails["ts"].to_numpy()[ends - 1].tolist()
        pairs = _pairs(fails).drop_nulls().unique()
        others = _samples(pairs.sort("seg", "other"), burst_seg, SAMPLE_CAP)
        services = _services(fails.get_column("service"), starts)
        wins = _Successes.of(closed.successes, pairs, burst_seg)
        merged = _interleaved(fails, wins.shown, burst_seg) if wins.shown.height else None
        if merged is not None:
            at_f, at_s = merged
            all_refs = np.empty(len(at_f) + len(at_s), dtype=object)
            all_refs[at_f] = _event_refs(fails)
            all_refs[at_s] = _event_refs(wins.shown)
            shown_seg = wins.shown["seg"].to_numpy()
            ref_ends = (ends + np.searchsorted(shown_seg, burst_seg, side="right")).tolist()
        elif wins.shown.height:  # times too far apart for one axis: sort
            cols = ["seg", "ts", "seq", "path", "line", "offset"]
            refs = pl.concat([fails.select(cols), wins.shown.select(cols)]).sort("seg", "ts", "seq")
            ref_ends = np.searchsorted(refs["seg"].to_numpy(), burst_seg, side="right").tolist()
            all_refs = _event_refs(refs)
        else:
            all_refs, ref_ends = _event_refs(fails), ends.tolist()
        cited: list[EventRef] = all_refs.tolist()
        findings: list[Finding] = []
        begin = 0
        # first, last, peak start and peak end of every burst, in one call
        stamps = pl.concat([firsts["ts"], pl.Series(last_ts, dtype=pl.Int64), bursts["peak_start"], bursts["peak_end"]])
        heads = list(zip(*(bursts.get_column(name).to_list() for name in ("kind", "key", "peak")), strict=True))
        rows = zip(
            heads,
            firsts.iter_rows(),
            (ends - starts).tolist(),
            last_ts,
            zip(*np.reshape(iso_times(stamps), (4, -1)).tolist(), strict=True),
            strict=True,
        )
        kept: list[int] = []
        for i, ((kind, key, peak), first, n, last, iso) in enumerate(rows):
            end = ref_ends[i]
            if self._reported(kind, others[i][0], peak):
                shape = _Shape(kind, key, n, first, last, peak, iso)
                findings.append(self._finding(shape, others[i], services[i], wins.row(i), tuple(cited[begin:end])))
                kept.append(i)
            begin = end
        # segments are numbered in key-hash order; findings are reported in key order (bursts are
        # in ``seg`` order, and the sort is stable). Python compares strings by code point, as
        # Polars does by UTF-8 bytes; sorting a few thousand tuples here costs less than the call.
        report = sorted(range(len(kept)), key=lambda j: (heads[kept[j]][0], heads[kept[j]][1]))
        return [findings[j] for j in report]

    def _reported(self, kind: str, accounts: int, peak: int) -> bool:
        """Whether a closed burst is worth an alert.

        An address whose failures never named an account only opened connections that ended
        before authentication: a monitoring system's port check, a load balancer's health probe
        or a banner scanner looks exactly like that, every few minutes, all day. That is not
        password guessing, so it is reported only as a flood (at least ``large_burst_factor``
        times the threshold within one window), which is what exploit attempts against the SSH
        service itself produce (CVE-2024-6387 style races open hundreds of connections that never
        log in)."""
        if kind != IP_KIND or accounts:
            return True
        return peak >= self.large_burst_factor * self._thresholds[IP_KIND]

    def _finding(
        self,
        shape: _Shape,
        others: _Sample,
        services: list[str],
        wins: _Won | None,
        evidence: tuple[EventRef, ...],
    ) -> Finding:
        """One burst's finding from its aggregates (see :meth:`_findings`)."""
        kind = shape.kind
        by_ip = kind == IP_KIND
        threshold = self._thresholds[kind]
        n = shape.n
        first_ts, first_path, first_line, first_offset, first_user = shape.first
        last_ts = shape.last
        subject = Subject("source.ip", shape.key) if by_ip else Subject("user.name", str(first_user))
        n_others, other_sample = others
        flood = by_ip and n_others == 0  # no account named: see _reported
        n_succ = wins.successes if wins else 0
        n_decisive = wins.decisive if wins else 0
        completed = n_succ > 0
        if completed:
            stage = Stage.COMPLETED
            severity = Severity.CRITICAL if n_decisive else Severity.HIGH
        else:
            stage = Stage.ATTEMPTED
            large = n >= self.large_burst_factor * threshold and not flood
            severity = Severity.HIGH if large else Severity.MEDIUM
        last_seen = max(last_ts, wins.shown_last) if wins else last_ts
        ratio = n / (n + n_succ)
        confidence = min(0.99, 0.6 + 0.39 * math.log10(max(shape.peak / threshold, 1.0)))
        anchor = first_line if first_line is not None else f"@{first_offset}"
        first_iso, last_iso, peak_start_iso, peak_end_iso = shape.iso
        key = f"{subject.kind}:{subject.value}:{first_iso}:{first_path}:{anchor}"
        span = _duration(last_ts - first_ts)
        other_word = "account" if by_ip else "source"
        if flood:
            title = f"Connection flood: {n} connections from {shape.key} ended before any login was tried, in {span}"
        elif by_ip:
            title = f"Brute force: {n} failed logins from {shape.key} against {_plural(n_others, 'account')} in {span}"
        else:
            title = (
                f"Brute force: {n} failed logins for account {_short(subject.value)} "
                f"from {_plural(n_others, 'source')} in {span}"
            )
        if completed:
            title += " - then a successful login"
        success_accounts = wins.accounts if wins else []
        success_sources = wins.sources if wins else []
        details: dict[str, Any] = {
            "key_kind": subject.kind,
            "key": subject.value,
            "failures": n,
            "threshold": threshold,
            "window_seconds": self.window_seconds,
            "peak_in_window": shape.peak,
            "peak_window_start": peak_start_iso,
            "peak_window_end": peak_end_iso,
            "first_seen": first_iso,
            "last_failure": last_iso,
            f"distinct_{other_word}s": n_others,
            f"sample_{other_word}s": other_sample,
            "services": services,
            "successes": n_succ,
            "failure_ratio": round(ratio, 4),
            "completed": completed,
            "success_matches_burst": n_decisive > 0,
            "success_accounts": success_accounts[:SAMPLE_CAP],
            "success_sources": success_sources[:SAMPLE_CAP],
        }
        explanation = self._explain(subject, details, others, services)
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
            tags=("connection-flood" if flood else "brute-force", f"key:{kind}", *(f"service:{s}" for s in services)),
        )

    def _explain(self, subject: Subject, d: dict[str, Any], others: _Sample, services: list[str]) -> str:
        by_ip = subject.kind == "source.ip"
        other_word = "account" if by_ip else "source address"
        n_others, head = others  # head: the first of them in sorted order
        sample = ", ".join(head[:5]) + (", ..." if n_others > 5 else "")
        lines = [
            f"{d['failures']} failed logins {'from' if by_ip else 'for'} {subject} between {d['first_seen']} and "
            f"{d['last_failure']} (each within {d['window_seconds']:g}s of the previous one).",
            f"Peak: {d['peak_in_window']} failures within {d['window_seconds']:g}s "
            f"({d['peak_window_start']} to {d['peak_window_end']}); the threshold is {d['threshold']}.",
            f"{_plural(n_others, 'distinct ' + other_word)} involved" + (f": {sample}." if n_others else "."),
        ]
        if by_ip and not n_others:
            lines[-1] = (
                "No account was named: every connection closed before authentication. Not password guessing, "
                "but a volume that scanners and exploit attempts against the service itself produce."
            )
        lines.append(f"Services: {', '.join(services) if services else 'unknown'}.")
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
        elif by_ip and not n_others:
            lines.append(
                "No successful login followed. Consider rate-limiting the source and checking that the service "
                "is patched (pre-authentication flaws need no password)."
            )
        else:
            lines.append(
                "No successful login followed: attempted only. Consider rate-limiting or blocking the source "
                "and checking the targeted accounts for weak passwords."
            )
        return " ".join(lines)
