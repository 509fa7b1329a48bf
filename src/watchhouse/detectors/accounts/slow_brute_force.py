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
    * ``sightings_bits=21`` — 2 million table slots (75 MB) for single failures.
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
        sightings_bits: int = 21,
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

        Everything an address does depends only on the time of its previous failure, so per
        address the batch's gaps are computed at once; failures inside a fast stretch (each less
        than ``min_gap`` after the previous and followed by another such) only restart the run and
        are skipped before the per-failure Python step. A success from the address ends its run:
        it knows a password, so its failures are typos or expired credentials, not a schedule
        (successes of addresses with nothing tracked are dropped first: most logins are those)."""
        in_runs = (
            pl.col("ip").is_in(pl.Series(list(self.runs), dtype=pl.String).implode()) if self.runs else pl.lit(False)
        )
        frame = frame.with_row_index("seq")
        failing = frame.filter("fail").get_column("ip").unique()
        successes = frame.filter(~pl.col("fail"))
        if successes.height:
            slot, fp = self.sightings.slots(hash_keys(successes["ip"]))
            known = pl.Series(self.sightings.fp[slot] == fp)
            successes = successes.filter(known | in_runs | pl.col("ip").is_in(failing.implode()))
            frame = pl.concat([frame.filter("fail"), successes]).sort("seq")
        if frame.height == 0:
            return []
        frame = frame.with_columns(
            h=pl.Series(hash_keys(frame["ip"])),
            account=pl.Series((hash_keys(frame["user"]) >> np.uint64(32)).astype(np.uint32)),
        )
        frame = frame.with_columns(n=pl.len().over("ip"), in_runs=in_runs)
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
        """Addresses with several failures in the batch or a run: a Python step per failure that matters."""
        rows = rows.sort("ip", "seq", maintain_order=True)
        # a failure starts afresh whatever came before when the address's previous row in the batch
        # is a success or lies out of pacing range; a row followed by such a reset (or a success)
        # leaves no trace unless it can qualify a run, which a success or a fresh start cannot
        gap = pl.col("ts") - pl.col("ts").shift(1).over("ip")
        out_of_range = (gap < self.min_gap) | (gap > self.max_gap)
        fresh = pl.col("fail") & (~pl.col("fail").shift(1).over("ip") | out_of_range).fill_null(False)
        rows = rows.with_columns(fresh=fresh).with_columns(resets=~pl.col("fail") | pl.col("fresh"))
        rows = rows.filter(~(pl.col("resets") & pl.col("resets").shift(-1).over("ip").fill_null(False)))
        table = self.sightings
        slot, fp = table.slots(rows["h"].to_numpy())
        findings: list[Finding] = []
        singles: list[int] = []  # row index of addresses that end the batch with one failure
        cols = rows.select("ip", "ts", "user", "account", "path", "line", "offset", "fail", "fresh").rows()
        i = 0
        while i < len(cols):
            ip = cols[i][0]
            run = self.runs.pop(ip, None)
            s = int(slot[i])
            if run is None and table.fp[s] == fp[i]:
                run = Run.start(ip, int(table.ts[s]), table.ref(s), int(table.account[s]), None)
                table.fp[s] = 0
            while i < len(cols) and cols[i][0] == ip:
                _, ts, user, account, path, line, offset, fail, fresh = cols[i]
                ref = EventRef(path, line, offset)
                if not fail:
                    run = None
                elif run is None or fresh:
                    run = Run.start(ip, ts, ref, account, user)
                else:
                    run, found = self._step(run, ts, ref, account, user)
                    if found is not None:
                        findings.append(found)
                last = i
                i += 1
            if run is not None and run.links:
                self._keep(run)
            elif run is not None:
                singles.append(last)
        if singles:
            picked = rows[singles]
            pslot, pfp = table.slots(picked["h"].to_numpy())
            table.write(pslot, self._table_values(picked, pfp))
        return findings

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
