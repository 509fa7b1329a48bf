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
(:class:`Sightings`, numpy arrays, newest wins a slot), and only addresses with at least two
paced failures get an exact record, capped at ``max_runs`` (oldest dropped first). Under a flood
the table is overwritten faster than a slow attacker returns, so a paced run is then found one
attempt later or not at all; the flood itself is the burst and stuffing detectors' business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.grouping import ordered_groups
from watchhouse.detectors.accounts.reporting import US, at
from watchhouse.detectors.accounts.sketches import _decode, _encode, hash_keys

#: accounts named in a finding; also the most distinct accounts a run counts exactly
SAMPLE_CAP = 20
#: failures a finding lists as evidence (the first ones of the run)
EVIDENCE_CAP = 50
STATE_VERSION = 1
_NONE = -1  # a missing line or offset in the numpy table


def _minutes(us: float) -> str:
    seconds = us / US
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@dataclass(slots=True)
class Run:
    """Paced failures of one address so far (exact; at least one paced gap, or a fresh start)."""

    ip: str
    first_ts: int
    last_ts: int
    last_ref: EventRef
    last_account: int  # hash of the last failure's account
    last_name: str | None
    links: int = 0  # paced gaps in the run: attempts - 1
    last_gap: int = 0
    gap_min: int = 0
    gap_max: int = 0
    accounts: set[int] = field(default_factory=set)  # account hashes, at most SAMPLE_CAP
    names: list[str] = field(default_factory=list)  # account names seen, at most SAMPLE_CAP
    evidence: list[EventRef] = field(default_factory=list)
    path: str = ""  # file of the last failure: its watermark decides expiry
    alerted: bool = False

    @staticmethod
    def start(ip: str, ts: int, ref: EventRef, account: int, name: str | None) -> Run:
        run = Run(ip, ts, ts, ref, account, name, path=ref.path)
        run.accounts.add(account)
        if name is not None:
            run.names.append(name)
        run.evidence.append(ref)
        return run

    @property
    def attempts(self) -> int:
        return self.links + 1

    def extend(self, ts: int, gap: int, ref: EventRef, account: int, name: str | None) -> None:
        self.gap_min = gap if self.links == 0 else min(self.gap_min, gap)
        self.gap_max = max(self.gap_max, gap)
        self.links += 1
        self.last_gap = gap
        self.last_ts, self.last_ref, self.last_account, self.last_name, self.path = ts, ref, account, name, ref.path
        if len(self.accounts) < SAMPLE_CAP:
            self.accounts.add(account)
        if name is not None and name not in self.names and len(self.names) < SAMPLE_CAP:
            self.names.append(name)
        if len(self.evidence) < EVIDENCE_CAP:
            self.evidence.append(ref)

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "last_ref": self.last_ref.to_dict(),
            "last_account": self.last_account,
            "last_name": self.last_name,
            "links": self.links,
            "last_gap": self.last_gap,
            "gap_min": self.gap_min,
            "gap_max": self.gap_max,
            "accounts": sorted(self.accounts),
            "names": self.names,
            "evidence": [r.to_dict() for r in self.evidence],
            "path": self.path,
            "alerted": self.alerted,
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Run:
        return Run(
            ip=d["ip"],
            first_ts=d["first_ts"],
            last_ts=d["last_ts"],
            last_ref=EventRef.from_dict(d["last_ref"]),
            last_account=d["last_account"],
            last_name=d["last_name"],
            links=d["links"],
            last_gap=d["last_gap"],
            gap_min=d["gap_min"],
            gap_max=d["gap_max"],
            accounts=set(d["accounts"]),
            names=list(d["names"]),
            evidence=[EventRef.from_dict(r) for r in d["evidence"]],
            path=d["path"],
            alerted=d["alerted"],
        )


class Sightings:
    """The last failure of addresses seen failing once, in a fixed hashed table (numpy arrays).

    Why a table and not a dict: under a flood of ten million addresses each failing once, a Python
    record per address costs gigabytes; here each slot costs 36 bytes whatever happens. A slot is
    chosen by the address hash and holds a 32-bit fingerprint of it (0 = empty); a newer failure of
    another address in the same slot replaces the older one, which only delays detection of that
    address by one attempt. The account is kept as a hash, so its name is not shown for this one
    failure (its line is in the evidence)."""

    _COLUMNS: ClassVar[dict[str, type[np.generic]]] = {
        "fp": np.uint32,
        "account": np.uint32,
        "path": np.int32,
        "ts": np.int64,
        "line": np.int64,
        "offset": np.int64,
    }

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.mask = np.uint64((1 << bits) - 1)
        size = 1 << bits
        self.fp = np.zeros(size, dtype=np.uint32)
        self.account = np.zeros(size, dtype=np.uint32)
        self.path = np.zeros(size, dtype=np.int32)
        self.ts = np.zeros(size, dtype=np.int64)
        self.line = np.zeros(size, dtype=np.int64)
        self.offset = np.zeros(size, dtype=np.int64)
        self.paths: list[str] = []
        self._path_index: dict[str, int] = {}

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self._COLUMNS)

    def slots(self, hashes: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
        """Slot and fingerprint (never 0) of each address hash."""
        return (hashes & self.mask).astype(np.int64), ((hashes >> np.uint64(32)) | np.uint64(1)).astype(np.uint32)

    def path_codes(self, paths: pl.Series) -> npt.NDArray[np.int32]:
        """Small integer codes of file paths (a batch has one or a few distinct paths)."""
        for path in paths.unique(maintain_order=True).to_list():
            if path not in self._path_index:
                self._path_index[path] = len(self.paths)
                self.paths.append(path)
        codes = paths.replace_strict(self._path_index, return_dtype=pl.Int32)
        return codes.to_numpy().astype(np.int32, copy=False)

    def write(self, slot: npt.NDArray[np.int64], values: dict[str, npt.NDArray[Any]]) -> None:
        """Store one failure per slot (later rows win, as if written one after another)."""
        for name in self._COLUMNS:
            getattr(self, name)[slot] = values[name]

    def ref(self, slot: int) -> EventRef:
        line, offset = int(self.line[slot]), int(self.offset[slot])
        return EventRef(
            self.paths[int(self.path[slot])], None if line == _NONE else line, None if offset == _NONE else offset
        )

    def clear(self) -> None:
        self.fp[:] = 0

    def to_json(self) -> dict[str, Any]:
        used = np.flatnonzero(self.fp)
        return {
            "bits": self.bits,
            "paths": self.paths,
            "used": _encode(used.astype(np.int64)),
            **{name: _encode(getattr(self, name)[used]) for name in self._COLUMNS},
        }

    def load_json(self, state: dict[str, Any]) -> None:
        if int(state["bits"]) != self.bits:
            raise ValueError(f"sightings table of {state['bits']} bits, this detector uses {self.bits}")
        self.clear()
        self.paths = [str(p) for p in state["paths"]]
        self._path_index = {p: i for i, p in enumerate(self.paths)}
        used = _decode(state["used"], np.int64, (-1,))
        for name, dtype in self._COLUMNS.items():
            getattr(self, name)[used] = _decode(state[name], dtype, (-1,))


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
    * ``max_runs=50000`` — exact runs kept at most (oldest dropped).

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
        self.lateness = round(allowed_lateness_seconds * US)
        self.sightings_bits = sightings_bits
        self.max_runs = max_runs
        self._reset()

    def _reset(self) -> None:
        self.sightings = Sightings(self.sightings_bits)
        self.runs: dict[str, Run] = {}  # by address, least recently extended first
        self.max_seen: dict[str, int] = {}  # per file: newest failure time

    # -- Detector protocol --------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        frame = (
            batch.to_polars()
            .select(
                ts=pl.col(TIMESTAMP_FIELD).cast(pl.Int64),
                outcome=pl.col("event.outcome"),
                ip=pl.col("source.ip"),
                user=pl.col("user.name"),
                path=pl.col(PATH_FIELD).fill_null(""),
                line=pl.col(LINE_FIELD),
                offset=pl.col(OFFSET_FIELD),
            )
            .filter(pl.col("outcome").is_in(["failure", "success"]) & pl.col("ip").is_not_null())
            .filter(pl.col("ts").is_not_null())
            .with_columns(fail=pl.col("outcome") == "failure")
            .drop("outcome")
        )
        if frame.height == 0:
            return []
        for path, newest in frame.group_by("path").agg(pl.col("ts").max()).iter_rows():
            self.max_seen[path] = max(self.max_seen.get(path, newest), newest)
        findings = self._advance(frame)
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
            "runs": [run.to_json() for run in self.runs.values()],
            "max_seen": self.max_seen,
        }

    def restore(self, state: JSONState) -> None:
        self._reset()
        if not state:
            return
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported slow brute force state version {state.get('version')!r}")
        self.sightings.load_json(state["sightings"])
        self.runs = {d["ip"]: Run.from_json(d) for d in state["runs"]}
        self.max_seen = {str(p): int(t) for p, t in state["max_seen"].items()}

    @property
    def open_keys(self) -> int:
        """Addresses followed exactly (runs); single failures live in the fixed table."""
        return len(self.runs)

    # -- the runs -----------------------------------------------------------------------------
    def _advance(self, frame: pl.DataFrame) -> list[Finding]:
        """Feed one batch, vectorised where an address has one failure and nothing else going on.

        Addresses with one failure and no run only touch the table (:meth:`_simple`); the others
        go through the run rule in arrays (:meth:`_complex`). A success from the address ends its run:
        it knows a password, so its failures are typos or expired credentials, not a schedule
        (successes of addresses with nothing tracked are dropped first: most logins are those)."""
        table = self.sightings
        frame = frame.with_row_index("seq")
        h = hash_keys(frame["ip"])
        fail = frame["fail"].to_numpy()
        if not fail.all():
            succ = ~fail
            slot, fp = table.slots(h[succ])
            # by hash: an address's failures and successes hash alike; a clash only keeps a row
            wanted = (table.fp[slot] == fp) | np.isin(h[succ], h[fail])
            if self.runs:
                wanted |= frame["ip"].filter(pl.Series(succ)).is_in(self._run_ips()).to_numpy()
            keep = fail.copy()
            keep[succ] = wanted
            frame, h = frame.filter(pl.Series(keep)), h[keep]
        if frame.height == 0:
            return []
        _, where, counts = np.unique(h, return_inverse=True, return_counts=True)
        frame = frame.with_columns(
            h=pl.Series(h),
            account=pl.Series((hash_keys(frame["user"]) >> np.uint64(32)).astype(np.uint32)),
            n=pl.Series(counts[where]),
            in_runs=frame["ip"].is_in(self._run_ips()) if self.runs else pl.lit(False),
        )
        alone = (pl.col("n") == 1) & ~pl.col("in_runs")
        findings: list[Finding] = []
        simple = frame.filter(alone & pl.col("fail"))
        if simple.height:
            findings.extend(self._simple(simple))
        lone_successes = frame.filter(alone & ~pl.col("fail"))
        if lone_successes.height:
            self.sightings.fp[self.sightings.slots(lone_successes["h"].to_numpy())[0]] = 0
        rest = frame.filter(~alone)
        if rest.height:
            findings.extend(self._complex(rest))
        return findings

    def _run_ips(self) -> pl.Series:
        return pl.Series(list(self.runs), dtype=pl.String).implode()

    def _simple(self, rows: pl.DataFrame) -> list[Finding]:
        """Addresses with one failure in the batch and no run: table lookups and writes, all numpy."""
        table = self.sightings
        slot, fp = table.slots(rows["h"].to_numpy())
        ts = rows["ts"].to_numpy()
        match = table.fp[slot] == fp
        gap = ts - table.ts[slot]
        paced = match & (gap >= self.min_gap) & (gap <= self.max_gap)
        findings: list[Finding] = []
        if paced.any():
            for i in np.flatnonzero(paced).tolist():
                findings.extend(self._promote(rows, i, int(slot[i])))
        write = ~paced
        table.write(slot[write], self._table_values(rows.filter(pl.Series(write)), fp[write]))
        table.fp[slot[paced]] = 0  # those addresses now have a run
        return findings

    def _promote(self, rows: pl.DataFrame, i: int, slot: int) -> Iterator[Finding]:
        """Start a run from the table's failure and extend it with row ``i``."""
        table = self.sightings
        ip, ts, user, account = rows["ip"][i], int(rows["ts"][i]), rows["user"][i], int(rows["account"][i])
        run = Run.start(ip, int(table.ts[slot]), table.ref(slot), int(table.account[slot]), None)
        run, found = self._step(run, ts, self._ref(rows, i), account, user)
        self._keep(run)
        if found is not None:
            yield found

    def _complex(self, rows: pl.DataFrame) -> list[Finding]:
        """Addresses with several rows in the batch or a run: the run rule over all rows at once.

        Why vectorised: a day of logins gives thousands of such addresses per batch (users
        retrying, offices behind one address) and a Python step per row was most of the detector's
        time. Each row's run follows from its gap and the previous gap alone (see :class:`_Chains`),
        so runs are found with array operations; Python only builds the runs that qualify or stay
        open at the end of the batch, replaying their rows through :meth:`_step`, so findings and
        the state carried to the next batch are exactly those of the row-by-row rule.
        """
        order, starts = _grouped(rows)
        table = self.sightings
        chains = _Chains(rows, order, starts)
        ips: list[str] = rows["ip"].gather(order[chains.firsts]).to_list()
        carried: list[Run | None] = [self.runs.pop(ip, None) for ip in ips]
        slot, fp = table.slots(chains.h[chains.firsts])
        has_run = np.fromiter((run is not None for run in carried), dtype=bool, count=len(carried))
        sighted = ~has_run & (table.fp[slot] == fp)
        chains.solve(self, carried, sighted, table.ts[slot], table.account[slot].astype(np.int64))
        cols = _ReplayRows(rows, order, chains.replay_rows())
        findings: list[tuple[str, int, Finding]] = []
        kept: list[Run] = []
        for group, start, end, still_open in chains.replays():
            run, row = self._initial(chains, group, start, carried[group], ips[group], cols, int(slot[group]))
            while row <= end:
                run, found = self._step(run, *cols.args(row))
                if found is not None:
                    findings.append((ips[group], row, found))
                row += 1
            if still_open:
                kept.append(run)
        table.fp[slot[sighted]] = 0  # those addresses' single failure is now part of a run or gone
        singles = chains.singles()
        if singles.size:
            # later rows win a shared slot: written in the row-by-row rule's order (by address)
            picked = rows[order[singles]].sort("ip", maintain_order=True)
            pslot, pfp = table.slots(picked["h"].to_numpy())
            table.write(pslot, self._table_values(picked, pfp))
        for run in sorted(kept, key=lambda r: r.ip):
            self._keep(run)
        findings.sort(key=lambda item: (item[0], item[1]))
        return [found for _, _, found in findings]

    def _initial(
        self, chains: _Chains, group: int, start: int, run: Run | None, ip: str, cols: _ReplayRows, slot: int
    ) -> tuple[Run, int]:
        """The run a replay starts from, and the first row to step it with."""
        if start >= 0:  # the run starts at a row of this batch
            return Run.start(ip, *cols.args(start)), start + 1
        first = int(chains.firsts[group])
        if run is not None and chains.continues[group]:
            return run, first  # the run carried from earlier batches goes on
        if run is not None:  # an irregular gap: a new run from the carried run's last failure
            return Run.start(run.ip, run.last_ts, run.last_ref, run.last_account, run.last_name), first
        table = self.sightings  # the address's single failure from the table
        return Run.start(ip, int(table.ts[slot]), table.ref(slot), int(table.account[slot]), None), first

    def _step(self, run: Run, ts: int, ref: EventRef, account: int, name: str | None) -> tuple[Run, Finding | None]:
        """Feed one failure after ``run``: the run it belongs to now, and a finding when that run
        first qualifies. A gap out of range starts a new run at this failure; an irregular gap
        starts one at the previous failure."""
        gap = ts - run.last_ts
        if not self.min_gap <= gap <= self.max_gap:
            return Run.start(run.ip, ts, ref, account, name), None
        if run.links and not (run.last_gap <= gap * self.max_gap_ratio and gap <= run.last_gap * self.max_gap_ratio):
            run = Run.start(run.ip, run.last_ts, run.last_ref, run.last_account, run.last_name)
        run.extend(ts, gap, ref, account, name)
        if run.alerted or run.attempts < self.min_attempts:
            return run, None
        if len(run.accounts) < 2 and run.attempts < self.single_account_attempts:
            return run, None
        run.alerted = True
        return run, self._finding(run)

    def _keep(self, run: Run) -> None:
        self.runs.pop(run.ip, None)
        self.runs[run.ip] = run
        while len(self.runs) > self.max_runs:
            del self.runs[next(iter(self.runs))]

    def _expire(self) -> None:
        """Drop runs, oldest first, that their file's newest failure has left behind for good."""
        horizon = self.max_gap + self.lateness
        while self.runs:
            run = next(iter(self.runs.values()))
            if run.last_ts + horizon >= self.max_seen.get(run.path, run.last_ts):
                break
            del self.runs[run.ip]

    @staticmethod
    def _ref(rows: pl.DataFrame, i: int) -> EventRef:
        return EventRef(rows["path"][i], rows["line"][i], rows["offset"][i])

    def _table_values(self, rows: pl.DataFrame, fp: npt.NDArray[np.uint32]) -> dict[str, npt.NDArray[Any]]:
        return {
            "fp": fp,
            "account": rows["account"].to_numpy(),
            "path": self.sightings.path_codes(rows["path"]),
            "ts": rows["ts"].to_numpy(),
            "line": rows["line"].fill_null(_NONE).to_numpy(),
            "offset": rows["offset"].fill_null(_NONE).to_numpy(),
        }

    # -- reporting ----------------------------------------------------------------------------
    def _finding(self, run: Run) -> Finding:
        attempts = run.attempts
        accounts = len(run.accounts)
        many = "" if accounts < SAMPLE_CAP else "at least "
        mean_gap = (run.last_ts - run.first_ts) / run.links
        span = run.last_ts - run.first_ts
        subject = Subject("source.ip", run.ip)
        details: dict[str, Any] = {
            "key_kind": subject.kind,
            "key": run.ip,
            "failures": attempts,
            "distinct_accounts": accounts,
            "sample_accounts": sorted(run.names),
            "mean_gap_seconds": round(mean_gap / US, 1),
            "min_gap_seconds": round(run.gap_min / US, 1),
            "max_gap_seconds": round(run.gap_max / US, 1),
            "first_seen": at(run.first_ts).isoformat(),
            "last_failure": at(run.last_ts).isoformat(),
            "span_seconds": round(span / US, 1),
            "min_attempts": self.min_attempts,
            "max_gap_ratio": self.max_gap_ratio,
        }
        title = (
            f"Paced brute force: {attempts} failed logins from {run.ip} against {many}{accounts} "
            f"account{'s' if accounts != 1 else ''}, one every {_minutes(mean_gap)}"
        )
        names = ", ".join(sorted(run.names)[:5]) + (", ..." if len(run.names) > 5 else "")
        explanation = (
            f"{attempts} failed logins from {subject} between {details['first_seen']} and {details['last_failure']}, "
            f"{_minutes(run.gap_min)} to {_minutes(run.gap_max)} apart (mean {_minutes(mean_gap)}; each gap within "
            f"{self.max_gap_ratio:g}x the previous one). That regularity is a timer: a tool guessing slowly to stay "
            f"under rate limits and lockouts, which a burst rule does not see. {many.capitalize()}{accounts} distinct "
            f"account(s)" + (f", e.g. {names}." if names else ".") + " Attempted only so far: block or rate-limit the "
            "address over hours, not minutes, and check the named accounts for weak or default passwords."
        )
        confidence = min(0.95, 0.6 + 0.05 * (attempts - self.min_attempts) + (0.1 if accounts >= 2 else 0.0))
        return Finding(
            detector=self.info.name,
            key=f"{subject.kind}:{run.ip}:{at(run.first_ts).isoformat()}",
            crime_code=self.info.crime_code,
            stage=Stage.ATTEMPTED,
            severity=Severity.MEDIUM,
            confidence=round(confidence, 4),
            title=title,
            explanation=explanation,
            subject=subject,
            first_seen=at(run.first_ts),
            last_seen=at(run.last_ts),
            evidence=tuple(run.evidence),
            details=details,
            tags=("brute-force", "slow", "key:ip"),
        )


def _grouped(rows: pl.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The order that puts each address's rows together in stream order (``seq``), and where each
    address's rows start in it (:func:`.grouping.ordered_groups`, by the rows' address hashes)."""
    order, group = ordered_groups(rows["ip"], rows["seq"].to_numpy(), rows["h"].to_numpy())
    starts = np.ones(rows.height, dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    return order, starts


class _Chains:
    """The run rule of :class:`SlowBruteForceDetector` over one batch, in arrays.

    Rows are grouped by address in stream order. A failure *links* to the previous failure of its
    address when nothing (no success) lies between them and the gap is in pacing range; a link
    *continues* the previous link when that one exists and the two gaps are within the ratio.
    A run is then a maximal chain of continuing links with the failure before its first link, so
    every row's run, its attempts and whether it has seen two accounts follow from cumulative
    operations. The state carried from earlier batches (a run, or the table's single failure)
    stands in for the failure before a group's first row.
    """

    def __init__(self, rows: pl.DataFrame, order: npt.NDArray[np.int64], starts: npt.NDArray[np.bool_]) -> None:
        self.order = order  # row of ``rows`` at each position; positions are grouped by address
        self.h: npt.NDArray[np.uint64] = rows["h"].to_numpy()[order]
        self.ts: npt.NDArray[np.int64] = rows["ts"].to_numpy()[order]
        self.fail: npt.NDArray[np.bool_] = rows["fail"].to_numpy()[order]
        self.account: npt.NDArray[np.int64] = rows["account"].to_numpy().astype(np.int64)[order]
        self.starts = starts
        self.firsts = np.flatnonzero(starts)
        self.lasts = np.r_[self.firsts[1:] - 1, len(starts) - 1]
        self.group = np.cumsum(starts) - 1
        self.continues = np.zeros(len(self.firsts), dtype=bool)  # first row goes on with the carried run
        self._replays: list[tuple[int, int, int, bool]] = []
        self._singles = np.zeros(0, dtype=np.int64)

    def solve(
        self,
        rule: SlowBruteForceDetector,
        carried: list[Run | None],
        sighted: npt.NDArray[np.bool_],
        table_ts: npt.NDArray[np.int64],
        table_account: npt.NDArray[np.int64],
    ) -> None:
        """Find the runs that qualify, stay open or end as a single failure (see :meth:`replays`)."""
        groups = len(self.firsts)
        c_ts = np.where(sighted, table_ts, 0)
        c_account = np.where(sighted, table_account, 0)
        c_links = np.zeros(groups, dtype=np.int64)
        c_gap = np.zeros(groups, dtype=np.int64)
        c_multi = np.zeros(groups, dtype=bool)
        c_alerted = np.zeros(groups, dtype=bool)
        has_run = np.zeros(groups, dtype=bool)
        for g, run in enumerate(carried):
            if run is not None:
                has_run[g] = True
                c_ts[g], c_links[g], c_gap[g] = run.last_ts, run.links, run.last_gap
                c_multi[g], c_account[g], c_alerted[g] = len(run.accounts) >= 2, next(iter(run.accounts)), run.alerted
        ts, fail, firsts, g_of = self.ts, self.fail, self.firsts, self.group
        m = len(ts)
        idx = np.arange(m, dtype=np.int64)
        prev_ts = np.empty(m, dtype=np.int64)
        prev_ts[1:] = ts[:-1]
        prev_ts[firsts] = c_ts
        has_prev = np.zeros(m, dtype=bool)
        has_prev[1:] = fail[:-1]
        has_prev[firsts] = has_run | sighted
        gap = ts - prev_ts
        link = fail & has_prev & (gap >= rule.min_gap) & (gap <= rule.max_gap)
        prev_link = np.zeros(m, dtype=bool)
        prev_link[1:] = link[:-1]
        prev_link[firsts] = has_run & (c_links > 0)
        prev_gap = np.zeros(m, dtype=np.int64)
        prev_gap[1:] = gap[:-1]
        prev_gap[firsts] = c_gap
        ratio = rule.max_gap_ratio
        cont = link & prev_link & (prev_gap <= gap * ratio) & (gap <= prev_gap * ratio)
        self.continues = cont[firsts]
        # a run's anchor: 2j+1 when it starts at row j, 2i when it starts with the carried failure
        # before group row i (or is the carried run going on); rows of one run share it
        anchor = np.full(m, -1, dtype=np.int64)
        anchor[fail & ~link] = 2 * idx[fail & ~link] + 1
        restart = link & ~cont & ~self.starts
        anchor[restart] = 2 * idx[restart] - 1
        anchor[link & self.starts] = 2 * idx[link & self.starts]
        anchor = np.maximum.accumulate(anchor)
        virtual = anchor % 2 == 0
        start_row = anchor // 2
        going_on = virtual & self.continues[g_of]
        links = idx - start_row + virtual + np.where(going_on, c_links[g_of], 0)
        first_account = np.where(virtual, c_account[g_of], self.account[start_row])
        differs = fail & (self.account != first_account)
        last_differs = np.maximum.accumulate(np.where(differs, idx, -1))
        multi = (going_on & c_multi[g_of]) | (last_differs >= start_row)
        attempts = links + 1
        qualifies = (
            fail
            & (attempts >= rule.min_attempts)
            & (multi | (attempts >= rule.single_account_attempts))
            & ~(going_on & c_alerted[g_of])
        )
        wanted: dict[int, tuple[int, int, int, bool]] = {}  # anchor -> (group, start, end, open)
        q = np.flatnonzero(qualifies)
        if q.size:
            q = q[np.r_[True, anchor[q][1:] != anchor[q][:-1]]]  # first qualifying row of each run
        for row in q.tolist():
            a = int(anchor[row])
            wanted[a] = (int(g_of[row]), -1 if a % 2 == 0 else a // 2, row, False)
        lasts = self.lasts
        ends_failing = fail[lasts]
        for row in lasts[ends_failing & (links[lasts] >= 1)].tolist():
            a = int(anchor[row])
            wanted[a] = (int(g_of[row]), -1 if a % 2 == 0 else a // 2, row, True)
        self._replays = list(wanted.values())
        self._singles = lasts[ends_failing & (links[lasts] == 0)]

    def replays(self) -> list[tuple[int, int, int, bool]]:
        """``(group, start, end, open)`` per run to build: from row ``start`` (-1: from the carried
        state) through row ``end``; ``open`` when the run is still going at the batch's end."""
        return self._replays

    def replay_rows(self) -> npt.NDArray[np.int64]:
        """Every row a replay reads."""
        parts = [np.arange(self.firsts[g] if start < 0 else start, end + 1) for g, start, end, _ in self._replays]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def singles(self) -> npt.NDArray[np.int64]:
        """Rows of addresses whose batch ends with one failure outside any run (they go to the table)."""
        return self._singles


class _ReplayRows:
    """The few rows a replay reads, as Python values (reading all rows cost more than the rule)."""

    def __init__(self, rows: pl.DataFrame, order: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]) -> None:
        sub = rows.select("ts", "user", "account", "path", "line", "offset")[order[wanted]]
        self.pos = {int(i): k for k, i in enumerate(wanted.tolist())}
        self.ts: list[int] = sub["ts"].to_list()
        self.user: list[str | None] = sub["user"].to_list()
        self.account: list[int] = sub["account"].to_list()
        self.refs = list(map(EventRef, sub["path"].to_list(), sub["line"].to_list(), sub["offset"].to_list()))

    def args(self, row: int) -> tuple[int, EventRef, int, str | None]:
        """``(ts, ref, account, name)`` of a row, as :meth:`Run.start` and ``_step`` take them."""
        k = self.pos[row]
        return self.ts[k], self.refs[k], self.account[k], self.user[k]
