"""What the windowed judges cite for the (window, key) groups that fire, from one sorted frame.

Why a module: judging used to sort, group and join the fired groups' rows once per question
(which failures to cite, how many were listed, which row anchors the finding, which successes
came from the same accounts or sources, the references themselves); each Polars call costs a
fraction of a millisecond even on a few rows, and a batch fires a dozen groups or more. Here the
rows are sorted once by (window, key, time, sequence), the judge's aggregate is taken over that
order, and the per-group answers are cumulative sums over it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.direct_columns import equals, integers, kept, picked, present
from watchhouse.detectors.accounts.reporting import event_refs
from watchhouse.detectors.accounts.sketches import among, hash_keys

#: the order evidence is cited in, and the order groups are judged in
GROUP_ORDER = ["win", "key", "ts", "seq"]


def in_group_order(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` sorted by (window, key, time, sequence); folded failures (no time or sequence,
    never cited) last in their group."""
    return rows.sort(GROUP_ORDER, nulls_last=True)


class Cited(NamedTuple):
    """The evidence of the fired groups, one entry per group in group order."""

    #: references per (window, key): the cited failures and the ``taken`` rows, in stream order
    refs: dict[tuple[Any, ...], tuple[EventRef, ...]]
    #: whole failures cited, and the evidence sides they were cut to
    listed: list[int]
    head: list[int]
    tail: list[int]
    #: where the first cited failure came from (``path:line``, or ``path:@offset``)
    anchor: list[str]
    #: the successes whose ``on`` value (account or source) also failed in the group (window,
    #: key, account)
    taken: pl.DataFrame

    def hits(self, agg: pl.DataFrame, fired: npt.NDArray[np.bool_]) -> list[dict[str, Any]]:
        """The ``fired`` rows of a judge's aggregate (one row per group, in group order), as the
        dicts its wording reads, with what it reads of the evidence: ``listed``, the sides
        ``head`` and ``tail``, ``anchor`` (added in Python: a few dozen rows a batch)."""
        rows = agg.filter(pl.Series(fired)).iter_rows(named=True)
        return [
            {**row, "listed": listed, "head": head, "tail": tail, "anchor": anchor}
            for row, listed, head, tail, anchor in zip(
                rows, self.listed, self.head, self.tail, self.anchor, strict=True
            )
        ]

    def taken_by_group(self) -> dict[tuple[Any, ...], list[str]]:
        """The accounts of :attr:`taken` per (window, key), in stream order, repeats kept."""
        by_group: dict[tuple[Any, ...], list[str]] = {}
        taken = self.taken
        for win, key, user in zip(taken["win"].to_list(), taken["key"].to_list(), taken["user"].to_list(), strict=True):
            by_group.setdefault((win, key), []).append(user)
        return by_group


def cite(
    rows: pl.DataFrame, lengths: npt.NDArray[np.int64], fired: npt.NDArray[np.bool_], *, on: str, cap: int | None
) -> Cited:
    """Evidence of the ``fired`` groups of ``rows`` (:func:`in_group_order`; ``lengths``: rows
    per group, in that order).

    A group cites its first ``evidence_head`` and last ``evidence_tail`` whole failures (all of
    them when there are no more; ``tests/detectors/accounts/evidence_reference.py`` keeps the
    per-group Polars reference it is held to), and the successes whose
    ``on`` value matches one of its failures' (null never matches); at most ``cap`` references
    per group."""
    mask = np.repeat(fired, lengths)
    part = rows if mask.all() else rows.filter(pl.Series(mask))
    sizes = lengths[fired].astype(np.int64)
    starts = np.cumsum(sizes) - sizes
    # column by column: a frame ``select`` costs a query plan each, these a Series pass each
    fail = equals(part["outcome"], "failure")
    whole = fail & present(part["seq"])
    # place of each whole failure among its group's, counted in stream order
    running = np.cumsum(whole, dtype=np.int64)
    place = running - 1 - np.repeat(running[starts] - whole[starts], sizes)
    count = np.add.reduceat(whole.astype(np.int64), starts)
    # a group's first row is whole (folded rows sort last), so it carries the group's sides
    head = integers(part["evidence_head"])[starts]
    tail = integers(part["evidence_tail"])[starts]
    cited = whole & ((place < np.repeat(head, sizes)) | (place >= np.repeat(count - tail, sizes)))
    listed = np.add.reduceat(cited.astype(np.int64), starts)
    positions = np.arange(part.height)
    first = np.minimum.reduceat(np.where(cited, positions, part.height), starts)
    group = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    taken = _taken(part[on], group, fail)
    cited |= taken
    fired_keys = zip(part["win"].to_numpy()[starts].tolist(), part["key"][starts].to_list(), strict=True)
    refs = dict(zip(fired_keys, _references(part, group[cited], cited, sizes.size, cap), strict=True))
    return Cited(
        refs=refs,
        listed=listed.tolist(),
        head=head.tolist(),
        tail=tail.tolist(),
        anchor=[
            f"{path}:{line if line is not None else f'@{offset}'}"
            for path, line, offset in zip(
                picked(part["path"], first),
                picked(part["line"], first),
                picked(part["offset"], first),
                strict=True,
            )
        ],
        taken=kept(part, ["win", "key", "user"], taken) if taken.any() else _NONE_TAKEN,
    )


#: what :attr:`Cited.taken` is when no success was taken
_NONE_TAKEN = pl.DataFrame(schema={"win": pl.Int64(), "key": pl.String(), "user": pl.String()})


def _references(
    part: pl.DataFrame, group: npt.NDArray[np.int64], cited: npt.NDArray[np.bool_], groups: int, cap: int | None
) -> list[tuple[EventRef, ...]]:
    """The references of the ``cited`` rows of ``part``, one tuple per group (``group``: the
    group of each cited row), at most ``cap`` each.

    Why no sort: ``part`` is in :func:`in_group_order` and a cited row is whole (it has a time
    and a unique sequence), so the cited rows are already in (group, time, sequence) order, the
    order evidence is listed in; each group's references are one slice of them. (Sorting and
    run-length grouping them again in Polars was a millisecond a batch.)"""
    shown = kept(part, ["path", "line", "offset"], cited)
    counts = np.bincount(group, minlength=groups)
    if cap is not None and group.size > cap:
        # the first ``cap`` of each group, by their place in it
        place = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = place < cap
        shown = shown.filter(pl.Series(keep))
        counts = np.minimum(counts, cap)
    refs = event_refs(shown)
    ends = np.cumsum(counts).tolist()
    return [tuple(refs[end - count : end]) for end, count in zip(ends, counts.tolist(), strict=True)]


def _taken(values: pl.Series, group: npt.NDArray[np.int64], fail: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Which successes hold a value (not null) that one of their group's failures holds too.

    Matched by (group, 64-bit hash of the value) in numpy, then each match is confirmed on the
    text itself (a hash collision must not make a success look taken): both sides are few."""
    valid = present(values)
    failed = fail & valid
    maybe = np.zeros(fail.size, dtype=bool)
    successes = np.flatnonzero(~fail & valid)
    if successes.size == 0 or not failed.any():
        return maybe  # nothing to match: no hashing (fired groups are nearly all failures)
    hashes = hash_keys(values)
    with np.errstate(over="ignore"):
        keyed = hashes ^ (group.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    # sorted lookups: ``np.isin`` sorted both sides together, most of this function's time
    maybe[successes[among(keyed[successes], keyed[failed])]] = True
    if not maybe.any():
        return maybe
    witnesses = np.flatnonzero(failed)
    witnesses = witnesses[among(keyed[witnesses], keyed[maybe])]
    seen = set(zip(group[witnesses].tolist(), values[witnesses].to_list(), strict=True))
    candidates = np.flatnonzero(maybe)
    for i, value in zip(candidates.tolist(), values[candidates].to_list(), strict=True):
        maybe[i] = (int(group[i]), value) in seen
    return maybe
