"""Each account's last placed login, which the impossible-travel test compares the next one with.

Why not a Polars frame: the table was one, of (account, time, country, address), and every
batch rebuilt it: gathering the three strings of each account's latest login, then filtering and
concatenating the frame, cost more than the travel test itself. Here the numbers the test reads
(account hash, time, country hash) are numpy arrays sorted by account hash, merged with one
binary search; the strings are not copied at all. Each entry points at its row of the batch of
logins it came from (a *generation*, three columns shared with that batch), which is kept while
some entry still points into it. When generations pile up, or hold many more rows than there are
entries, the rows still pointed at are gathered into one, so memory stays proportional to the
accounts remembered.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import U64, hash_keys

I64 = npt.NDArray[np.int64]
#: the table as a checkpoint holds it (one row per account); the login's place in its file
#: (``prev_path``, ``prev_line``, ``prev_offset``) came later, and is null when restoring a
#: checkpoint written before it
LAST_SCHEMA: dict[str, pl.DataType] = {
    "user": pl.String(),
    "prev_ts": pl.Int64(),
    "prev_country": pl.String(),
    "prev_ip": pl.String(),
    "prev_path": pl.String(),
    "prev_line": pl.Int64(),
    "prev_offset": pl.Int64(),
}
#: the columns a generation keeps, named as in the logins they come from, with their types: the
#: names, and where the login stands in its file, so a hop from it can cite it as evidence
NAME_SCHEMA: dict[str, pl.DataType] = {
    "user": pl.String(),
    "country": pl.String(),
    "ip": pl.String(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
}
NAMES = tuple(NAME_SCHEMA)


class LastLogins:
    """Per account hash: the time, country hash and (by reference) names of its last login."""

    #: generations kept before the rows still pointed at are gathered into one
    MAX_GENERATIONS = 8
    #: rows the generations may hold beyond four per entry before they are gathered too (a batch
    #: of many logins by few accounts must not be kept whole for their sake)
    SLACK_ROWS = 100_000

    def __init__(self) -> None:
        self.users: U64 = np.zeros(0, dtype=np.uint64)
        self.ts: I64 = np.zeros(0, dtype=np.int64)
        self.countries: U64 = np.zeros(0, dtype=np.uint64)
        self._gen: I64 = np.zeros(0, dtype=np.int64)
        self._row: I64 = np.zeros(0, dtype=np.int64)
        self._frames: dict[int, pl.DataFrame] = {}
        self._next = 0

    def __len__(self) -> int:
        return int(self.users.size)

    def find(self, accounts: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """For each of ``accounts``: its entry's index and whether it has one."""
        if self.users.size == 0:
            return np.zeros(accounts.size, dtype=np.intp), np.zeros(accounts.size, dtype=bool)
        at = np.minimum(np.searchsorted(self.users, accounts), self.users.size - 1)
        found: npt.NDArray[np.bool_] = self.users[at] == accounts
        return at, found

    def merge(
        self,
        accounts: U64,
        ts: I64,
        countries: U64,
        logins: pl.DataFrame,
        rows: I64,
        *,
        found: tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]] | None = None,
    ) -> None:
        """Remember, for each of ``accounts`` (sorted, distinct), its login at row ``rows`` of
        ``logins`` (which has the :data:`NAMES` columns), unless a later one is remembered (one
        at the same time is replaced: the batch's came later in the stream). ``found`` is
        :meth:`find`'s answer for ``accounts`` when the caller has it already."""
        gen = self._next
        self._next += 1
        at, hit = self.find(accounts) if found is None else found
        newer = hit.copy()
        if hit.any():
            newer[hit] = ts[hit] >= self.ts[at[hit]]
        if newer.any():
            where = at[newer]
            self.ts[where], self.countries[where] = ts[newer], countries[newer]
            self._gen[where], self._row[where] = gen, rows[newer]
        fresh = ~hit
        if fresh.any():
            # where the new accounts land in the merged table, worked out once for all five arrays
            # (``np.insert`` per array cost more than the rest of the merge)
            land = np.searchsorted(self.users, accounts[fresh]) + np.arange(int(fresh.sum()))
            old = np.ones(self.users.size + land.size, dtype=bool)
            old[land] = False
            gens = np.full(land.size, gen, dtype=np.int64)
            self.users, self.ts, self.countries, self._gen, self._row = (
                _spliced(table, old, land, added)
                for table, added in (
                    (self.users, accounts[fresh]),
                    (self.ts, ts[fresh]),
                    (self.countries, countries[fresh]),
                    (self._gen, gens),
                    (self._row, rows[fresh]),
                )
            )
        if newer.any() or fresh.any():
            self._frames[gen] = pl.DataFrame([logins[name] for name in NAMES])  # shared, not copied
            self._prune()

    def expire(self, horizon: int) -> None:
        """Forget logins before ``horizon``."""
        keep = self.ts >= horizon
        if not keep.all():
            self.users, self.ts, self.countries = self.users[keep], self.ts[keep], self.countries[keep]
            self._gen, self._row = self._gen[keep], self._row[keep]
            self._prune()

    def _prune(self) -> None:
        """Drop the generations no entry points into; gather the rest into one when too many."""
        if not self._frames:
            return
        low = min(self._frames)
        used = np.bincount(self._gen - low, minlength=self._next - low)
        self._frames = {gen: frame for gen, frame in self._frames.items() if used[gen - low]}
        held = sum(frame.height for frame in self._frames.values())
        if len(self._frames) > self.MAX_GENERATIONS or held > 4 * self.users.size + self.SLACK_ROWS:
            every = np.arange(self.users.size)
            frame = self._names(every)
            self._frames = {self._next: frame} if frame.height else {}
            self._gen = np.full(self.users.size, self._next, dtype=np.int64)
            self._row = every.astype(np.int64)
            self._next += 1

    def _names(self, entries: npt.NDArray[np.intp]) -> pl.DataFrame:
        """The :data:`NAMES` of ``entries``, in their order (one gather per generation)."""
        if entries.size == 0:
            return pl.DataFrame(schema=NAME_SCHEMA)
        gens = self._gen[entries]
        order = np.argsort(gens, kind="stable")
        parts = [
            self._frames[int(gen)][self._row[entries[order][gens[order] == gen]]] for gen in np.unique(gens[order])
        ]
        gathered = pl.concat(parts) if len(parts) > 1 else parts[0]
        back: pl.DataFrame = gathered[np.argsort(order)]
        return back

    def row(self, entry: int) -> dict[str, Any]:
        """Entry ``entry`` as a row of :data:`LAST_SCHEMA` (for wording a finding: read alone,
        a gather and its conversion cost more)."""
        user, country, ip, path, line, offset = self._frames[int(self._gen[entry])].row(int(self._row[entry]))
        return {
            "user": user,
            "prev_ts": int(self.ts[entry]),
            "prev_country": country,
            "prev_ip": ip,
            "prev_path": path,
            "prev_line": line,
            "prev_offset": offset,
        }

    def to_json(self) -> dict[str, Any]:
        names = self._names(np.arange(self.users.size))
        frame = names.select(
            "user",
            prev_ts=pl.Series(self.ts, dtype=pl.Int64),
            prev_country="country",
            prev_ip="ip",
            prev_path="path",
            prev_line="line",
            prev_offset="offset",
        )
        return frame.sort("user").to_dict(as_series=False)

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> LastLogins:
        rows = len(state["user"])
        frame = pl.DataFrame({name: state.get(name, [None] * rows) for name in LAST_SCHEMA}, schema=LAST_SCHEMA)
        users = hash_keys(frame["user"])
        order = np.argsort(users, kind="stable")
        out = cls()
        out.merge(
            users[order],
            frame["prev_ts"].to_numpy()[order],
            hash_keys(frame["prev_country"])[order],
            frame.select(
                "user", country="prev_country", ip="prev_ip", path="prev_path", line="prev_line", offset="prev_offset"
            ),
            order.astype(np.int64),
        )
        return out


def _spliced(
    table: npt.NDArray[Any], old: npt.NDArray[np.bool_], land: npt.NDArray[np.intp], added: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """``table`` with ``added`` inserted so that they land at positions ``land`` (``old`` marks
    the positions the table's own entries take)."""
    out = np.empty(old.size, dtype=table.dtype)
    out[old] = table
    out[land] = added
    return out
