"""The slow brute force detector's table of single failures: one fixed-size hashed numpy table.

Why a table and not a dict: under a flood of ten million addresses each failing once, a Python
record per address costs gigabytes; here each slot costs 36 bytes (six numpy arrays) whatever
happens. An address
with a single failure is kept here until its next failure shows whether the two are paced; only
then does it become an exact run (:mod:`.slow_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import _decode, _encode

#: a missing line or offset in the numpy table
NONE = -1
#: the columns of a failure as :meth:`Sightings.rows` gives them (and :mod:`.slow_runs` keeps them)
FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "account": pl.UInt32(),
    "user": pl.String(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
}


class Sightings:
    """The last failure of addresses seen failing once, in a fixed hashed table (numpy arrays).

    A slot is chosen by the address hash and holds a 32-bit fingerprint of it (0 = empty); a newer
    failure of another address in the same slot replaces the older one, which only delays
    detection of that address by one attempt. The account is kept as a hash, so its name is not
    shown for this one failure (its line is in the evidence)."""

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
        # one array per field, not one array of 36-byte records: numpy's gathers and scatters
        # into a record's fields (strided, unaligned) measured twice as slow
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

    def path_code(self, path: str) -> int:
        """The small integer code of a file path (a table slot stores the code, not the text)."""
        code = self._path_index.get(path)
        if code is None:
            code = self._path_index[path] = len(self.paths)
            self.paths.append(path)
        return code

    def path_codes(self, paths: pl.Series) -> npt.NDArray[np.int32]:
        """Codes of many file paths (a batch has one or a few distinct paths)."""
        for path in paths.unique(maintain_order=True).to_list():
            self.path_code(path)
        codes = paths.replace_strict(self._path_index, return_dtype=pl.Int32)
        return codes.to_numpy().astype(np.int32, copy=False)

    def write(
        self,
        slot: npt.NDArray[np.int64],
        fp: npt.NDArray[np.uint32],
        account: npt.NDArray[np.uint32],
        path: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        line: npt.NDArray[np.int64],
        offset: npt.NDArray[np.int64],
    ) -> None:
        """Store failures in ``slot`` with their address fingerprints ``fp`` (path codes from
        :meth:`path_code`, :data:`NONE` for a missing line or offset); later ones win a shared
        slot, as if written one after another."""
        self.fp[slot] = fp
        self.account[slot] = account
        self.path[slot] = path
        self.ts[slot] = ts
        self.line[slot] = line
        self.offset[slot] = offset

    def rows(self, slot: npt.NDArray[np.int64]) -> pl.DataFrame:
        """The failures in ``slot`` as rows (:data:`FAILURE_SCHEMA`; the account's name unknown)."""
        return self.take(slot).rows()

    def take(self, slot: npt.NDArray[np.int64]) -> Sighted:
        """The failures in ``slot``, copied out: the table may be rewritten before they are read."""
        return Sighted(
            self.ts[slot], self.account[slot], self.path[slot], self.line[slot], self.offset[slot], self.paths
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


@dataclass(frozen=True, slots=True)
class Sighted:
    """Single failures taken out of the table: the run rule reads their times and accounts, and
    only the few that a finding cites or a run keeps are made rows (:meth:`rows`)."""

    ts: npt.NDArray[np.int64]
    account: npt.NDArray[np.uint32]
    path: npt.NDArray[np.int32]
    line: npt.NDArray[np.int64]
    offset: npt.NDArray[np.int64]
    paths: list[str]  # the table's path names, by code

    def rows(self, at: npt.NDArray[np.int64] | None = None) -> pl.DataFrame:
        """Failures ``at`` (all by default) as rows (:data:`FAILURE_SCHEMA`; the account's name unknown)."""
        pick = slice(None) if at is None else at
        line, offset, codes = self.line[pick], self.offset[pick], self.path[pick]
        size = codes.size
        if len(self.paths) == 1 or size == 0:
            path = _repeat(self.paths[0] if self.paths else "", size)
        else:
            path = pl.Series(self.paths, dtype=pl.String)[codes]
        return pl.DataFrame(
            [
                pl.Series("ts", self.ts[pick]),
                pl.Series("account", self.account[pick]),
                _repeat(None, size).alias("user"),
                path.alias("path"),
                _nullable("line", line),
                _nullable("offset", offset),
            ]
        )


def _repeat(value: str | None, size: int) -> pl.Series:
    """A string column of ``size`` times ``value``. Why not ``pl.repeat``: it runs a query
    (~60 us in the pinned Polars), and the table is read a few times every batch."""
    return pl.Series([value], dtype=pl.String).new_from_index(0, size)


def _nullable(name: str, values: npt.NDArray[np.int64]) -> pl.Series:
    """``values`` as an Int64 column with :data:`NONE` read as missing."""
    series = pl.Series(name, values, dtype=pl.Int64)
    missing = values == NONE
    return series.set(pl.Series(missing), None) if missing.any() else series
