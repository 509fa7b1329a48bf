"""Failures of keys that are not warm yet: held once per event, counted in sketches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND, KEY_SEP, ROW_SCHEMA, keyed, warm_level
from watchhouse.detectors.accounts.eventtime import compacted
from watchhouse.detectors.accounts.grouping import ordered_groups
from watchhouse.detectors.accounts.sketches import U64, GrowingCountMin, hash_keys

#: one row per admitted failure waiting in :class:`PendingFailures` (the event, not yet keyed)
PENDING_SCHEMA: dict[str, pl.DataType] = {
    name: dtype for name, dtype in ROW_SCHEMA.items() if name not in ("kind", "key")
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

    def file_watermark(self, watermarks: Mapping[str, int]) -> pl.Expr:
        """Each coded row's file watermark (null for a file with none yet)."""
        marks = {self.codes[path]: mark for path, mark in watermarks.items() if path in self.codes}
        if not marks:
            return pl.lit(None, dtype=pl.Int64)
        return self._code("path").replace_strict(marks, default=None, return_dtype=pl.Int64)

    def settled(self, watermarks: Mapping[str, int]) -> bool:
        """Whether nothing waits here, forgetting the waiting rows if every one has expired (what
        :meth:`admit` would do with them). Why ask: the tracker holds failures exactly while it
        holds few and none wait (see :data:`.burst_tracker.EXACT_LIMIT`), and expiring them only in
        :meth:`admit` would keep a stream that once had a flood on the costlier path for good."""
        if not self.chunks:
            return True
        if not watermarks:
            return False
        newest = max(int(chunk["ts"].max()) for chunk in self.chunks)  # type: ignore[arg-type]
        if newest >= min(watermarks.values()) - self.window:
            return False
        self.chunks = []
        self._names = None
        return True

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
            keyed(flagged.filter(~pl.col("ip_wait") & pl.col("ip").is_not_null()), kinds=(IP_KIND,)),
            keyed(flagged.filter(~pl.col("account_wait") & pl.col("user").is_not_null()), kinds=(ACCOUNT_KIND,)),
        ]
        kept: list[pl.DataFrame] = []
        new = self._coded(flagged)
        flags["expired"] = (pl.col("ts") < self.file_watermark(watermarks) - self.window).fill_null(False)
        for chunk in [*self.chunks, new]:
            marks = chunk.select(**flags)
            pull_ip, pull_account, expired = marks["pull_ip"], marks["pull_account"], marks["expired"]
            if pull_ip.any():
                moved.append(keyed(self._decoded(chunk.filter(pull_ip)), kinds=(IP_KIND,)))
            if pull_account.any():
                moved.append(keyed(self._decoded(chunk.filter(pull_account)), kinds=(ACCOUNT_KIND,)))
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
