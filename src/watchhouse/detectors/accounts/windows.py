"""Event-time burst tracking for login failures: the state machine behind the burst detector.

Why a separate module: the detector decides *what* a suspicious burst means (subjects, severity,
wording); this module decides *when* a burst exists and is finished, in a way that does not depend
on how the input was cut into batches or whether the process restarted in between. Everything is
defined on event time and on the position of each row in the whole input stream:

* Every row gets a stream sequence number (``seq``). Each input file (``log.file.path``) is its
  own event-time stream with its own watermark: the largest ``@timestamp`` of all rows before it
  *from the same file*, minus the allowed lateness. A row older than its file's watermark is
  *late* and ignored. Per-file watermarks matter because files are read one after another: a
  day of web logins read first must not make the morning of ``sshd.log`` read next look late.
  Because this is a property of the stream, not of the batch, splitting the input differently
  drops exactly the same rows.
* Per key, the admitted failures sorted by ``(ts, seq)`` form bursts: maximal runs in which each
  failure lies within ``window`` of the previous one. A burst is *closed* once the watermark of
  every file that contributed to it passes ``last + window``; no admitted row from those files
  can then extend it (it would be late).
* A burst is *reported from* one window before the failure that first made its chain *warm*
  (half the threshold within one window, see :func:`warm_level`); failures before that are a
  quiet lead-in, dropped from state once the watermark shows the chain cannot have warmed up in
  time. This is what bounds state under a flood of keys that each fail now and then.
* Successes are kept while they could still fall into some burst's range
  ``[first, last + window]``: those at or after the watermark (a later out-of-order failure may
  still precede them) and those of keys with an open burst that starts no later than them.

State lives in two Polars frames (open failures, retained successes) so the hot path stays
vectorised; Python loops only over bursts that close with at least ``threshold`` failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.eventtime import compacted
from watchhouse.detectors.accounts.grouping import ordered_groups
from watchhouse.detectors.accounts.sketches import U64, GrowingCountMin, hash_keys

IP_KIND = "ip"
ACCOUNT_KIND = "account"
#: joins service and account name in an account key; cannot occur in either
KEY_SEP = "\x1f"

#: columns of an input frame handed to :meth:`BurstTracker.update`
INPUT_COLUMNS: dict[str, pl.DataType] = {
    "ts": pl.Int64(),  # event time, microseconds since the epoch (UTC)
    "outcome": pl.String(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
}

#: columns of the tracked rows (failures and successes), one row per (key kind, event)
ROW_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "key": pl.String(),
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
}
_ROW_COLUMNS = list(ROW_SCHEMA)
_SORT = ["kind", "key", "ts", "seq"]
_ADMITTED_SUCCESS = pl.col("admitted") & (pl.col("outcome") == "success")
STATE_VERSION = 3


def _watermark(watermarks: Mapping[str, int]) -> pl.Expr:
    """Each row's file watermark (microseconds); null for a file not seen yet."""
    if not watermarks:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col("path").fill_null("").replace_strict(dict(watermarks), default=None, return_dtype=pl.Int64)


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=ROW_SCHEMA)


#: columns of :attr:`ClosedBursts.bursts`
BURST_SCHEMA: dict[str, pl.DataType] = {
    "seg": pl.Int64(),
    "kind": pl.String(),
    "key": pl.String(),
    "peak": pl.Int64(),
    "peak_start": pl.Int64(),
    "peak_end": pl.Int64(),
}
_SEG_ROWS: dict[str, pl.DataType] = {"seg": pl.Int64(), **ROW_SCHEMA}


@dataclass(frozen=True)
class ClosedBursts:
    """Finished bursts that reached their threshold, all closed by one call, as three frames.

    Why frames and not one object per burst: a host under a dictionary attack closes thousands
    of bursts per batch, and building a Polars frame per burst cost milliseconds each; the
    detector aggregates all of them in one pass instead.
    """

    bursts: pl.DataFrame  # BURST_SCHEMA, one row per burst, in report order (by ``seg``)
    failures: pl.DataFrame  # seg + ROW_SCHEMA, sorted by (seg, ts, seq)
    successes: pl.DataFrame  # seg + ROW_SCHEMA within [first, last + window], sorted by (seg, ts, seq)

    def __len__(self) -> int:
        return self.bursts.height

    @staticmethod
    def none() -> ClosedBursts:
        return ClosedBursts(
            pl.DataFrame(schema=BURST_SCHEMA), pl.DataFrame(schema=_SEG_ROWS), pl.DataFrame(schema=_SEG_ROWS)
        )


def peak_in_window(ts: np.ndarray[Any, np.dtype[np.int64]], window: int) -> tuple[int, int, int]:
    """Most events within any closed interval of length ``window`` of sorted ``ts``.

    Returns ``(count, start_ts, end_ts)``; one binary search per event, all vectorised.
    """
    left = np.searchsorted(ts, ts - window, side="left")
    counts = np.arange(1, len(ts) + 1) - left
    best = int(np.argmax(counts))
    return int(counts[best]), int(ts[left[best]]), int(ts[best])


def warm_level(threshold: int) -> int:
    """Failures within one window that make a chain *warm*: half the threshold, at least two.

    A reported burst starts one window before its chain first got warm; a chain that never gets
    warm (a key failing now and then, like each of millions of addresses in a flood) can never be
    reported, so its older failures need not be held."""
    return max(2, (threshold + 1) // 2)


def _keyed(rows: pl.DataFrame, kinds: tuple[str, ...] = (IP_KIND, ACCOUNT_KIND)) -> pl.DataFrame:
    """One row per key an event counts for: its source address and its (service, account)."""
    parts = []
    if IP_KIND in kinds:
        by_ip = rows.filter(pl.col("ip").is_not_null()).with_columns(kind=pl.lit(IP_KIND), key=pl.col("ip"))
        parts.append(by_ip.select(_ROW_COLUMNS))
    if ACCOUNT_KIND in kinds:
        by_account = rows.filter(pl.col("user").is_not_null()).with_columns(
            kind=pl.lit(ACCOUNT_KIND),
            key=pl.concat_str([pl.col("service").fill_null(""), pl.lit(KEY_SEP), pl.col("user")]),
        )
        parts.append(by_account.select(_ROW_COLUMNS))
    return pl.concat(parts)


def _sorted_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` sorted by :data:`_SORT` (kind, key, ts, seq).

    Why not ``rows.sort(_SORT)``: a multi-column sort led by two string columns row-encodes
    every key, and it ran on all open failures every batch. A flood or dictionary attack has
    few distinct keys and many rows each, so the keys are ranked once (sorting only the
    distinct ones) and the rows sorted by integers; ``seq`` is unique, so the order is the same.
    """
    if rows.height < 2:
        return rows
    codes = rows.select("kind", "key").unique().sort("kind", "key").with_row_index("_code")
    coded = rows.join(codes, on=["kind", "key"], how="left", maintain_order="left")
    return coded.sort("_code", "ts", "seq").drop("_code")


#: one row per admitted failure waiting in :class:`PendingFailures` (the event, not yet keyed)
PENDING_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
}
_FLAGS = {"ip_wait": pl.Boolean(), "account_wait": pl.Boolean()}
#: waiting chunks beyond this are merged (tiny batches must not make every admit a long loop)
MAX_PENDING_CHUNKS = 64
#: integer columns of waiting rows stored as narrow as their values allow (:func:`_narrowed`)
_NARROW = ("seq", "line", "offset")
#: name codes of waiting rows (:meth:`PendingFailures._coded`), narrowed likewise
_CODES = ("path", "service")
#: hashes asked of a sketch at once (bounds the lookup's temporary arrays to a few MB)
ASK_SLICE = 1 << 16


def _narrowed(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with each :data:`_NARROW` and :data:`_CODES` column as small as its values allow
    (:func:`.eventtime.compacted`): under a flood the pending buffer holds millions of rows, and
    these five columns were 32 bytes of each; ``offset`` is empty for JSON input and ``line`` for
    journal input, and a scan reads a handful of files and services (one byte each). Readers cast
    back (:meth:`PendingFailures._decoded`, :meth:`PendingFailures._code`)."""
    names = (*_NARROW, *_CODES)
    return compacted(rows, empty=names, narrow=names)


class PendingFailures:
    """Failures of keys that are not warm yet, held once per event until they could matter.

    Why: under a flood of millions of addresses failing once each, exact per-key rows would be
    sorted and segmented every batch. A count-min sketch per epoch (``window`` long) counts
    earlier batches' failures per key, and the batch's own are counted exactly (:func:`_near_counts`);
    a key whose failures in its row's epoch and the two around it may reach
    the warm level (:func:`warm_level`) is *hot*: its waiting failures move to the exact tracker,
    as do its later ones. Everything else waits here, one row per event with a flag per key kind,
    and expires once its file's watermark passes it by a window: by then a chain that did not get
    warm can no longer be reported with it (see :meth:`BurstTracker._trim`). Because the sketch
    never under-counts, every key the exact tracker would report is hot in time, so findings are
    the same as with exact state; collisions only make a few cold keys hot early.

    Sketch width: ``2**21`` one-byte counters a row (6 MB per epoch at depth 3). Ten million
    one-off addresses in an hour put about 1.3 keys in a counter per epoch; a one-off address then
    needs ten in all three rows over three epochs to look warm, which next to none do. Twice that
    width, held for each of the epochs still asked, was a fifth of the detector's flood memory,
    and a key a narrow sketch lets through only costs an exact check (:meth:`_warm`).
    """

    def __init__(self, *, window: int, thresholds: Mapping[str, int], width_bits: int = 21, depth: int = 3) -> None:
        self.window = window
        self.warm = {kind: warm_level(t) for kind, t in thresholds.items()}
        self.width_bits = width_bits
        self.depth = depth
        self.sketches: dict[int, GrowingCountMin] = {}  # epoch start -> failures per (kind, key)
        # waiting rows as the chunks they came in: a batch copies only the chunks it pulls from or
        # expires, not the whole buffer (which under a flood is millions of rows). File and
        # service names are small integer codes there (see :meth:`_coded`)
        self.chunks: list[pl.DataFrame] = []
        self.codes: dict[str, int] = {}
        self._names: tuple[pl.Series, pl.Series] | None = None  # :meth:`names`, until the rows change

    @property
    def rows(self) -> pl.DataFrame:
        """All waiting rows as one frame, names decoded (:data:`PENDING_SCHEMA` and the flags)."""
        if not self.chunks:
            return pl.DataFrame(schema={**PENDING_SCHEMA, **_FLAGS})
        return pl.concat([self._decoded(chunk) for chunk in self.chunks])

    def _lazy(self) -> pl.LazyFrame:
        """All waiting (coded) rows, lazily: chunks may differ in their narrow integer types
        (see :func:`_narrowed`), so they are concatenated with casts; a query reads only what it selects."""
        return pl.concat([chunk.lazy() for chunk in self.chunks], how="vertical_relaxed", rechunk=False)

    def _coded(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` with ``path`` and ``service`` as codes (new names get the next code) and narrow
        integers (:func:`_narrowed`). Why: a flood keeps a window of failures here, and each name
        cost 16 bytes a row, a code one to four."""
        for name in pl.concat([rows["path"], rows["service"]]).drop_nulls().unique().to_list():
            self.codes.setdefault(name, len(self.codes))
        return _narrowed(
            rows.with_columns(
                pl.col("path", "service").replace_strict(self.codes, default=None, return_dtype=pl.UInt32)
            )
        )

    def _decoded(self, rows: pl.DataFrame) -> pl.DataFrame:
        names = {code: name for name, code in self.codes.items()}
        return rows.with_columns(
            self._code("path", "service").replace_strict(names, default=None, return_dtype=pl.String),
            pl.col(_NARROW).cast(pl.Int64),
        )

    @staticmethod
    def _code(*names: str) -> pl.Expr:
        """Name code columns as UInt32, whatever narrow type a chunk stores them in: a mapping
        with codes past that type's range must not be cast down to it."""
        return pl.col(*names).cast(pl.UInt32)

    def _account_key(self) -> pl.Expr:
        """The account key of coded rows (service name, separator, account)."""
        names = {code: name for name, code in self.codes.items()}
        service = self._code("service").replace_strict(names, default=None, return_dtype=pl.String)
        return pl.concat_str([service.fill_null(""), pl.lit(KEY_SEP), pl.col("user")])

    def _watermark(self, watermarks: Mapping[str, int]) -> pl.Expr:
        """Each coded row's file watermark (null for a file with none yet)."""
        marks = {self.codes[path]: mark for path, mark in watermarks.items() if path in self.codes}
        if not marks:
            return pl.lit(None, dtype=pl.Int64)
        return self._code("path").replace_strict(marks, default=None, return_dtype=pl.Int64)

    @property
    def height(self) -> int:
        return sum(c.height for c in self.chunks)

    def admit(self, events: pl.DataFrame, exact: pl.DataFrame, watermarks: Mapping[str, int]) -> pl.DataFrame:
        """Count ``events`` (failures, :data:`PENDING_SCHEMA`) and return the keyed rows that belong
        in exact state: those of hot keys, including their failures that were waiting here."""
        keys = events.select(
            ip=pl.col("ip"),
            account=pl.concat_str([pl.col("service").fill_null(""), pl.lit(KEY_SEP), pl.col("user")]),
            epoch=(pl.col("ts") // self.window) * self.window,
        )
        epochs = keys["epoch"].to_numpy()
        hashes = {kind: _kind_hashes(kind, keys[kind]) for kind in (IP_KIND, ACCOUNT_KIND)}
        present = {kind: keys[kind].is_not_null().to_numpy() for kind in (IP_KIND, ACCOUNT_KIND)}
        groups = dict(_by_epoch(epochs))
        n = events.height
        # (both kinds in one pass: their hashes differ, the kind is mixed in)
        both = np.concatenate([hashes[IP_KIND], hashes[ACCOUNT_KIND]])
        # rows still to come are not older than the slowest watermark, so they ask the sketch of
        # the epoch before its one at the earliest; older sketches are never read again
        oldest = min(watermarks.values()) - self.window if watermarks else None
        counted = [e for e in groups if oldest is None or e + self.window >= oldest]
        # a row's estimate is the count of its key in its epoch and the two around it. When the
        # batch goes into sketches whole (a flood's batch spans a minute or two), they are asked
        # after counting it. Otherwise (a batch of a quiet day spans a hundred epochs, and the
        # fixed cost of a sketch call per epoch and kind was most of the detector's time) the
        # batch is counted exactly and the sketches, asked first, hold only earlier batches; only
        # the epochs later rows can still ask are counted into sketches
        whole = len(counted) == len(groups)
        if whole:
            self._count(groups, counted, hashes, present)
            est = np.zeros(2 * n, dtype=np.int64)
        else:
            est = _near_counts(
                both,
                np.concatenate([epochs, epochs]),
                np.concatenate([present[IP_KIND], present[ACCOUNT_KIND]]),
                self.window,
            )
        # each sketch is asked once, for the rows of all three epochs it counts for and both
        # kinds together
        for start, counts in self.sketches.items():
            near = [groups[e] for e in (start - self.window, start, start + self.window) if e in groups]
            if near:
                rows = np.concatenate(near)
                rows = np.concatenate([rows, rows + n])
                # asked in slices: a sketch's lookup makes several int64 copies per hash and
                # row, and for a whole flood batch that was the detector's highest transient
                for begin in range(0, rows.size, ASK_SLICE):
                    ask = rows[begin : begin + ASK_SLICE]
                    est[ask] += counts.estimate(both[ask])
        if not whole:
            self._count(groups, counted, hashes, present)
        hot: dict[str, pl.Series] = {}
        for kind, part in ((IP_KIND, est[:n]), (ACCOUNT_KIND, est[n:])):
            known = keys[kind].filter(keys[kind].is_in(exact.filter(pl.col("kind") == kind)["key"].implode()))
            # keys already in exact state are hot whatever their count: not worth checking
            candidates = keys[kind].filter(pl.Series(part >= self.warm[kind]) & keys[kind].is_not_null()).unique()
            candidates = candidates.filter(~candidates.is_in(known.implode()))
            warm = self._warm(kind, candidates, events.select("ts", key=keys[kind]))
            hot[kind] = pl.concat([warm, known]).unique()
        flagged = events.with_columns(
            ip_wait=pl.col("ip").is_not_null() & ~pl.col("ip").is_in(hot[IP_KIND].implode()),
            account_wait=pl.col("user").is_not_null() & ~keys["account"].is_in(hot[ACCOUNT_KIND].implode()),
        )
        flags = {
            # no key turned hot (a flood's usual batch): nothing to look up in millions of rows
            "pull_ip": pl.col("ip_wait") & pl.col("ip").is_in(hot[IP_KIND].implode())
            if hot[IP_KIND].len()
            else pl.lit(False),
            "pull_account": pl.col("account_wait") & self._account_key().is_in(hot[ACCOUNT_KIND].implode())
            if hot[ACCOUNT_KIND].len()
            else pl.lit(False),
        }
        # new events of hot keys were never waiting: they go to exact state at once
        moved = [
            _keyed(flagged.filter(~pl.col("ip_wait") & pl.col("ip").is_not_null()), kinds=(IP_KIND,)),
            _keyed(flagged.filter(~pl.col("account_wait") & pl.col("user").is_not_null()), kinds=(ACCOUNT_KIND,)),
        ]
        kept: list[pl.DataFrame] = []
        new = self._coded(flagged)
        flags["expired"] = (pl.col("ts") < self._watermark(watermarks) - self.window).fill_null(False)
        for chunk in [*self.chunks, new]:
            marks = chunk.select(**flags)
            pull_ip, pull_account, expired = marks["pull_ip"], marks["pull_account"], marks["expired"]
            if pull_ip.any():
                moved.append(_keyed(self._decoded(chunk.filter(pull_ip)), kinds=(IP_KIND,)))
            if pull_account.any():
                moved.append(_keyed(self._decoded(chunk.filter(pull_account)), kinds=(ACCOUNT_KIND,)))
            if chunk is not new and not (pull_ip.any() or pull_account.any() or expired.any()):
                kept.append(chunk)  # every row still waits: left as it is, not copied
                continue
            rest = chunk.with_columns(
                ip_wait=pl.col("ip_wait") & ~pull_ip, account_wait=pl.col("account_wait") & ~pull_account
            ).filter((pl.col("ip_wait") | pl.col("account_wait")) & ~expired)
            if rest.height:
                kept.append(rest)
        self.chunks = [pl.concat(kept, how="vertical_relaxed")] if len(kept) > MAX_PENDING_CHUNKS else kept
        self._names = None
        if oldest is not None:
            for epoch in [e for e in self.sketches if e + self.window < oldest]:
                del self.sketches[epoch]
        return pl.concat(moved)

    def _count(
        self,
        groups: Mapping[int, npt.NDArray[np.intp]],
        epochs: list[int],
        hashes: Mapping[str, U64],
        present: Mapping[str, npt.NDArray[np.bool_]],
    ) -> None:
        """Count the rows of ``epochs`` (their positions in ``groups``) into their epochs' sketches."""
        for epoch in epochs:
            idx = groups[epoch]
            sketch = self.sketches.get(epoch) or self.sketches.setdefault(
                epoch, GrowingCountMin(self.width_bits, self.depth)
            )
            for kind in (IP_KIND, ACCOUNT_KIND):
                sketch.add(hashes[kind][idx][present[kind][idx]])

    def _warm(self, kind: str, candidates: pl.Series, new: pl.DataFrame) -> pl.Series:
        """The candidates (keys the sketch says may be warm) that really are: their waiting and new
        failures hold :func:`warm_level` within one window. Under a flood the sketch is right only
        on average (a million accounts failing every few minutes each look warm to it), and every
        key let through costs exact state; the check costs one sort of the candidates' rows."""
        if candidates.len() == 0:
            return candidates
        # one lazy pass that copies only the wanted keys' times: filtering the waiting rows first
        # copied every column of all of them, a flood's largest transient
        wanted = candidates.implode()
        coded = self._lazy() if self.chunks else None
        if coded is None:
            waiting = pl.LazyFrame(schema={"ts": pl.Int64(), "key": pl.String()})
        elif kind == IP_KIND:
            waiting = coded.filter("ip_wait").select("ts", key="ip")
        else:
            # the account's name narrows the rows first: building every waiting row's key (a
            # flood's million) to compare it was this method's largest transient
            users = candidates.str.splitn(KEY_SEP, 2).struct.field("field_1")
            waiting = (
                coded.filter(pl.col("account_wait") & pl.col("user").is_in(users.implode()))
                .select("ts", key=self._account_key())
                .filter(pl.col("key").is_in(wanted))
            )
        waiting_rows = waiting.filter(pl.col("key").is_in(wanted)).collect()
        rows = pl.concat([waiting_rows, new.filter(pl.col("key").is_in(wanted))])
        order, group = ordered_groups(rows["key"], rows["ts"].to_numpy())
        ts = rows["ts"].to_numpy()[order]
        base = int(ts.min())
        stride = int(ts.max()) - base + 2 * self.window + 1  # keys never share a window on this axis
        flat = (ts - base) + group * stride
        counts = np.arange(1, len(flat) + 1) - np.searchsorted(flat, flat - self.window, side="left")
        return rows["key"].gather(order[counts >= self.warm[kind]]).unique()

    def names(self) -> tuple[pl.Series, pl.Series]:
        """Addresses and account names (without service) of the keys waiting here, to narrow rows
        down before keying them. Kept until the waiting rows change: a batch asks twice, and under
        a flood each answer reads millions of rows."""
        if self._names is None:
            if not self.chunks:
                return pl.Series(dtype=pl.String), pl.Series(dtype=pl.String)
            rows = self._lazy()
            ips = rows.filter("ip_wait").select(pl.col("ip").unique()).collect()["ip"]
            users = rows.filter("account_wait").select(pl.col("user").unique()).collect()["user"]
            self._names = (ips, users)
        return self._names

    def waiting_mask(self, keyed: pl.DataFrame) -> pl.Series:
        """Per row of ``keyed`` (:data:`ROW_SCHEMA`): whether its key has failures waiting here.

        Account keys are built only for the waiting rows of the accounts asked about: building
        every waiting row's key, each batch, was the costliest part of asking."""
        if not self.chunks:
            return pl.repeat(False, keyed.height, eager=True)
        ips, users = self.names()
        is_account = pl.col("kind") == ACCOUNT_KIND
        waiting = (pl.col("kind") == IP_KIND) & pl.col("key").is_in(ips.implode())
        asked = keyed.filter(is_account & pl.col("user").is_in(users.implode()))["user"].unique()
        if asked.len():
            accounts = (
                self._lazy()
                .filter(pl.col("account_wait") & pl.col("user").is_in(asked.implode()))
                .select(key=self._account_key())
                .unique()
                .collect()["key"]
            )
            waiting = waiting | (is_account & pl.col("key").is_in(accounts.implode()))
        return keyed.select(waiting.alias("waiting"))["waiting"]

    def waiting(self, keyed: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``keyed`` (:data:`ROW_SCHEMA`) whose key has failures waiting here."""
        return keyed.filter(self.waiting_mask(keyed))

    def clear(self) -> None:
        self.chunks = []
        self._names = None
        self.codes = {}
        self.sketches.clear()

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows.to_dict(as_series=False),
            "sketches": {str(e): s.to_json() for e, s in self.sketches.items()},
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        rows = pl.DataFrame(state["rows"], schema={**PENDING_SCHEMA, **_FLAGS})
        self.codes = {}
        self.chunks = [self._coded(rows)] if rows.height else []
        self._names = None
        self.sketches = {int(e): GrowingCountMin.from_json(s) for e, s in state["sketches"].items()}


def _kind_hashes(kind: str, keys: pl.Series) -> U64:
    """Sketch hashes of one kind's keys (the kind is mixed in so an address and an account
    spelled alike do not share counters)."""
    return hash_keys(pl.select(pl.lit(kind + KEY_SEP) + pl.lit(keys).fill_null("")).to_series())


def _near_counts(
    hashes: U64, epochs: npt.NDArray[np.int64], present: npt.NDArray[np.bool_], window: int
) -> npt.NDArray[np.int64]:
    """Per row: the present rows with its hash in its epoch and the two around it (0 where absent).

    Rows are sorted by (hash, epoch) once and laid on one integer axis on which every hash has
    its own stretch of epochs; each row's count is then two binary searches of sorted queries."""
    out = np.zeros(len(hashes), dtype=np.int64)
    if not present.any():
        return out
    h, ep = hashes[present], epochs[present] // window
    order = np.lexsort((ep, h))
    sorted_h = h[order]
    group = np.zeros(len(order), dtype=np.int64)
    group[1:] = np.cumsum(sorted_h[1:] != sorted_h[:-1])
    base = int(ep.min())
    stride = int(ep.max()) - base + 3  # a hash's epochs and both neighbours never reach the next one
    axis = group * stride + (ep[order] - base + 1)
    counts = np.empty(len(order), dtype=np.int64)
    counts[order] = np.searchsorted(axis, axis + 1, side="right") - np.searchsorted(axis, axis - 1, side="left")
    out[present] = counts
    return out


def _by_epoch(epochs: npt.NDArray[np.int64]) -> list[tuple[int, npt.NDArray[np.intp]]]:
    """Each distinct epoch start with its row positions (stream order kept within an epoch)."""
    if epochs.size == 0:
        return []
    order = np.argsort(epochs, kind="stable")
    ordered = epochs[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(order)]
    return [(int(ordered[a]), order[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


class BurstTracker:
    """Finds bursts of failures per key in event time, batch by batch, with bounded state.

    ``thresholds`` maps a key kind (:data:`IP_KIND`, :data:`ACCOUNT_KIND`) to the number of
    failures within one window a burst needs to be reported; times are in microseconds.
    """

    def __init__(self, *, window: int, lateness: int, thresholds: Mapping[str, int]) -> None:
        self.window = window
        self.lateness = lateness
        self.thresholds = dict(thresholds)
        self.max_seen: dict[str, int] = {}  # per input file: largest event time admitted so far
        self.seq = 0
        self.failures = empty_rows()
        self.successes = empty_rows()
        self.pending = PendingFailures(window=window, thresholds=self.thresholds)

    # -- feeding ------------------------------------------------------------------------------
    def update(self, frame: pl.DataFrame) -> ClosedBursts:
        """Admit one batch (:data:`INPUT_COLUMNS`, in stream order) and return bursts it closed."""
        n = frame.height
        if n == 0:
            return ClosedBursts.none()
        ts = pl.col("ts")
        frame = frame.with_columns(pl.col("path").fill_null(""))
        # max timestamp of every row before this one in the same file (batch-independent)
        before = ts.cum_max().forward_fill().shift(1)
        if frame["path"].n_unique() > 1:  # most batches come from one file: no partition needed
            before = before.over("path")
        if self.max_seen:
            before = pl.max_horizontal(before, _watermark(self.max_seen))
        flagged = frame.with_columns(
            seq=pl.int_range(self.seq, self.seq + n, dtype=pl.Int64),
            admitted=ts.is_not_null() & (before.is_null() | (ts >= before - self.lateness)),
        )
        self.seq += n
        for path, batch_max in frame.group_by("path").agg(ts.max()).iter_rows():
            if batch_max is not None:
                self.max_seen[path] = max(self.max_seen.get(path, batch_max), batch_max)
        watermarks = {path: seen - self.lateness for path, seen in self.max_seen.items()}
        flagged = flagged.with_columns(wm=_watermark(watermarks))  # each row's file watermark, asked thrice
        new_failures = flagged.filter(pl.col("admitted") & (pl.col("outcome") == "failure"))
        hot = self.pending.admit(new_failures.select(list(PENDING_SCHEMA)), self.failures, watermarks)
        failures = pl.concat([self.failures, hot])
        return self._advance(failures, flagged, watermarks)

    def flush(self) -> ClosedBursts:
        """Close every open burst (end of input) and forget all state but the stream position."""
        out = self._advance(self.failures, None, None)
        self.pending.clear()
        return out

    # -- closing ------------------------------------------------------------------------------
    def _advance(
        self, failures: pl.DataFrame, new_successes: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> ClosedBursts:
        """Segment failures into bursts, emit the closed ones that qualify, keep the rest.

        ``new_successes`` is this batch (flagged rows with their file watermark ``wm``, not yet
        keyed) whose admitted successes are considered; ``watermark`` maps each file to its
        watermark, and None closes everything (finalize).
        """
        if failures.height == 0:  # fast path: nothing to segment, only recent successes to keep
            if new_successes is not None and watermark is not None:
                recent = _keyed(new_successes.filter(_ADMITTED_SUCCESS & (pl.col("ts") >= pl.col("wm"))))
                self.successes = pl.concat([self.successes, recent])
            self.successes = self._retain(self.successes, None, watermark)
            return ClosedBursts.none()
        window = self.window
        failures = _sorted_rows(failures).with_columns(
            seg=(
                (pl.col("kind") != pl.col("kind").shift(1))
                | (pl.col("key") != pl.col("key").shift(1))
                | ((pl.col("ts") - pl.col("ts").shift(1)) > window)
            )
            .fill_null(True)
            .cum_sum()
            .cast(pl.Int64),
            wm=pl.lit(None, dtype=pl.Int64) if watermark is None else _watermark(watermark),
        )
        segs = failures.group_by("seg", maintain_order=True).agg(
            pl.col("kind").first(),
            pl.col("key").first(),
            first=pl.col("ts").first(),
            last=pl.col("ts").last(),
            n=pl.len().cast(pl.Int64),
            wm=pl.col("wm").min(),  # the slowest contributing file decides when the burst is over
        )
        # segments are contiguous in sorted order: each one's row offset is the sum of those before
        segs = segs.with_columns(start=pl.col("n").cum_sum() - pl.col("n"))
        closing = pl.lit(True) if watermark is None else (pl.col("last") + window) < pl.col("wm")
        threshold = pl.col("kind").replace_strict(self.thresholds, return_dtype=pl.Int64)
        closed = segs.filter(closing)
        emit = closed.filter(pl.col("n") >= threshold)
        open_segs = segs.filter(~closing)
        successes = self.successes
        if new_successes is not None and new_successes.height:
            keyed = self._key_successes(new_successes, failures, emit, open_segs, watermark)
            if watermark is not None and self.pending.height:
                waiting = self._waiting_successes(new_successes)
                if waiting.height:  # rows keyed twice are kept once, where ``keyed`` has them
                    on = ["kind", "key", "seq"]
                    keyed = pl.concat([keyed, waiting.join(keyed, on=on, how="anti", maintain_order="left")])
            successes = pl.concat([successes, keyed])
        bursts = self._emit(failures, successes, emit) if emit.height else ClosedBursts.none()
        if closed.height:
            failures = failures.filter(~pl.col("seg").is_in(closed["seg"].implode()))
        if watermark is not None and open_segs.height:
            failures = self._trim(failures, open_segs, threshold)
        self.failures = failures.drop("seg", "wm")
        self.successes = self._retain(successes, open_segs, watermark)
        return bursts

    @staticmethod
    def _key_successes(
        new: pl.DataFrame,
        failures: pl.DataFrame,
        emit: pl.DataFrame,
        open_segs: pl.DataFrame,
        watermark: Mapping[str, int] | None,
    ) -> pl.DataFrame:
        """Key only the successes that can matter: those of bursts being emitted or still open,
        and recent ones a late failure may yet precede. Most logins are successes of keys with no
        failures at all; filtering them before keying is what keeps the hot path cheap."""
        wanted = pl.concat([emit["seg"], open_segs["seg"]])
        rows = failures.filter(pl.col("seg").is_in(wanted.implode()))
        ips = rows.filter(pl.col("kind") == IP_KIND)["key"].unique()
        users = rows.filter(pl.col("kind") == ACCOUNT_KIND)["user"].unique()
        keep = pl.col("ip").is_in(ips.implode()) | pl.col("user").is_in(users.implode())
        if watermark is not None:
            keep = keep | (pl.col("ts") >= pl.col("wm"))
        return _keyed(new.filter(_ADMITTED_SUCCESS & keep))

    def _waiting_successes(self, new: pl.DataFrame) -> pl.DataFrame:
        """Keyed older-than-watermark successes of keys whose failures wait in the pending buffer:
        should such a key warm up, its burst may start before them."""
        old = new.filter(_ADMITTED_SUCCESS & (pl.col("ts") < pl.col("wm")).fill_null(False))
        if old.height == 0 or self.pending.height == 0:
            return empty_rows()
        ips, users = self.pending.names()
        old = old.filter(pl.col("ip").is_in(ips.implode()) | pl.col("user").is_in(users.implode()))
        return self.pending.waiting(_keyed(old))

    def qualified_at(self, ts: npt.NDArray[np.int64], threshold: int) -> int | None:
        """Event time of the failure that first completes ``threshold`` failures within one window
        in the sorted chain ``ts`` (None if no window holds that many yet)."""
        left = np.searchsorted(ts, ts - self.window, side="left")
        hit = np.flatnonzero(np.arange(1, len(ts) + 1) - left >= threshold)
        return int(ts[hit[0]]) if hit.size else None

    def _trim(self, failures: pl.DataFrame, open_segs: pl.DataFrame, threshold: pl.Expr) -> pl.DataFrame:
        """Forget the failures of open chains that can no longer be part of a reported burst.

        A burst is reported from one window before its chain first got warm (:func:`warm_level`),
        so in a chain that is not warm, failures older than the watermark minus one window are
        dropped: no failure still to come can make them part of a burst (whatever would warm the
        chain early enough would be older than the watermark, so it would already be here). In a
        warm chain, failures more than a window before it got warm are dropped likewise. Without
        this, a key failing every few minutes all day (one of millions in a flood) holds its day.
        """
        lead = self.window
        candidates = open_segs.filter(pl.col("first") < pl.col("wm") - lead).with_columns(
            threshold=((threshold + 1) // 2).clip(lower_bound=2)  # warm_level, vectorised
        )
        if candidates.height == 0:
            return failures
        cuts = candidates.filter(pl.col("n") < pl.col("threshold")).select(
            pl.col("seg").cast(pl.Int64), cut=pl.col("wm") - lead
        )
        busy = candidates.filter(pl.col("n") >= pl.col("threshold"))
        if busy.height:
            ts_all = failures["ts"].to_numpy()
            offsets = failures.with_row_index("_i").group_by("seg").agg(pl.col("_i").first())
            busy = busy.join(offsets, on="seg")
            extra = []
            for seg, n, thr, wm, i in busy.select("seg", "n", "threshold", "wm", "_i").iter_rows():
                q = self.qualified_at(ts_all[i : i + n], thr)
                extra.append((seg, (wm if q is None else q) - lead))
            cuts = pl.concat([cuts, pl.DataFrame(extra, schema={"seg": pl.Int64, "cut": pl.Int64}, orient="row")])
        trimmed = failures.join(cuts, on="seg", how="left", maintain_order="left")
        return trimmed.filter(pl.col("cut").is_null() | (pl.col("ts") >= pl.col("cut"))).drop("cut")

    def _emit(self, failures: pl.DataFrame, successes: pl.DataFrame, emit: pl.DataFrame) -> ClosedBursts:
        """Check the peak of each candidate burst and gather its successes, for all at once.

        A burst is reported from one window before its chain first got warm (:func:`warm_level`):
        a chain of failures a few minutes apart can run all day before it turns into guessing,
        and that quiet lead-in is neither evidence nor something to hold in memory."""
        found = self._shapes(failures["ts"].to_numpy(), emit)
        if found.height == 0:
            return ClosedBursts.none()
        bursts = found.select(list(BURST_SCHEMA))
        rows = (
            failures.join(found.select("seg", "first"), on="seg", how="inner", maintain_order="left")
            .filter(pl.col("ts") >= pl.col("first"))
            .select(list(_SEG_ROWS))
        )
        ranges = emit.select("seg", "last").join(found.select("kind", "key", "seg", "first"), on="seg")
        matched = (
            successes.join(ranges, on=["kind", "key"], how="inner")
            .filter(pl.col("ts").is_between(pl.col("first"), pl.col("last") + self.window))
            .select(list(_SEG_ROWS))
            .sort(["seg", "ts", "seq"])
        )
        return ClosedBursts(bursts, rows, matched)

    def _shapes(self, ts_all: npt.NDArray[np.int64], emit: pl.DataFrame) -> pl.DataFrame:
        """Peak window and report start of every candidate burst, those reaching their threshold.

        The same as :func:`peak_in_window` and :meth:`qualified_at` per burst, for all bursts in
        one pass: a dictionary attack on a host closes thousands per batch, and a Python step per
        burst cost more than the counting. Bursts are laid end to end on one integer axis, each
        far enough from the next that no window reaches across."""
        window = self.window
        ns = emit["n"].to_numpy()
        threshold = emit["kind"].replace_strict(self.thresholds, return_dtype=pl.Int64).to_numpy()
        offsets = np.cumsum(ns) - ns  # where each burst starts on the axis
        burst = np.repeat(np.arange(len(ns)), ns)
        idx = np.arange(len(burst))
        ts = ts_all[np.repeat(emit["start"].to_numpy() - offsets, ns) + idx]
        since = ts - ts[offsets][burst]  # time since the burst's first failure
        stride = int(since.max()) + window + 1
        if stride * len(ns) >= 1 << 62:  # bursts of years, by the thousand: never in practice
            return self._shapes_each(ts_all, emit)
        axis = burst * stride + since
        left = np.searchsorted(axis, axis - window, side="left")
        counts = idx + 1 - left
        peak = np.maximum.reduceat(counts, offsets)
        best = np.minimum.reduceat(np.where(counts == peak[burst], idx, len(idx)), offsets)
        warm = np.maximum(2, (threshold + 1) // 2)  # warm_level, vectorised
        warmed = np.minimum.reduceat(np.where(counts >= warm[burst], idx, len(idx)), offsets)
        keep = peak >= threshold
        # a burst that reached its threshold passed the warm level
        warmed = np.where(keep, warmed, offsets)
        first = np.searchsorted(axis, axis[warmed] - window, side="left")
        return (
            emit.select("seg", "kind", "key")
            .with_columns(
                peak=pl.Series(peak, dtype=pl.Int64),
                peak_start=pl.Series(ts[left[best]], dtype=pl.Int64),
                peak_end=pl.Series(ts[best], dtype=pl.Int64),
                first=pl.Series(ts[first], dtype=pl.Int64),
            )
            .filter(pl.Series(keep))
        )

    def _shapes_each(self, ts_all: npt.NDArray[np.int64], emit: pl.DataFrame) -> pl.DataFrame:
        """:meth:`_shapes` one burst at a time (for bursts too long to lay end to end)."""
        window = self.window
        kept: list[tuple[int, str, str, int, int, int, int]] = []
        for kind, key, seg, start, n in emit.select("kind", "key", "seg", "start", "n").iter_rows():
            ts = ts_all[start : start + n]
            peak, peak_start, peak_end = peak_in_window(ts, window)
            if peak < self.thresholds[kind]:
                continue
            warm = self.qualified_at(ts, warm_level(self.thresholds[kind]))
            assert warm is not None  # a chain that reached its threshold passed the warm level
            first = int(ts[np.searchsorted(ts, warm - window, side="left")])
            kept.append((seg, kind, key, peak, peak_start, peak_end, first))
        return pl.DataFrame(kept, schema={**BURST_SCHEMA, "first": pl.Int64()}, orient="row")

    def _retain(
        self, successes: pl.DataFrame, open_segs: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> pl.DataFrame:
        """Successes that a future or still-open burst may yet include; drop the rest."""
        if watermark is None or successes.height == 0:
            return successes.clear() if watermark is None else successes
        keep = (pl.col("ts") >= _watermark(watermark)).fill_null(True)
        if self.pending.height and successes.filter(~keep).height:
            # successes of keys still waiting in the pending buffer stay: they may warm up yet
            successes = successes.with_columns(waiting=self.pending.waiting_mask(successes))
            keep = keep | pl.col("waiting")
        if open_segs is not None and open_segs.height:
            starts = open_segs.group_by("kind", "key").agg(open_first=pl.col("first").min())
            joined = successes.join(starts, on=["kind", "key"], how="left")
            return joined.filter(keep | (pl.col("ts") >= pl.col("open_first"))).select(_ROW_COLUMNS)
        return successes.filter(keep).select(_ROW_COLUMNS)

    # -- checkpoint ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Column-oriented, JSON-ready state; timestamps stay integer microseconds."""
        return {
            "version": STATE_VERSION,
            "max_seen": self.max_seen,
            "seq": self.seq,
            "failures": self.failures.to_dict(as_series=False),
            "successes": self.successes.to_dict(as_series=False),
            "pending": self.pending.to_json(),
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported burst state version {state.get('version')!r}")
        self.max_seen = {str(path): int(seen) for path, seen in state["max_seen"].items()}
        self.seq = int(state["seq"])
        self.failures = pl.DataFrame(state["failures"], schema=ROW_SCHEMA)
        self.successes = pl.DataFrame(state["successes"], schema=ROW_SCHEMA)
        self.pending.load_json(state["pending"])

    @property
    def open_keys(self) -> int:
        """How many keys hold open failures (for tests and metrics)."""
        return int(self.failures.select(pl.struct("kind", "key").n_unique()).item()) if self.failures.height else 0
