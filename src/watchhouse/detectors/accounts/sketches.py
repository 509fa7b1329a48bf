"""Approximate counters whose memory does not grow with the number of keys.

Why: an attack spread over millions of addresses would make exact per-key state grow without
bound, and the process would die exactly when it is most needed. A count-min sketch answers
"how many events for this key?" with an over-estimate only (never under), so a threshold test on
it never misses a key that crossed the threshold; a HyperLogLog answers "how many distinct
values?" within a few percent in a few kilobytes. Both are plain numpy arrays that merge by
element-wise ``+``/``max`` and serialise to JSON for checkpoints.

Keys are hashed with Polars' vectorised 64-bit hash under fixed seeds; Polars does not promise
that hash is stable across releases, so checkpoints record the Polars version and refuse to load
sketches written by another one.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

U64 = npt.NDArray[np.uint64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: odd multipliers, one per sketch row (a multiply-shift hash family)
_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)
HASH_VERSION = f"polars-{pl.__version__}"
#: largest byte table counted with ``np.bincount`` (its int64 counts are 8 bytes a cell, transient)
_BINCOUNT_CELLS = 1 << 21


def hash_keys(values: pl.Series | list[str]) -> U64:
    """64-bit hashes of string keys (nulls hash to a fixed value)."""
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return series.cast(pl.String).hash(seed=0x5EED).to_numpy().astype(np.uint64, copy=False)


def among(values: U64, pool: U64) -> npt.NDArray[np.bool_]:
    """Which of ``values`` occur in ``pool`` (not empty): one sort of the pool and a binary search
    per value, where ``np.isin`` sorted both together (its cost, with a large side, was most of
    the lookup)."""
    ordered = np.sort(pool)
    at = np.searchsorted(ordered, values).clip(max=ordered.size - 1)
    found: npt.NDArray[np.bool_] = ordered[at] == values
    return found


def _encode(array: npt.NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _decode(text: str, dtype: type[np.generic], shape: tuple[int, ...]) -> npt.NDArray[Any]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).reshape(shape).copy()


def _check_version(state: dict[str, Any]) -> None:
    if state.get("hash") != HASH_VERSION:
        raise ValueError(f"sketch hashed with {state.get('hash')!r}, this process hashes with {HASH_VERSION!r}")


class CountMinSketch:
    """Per-key counts in ``depth x 2**width_bits`` counters; estimates are never too low.

    With width ``w`` and ``N`` events counted, each estimate exceeds the truth by more than
    ``e * N / w`` with probability at most ``exp(-depth)``.

    ``small=True`` keeps one byte per counter, saturating at 255: for promotion tests that only
    ask "has this key reached a handful?", a sketch wide enough to tell ten million one-off keys
    apart then costs a quarter of the memory, and saturation never lowers an estimate below the
    small thresholds asked about.
    """

    def __init__(self, width_bits: int = 18, depth: int = 4, *, small: bool = False) -> None:
        if not 4 <= width_bits <= 30 or not 1 <= depth <= len(_MULTIPLIERS):
            raise ValueError("width_bits must lie in 4..30 and depth in 1..5")
        self.width_bits = width_bits
        self.depth = depth
        self.small = small
        self.table = np.zeros((depth, 1 << width_bits), dtype=np.uint8 if small else np.uint32)
        self.total = 0

    def _columns(self, hashes: U64) -> npt.NDArray[np.int64]:
        shift = np.uint64(64 - self.width_bits)
        with np.errstate(over="ignore"):
            mixed = (hashes[None, :] ^ (hashes[None, :] >> np.uint64(29))) * _MULTIPLIERS[: self.depth, None]
        return (mixed >> shift).astype(np.int64)

    def add(self, hashes: U64) -> None:
        """Count each hash once (repeat a hash to count it more often)."""
        if hashes.size == 0:
            return
        cols = self._columns(hashes)
        width = 1 << self.width_bits
        if self.small:
            # all rows in one pass over the flat table: this runs per epoch and window, on small
            # arrays, where a call per row cost more than the counting
            flat = (cols + (np.arange(self.depth, dtype=np.int64) << self.width_bits)[:, None]).ravel()
            table = self.table.reshape(-1)
            if flat.size * 8 >= table.size and table.size <= _BINCOUNT_CELLS:
                # many hashes for a small table: one counting pass over it beats sorting the hashes
                summed = np.bincount(flat, minlength=table.size)
                summed += table
                table[:] = np.minimum(summed, 255)
            else:
                cells, counts = np.unique(flat, return_counts=True)
                table[cells] = np.minimum(table[cells].astype(np.int64) + counts, 255).astype(np.uint8)
            self.total += int(hashes.size)
            return
        for row in range(self.depth):
            if hashes.size * 8 >= width:
                self.table[row] += np.bincount(cols[row], minlength=width).astype(np.uint32)
            else:
                np.add.at(self.table[row], cols[row], np.uint32(1))
        self.total += int(hashes.size)

    def estimate(self, hashes: U64) -> npt.NDArray[np.int64]:
        if hashes.size == 0:
            return np.zeros(0, dtype=np.int64)
        cols = self._columns(hashes)
        rows = np.arange(self.depth)[:, None]
        found: npt.NDArray[np.int64] = self.table[rows, cols].min(axis=0).astype(np.int64)
        return found

    def merge(self, other: CountMinSketch) -> None:
        if (other.width_bits, other.depth, other.small) != (self.width_bits, self.depth, self.small):
            raise ValueError("only sketches of the same shape merge")
        if self.small:
            self.table = np.minimum(self.table.astype(np.int64) + other.table, 255).astype(np.uint8)
        else:
            self.table += other.table
        self.total += other.total

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes)

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": HASH_VERSION,
            "width_bits": self.width_bits,
            "depth": self.depth,
            "small": self.small,
            "total": self.total,
            "table": _encode(self.table),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> CountMinSketch:
        _check_version(state)
        small = bool(state.get("small", False))
        sketch = cls(int(state["width_bits"]), int(state["depth"]), small=small)
        sketch.table = _decode(state["table"], np.uint8 if small else np.uint32, sketch.table.shape)
        sketch.total = int(state["total"])
        return sketch


class HyperLogLog:
    """Distinct-count estimate in ``2**precision`` one-byte registers (error ~1.04/sqrt(m))."""

    def __init__(self, precision: int = 12) -> None:
        if not 4 <= precision <= 18:
            raise ValueError("precision must lie in 4..18")
        self.precision = precision
        self.registers = np.zeros(1 << precision, dtype=np.uint8)

    def add(self, hashes: U64) -> None:
        if hashes.size == 0:
            return
        with np.errstate(over="ignore"):
            mixed = (hashes ^ (hashes >> np.uint64(31))) * _GOLDEN
        p = self.precision
        index = (mixed >> np.uint64(64 - p)).astype(np.int64)
        rest = (mixed << np.uint64(p)) | np.uint64(1 << (p - 1))  # sentinel bit bounds the rank
        # rank = leading zeros of the remaining bits + 1, via the float exponent (vectorised)
        top_bit = np.floor(np.log2(rest.astype(np.float64))).astype(np.int64)
        rank = np.clip(64 - top_bit, 1, 64 - p + 1).astype(np.uint8)
        np.maximum.at(self.registers, index, rank)

    def estimate(self) -> float:
        m = float(self.registers.size)
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / float(np.sum(np.ldexp(1.0, -self.registers.astype(np.int64))))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            return m * float(np.log(m / zeros))  # linear counting for small sets
        return raw

    def merge(self, other: HyperLogLog) -> None:
        if other.precision != self.precision:
            raise ValueError("only sketches of the same precision merge")
        np.maximum(self.registers, other.registers, out=self.registers)

    def to_json(self) -> dict[str, Any]:
        return {"hash": HASH_VERSION, "precision": self.precision, "registers": _encode(self.registers)}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> HyperLogLog:
        _check_version(state)
        sketch = cls(int(state["precision"]))
        sketch.registers = _decode(state["registers"], np.uint8, sketch.registers.shape)
        return sketch


class GrowingCountMin:
    """A count-min sketch that starts small and adds wider ones as it fills; estimates add up.

    Why: a sketch wide enough for a flood (millions of keys in one window) costs megabytes, and a
    batch of a quiet day touches hundreds of windows, each with a handful of keys; zeroing and
    faulting in a flood-sized table per window cost more than the detection. Here each window
    starts with room for what it was first given and, once a table holds more than a quarter of
    its width in counts, later counts go to a table four times wider (up to ``max_bits``).
    Estimates are the sum over the tables, so they are still never too low.
    """

    def __init__(self, max_bits: int, depth: int = 3, min_bits: int = 10) -> None:
        self.max_bits = max_bits
        self.min_bits = min_bits
        self.depth = depth
        self.parts: list[CountMinSketch] = []

    def add(self, hashes: U64) -> None:
        if hashes.size == 0:
            return
        last = self.parts[-1] if self.parts else None
        if last is None or (last.width_bits < self.max_bits and (last.total + hashes.size) * 4 > 1 << last.width_bits):
            total = (last.total if last is not None else 0) + int(hashes.size)
            bits = min(self.max_bits, max(self.min_bits, int(total * 16).bit_length()))
            last = CountMinSketch(bits, self.depth, small=True)
            self.parts.append(last)
        last.add(hashes)

    def estimate(self, hashes: U64) -> npt.NDArray[np.int64]:
        found = np.zeros(hashes.size, dtype=np.int64)
        for part in self.parts:
            found += part.estimate(hashes)
        return found

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_bits": self.max_bits,
            "min_bits": self.min_bits,
            "depth": self.depth,
            "parts": [p.to_json() for p in self.parts],
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> GrowingCountMin:
        sketch = cls(int(state["max_bits"]), int(state["depth"]), int(state["min_bits"]))
        sketch.parts = [CountMinSketch.from_json(p) for p in state["parts"]]
        return sketch


class GrowingBloom:
    """ "Seen this key before?" in bits, growing like :class:`GrowingCountMin`; never a false no.

    Why next to the count-min: under a flood of one-off keys the question a promotion test asks
    first is whether a key was seen at all, and a byte counter answers it at an eighth of the
    density of a bit. Ten million one-off keys fill three rows of 2**23 byte counters to about
    70%, and a third of the new keys then look like repeats; about the same bytes as Bloom filters
    of up to 2**27 bits with four probes say "seen" wrongly for about 1% of them. A key the filter
    has not seen has a true count of zero, so ``estimate = seen ? count-min : 0`` stays an
    over-estimate.
    """

    def __init__(self, max_bits: int, probes: int = 4, min_bits: int = 13) -> None:
        if not 8 <= min_bits <= max_bits <= 34 or not 1 <= probes <= len(_MULTIPLIERS):
            raise ValueError("bits must lie in 8..34 (min <= max) and probes in 1..5")
        self.max_bits = max_bits
        self.min_bits = min_bits
        self.probes = probes
        self.parts: list[tuple[int, npt.NDArray[np.uint8]]] = []  # (bits, packed bit table)
        self.total = 0

    def _cells(self, hashes: U64, bits: int) -> npt.NDArray[np.int64]:
        shift = np.uint64(64 - bits)
        with np.errstate(over="ignore"):
            mixed = (hashes[None, :] ^ (hashes[None, :] >> np.uint64(31))) * _MULTIPLIERS[: self.probes, None]
        return (mixed >> shift).astype(np.int64)

    def add(self, hashes: U64) -> None:
        if hashes.size == 0:
            return
        self.total += int(hashes.size)
        # a table stays below one key per sixteen bits (a quarter of its bits set at four probes,
        # 0.25% false "seen"); past that, later keys go to a wider one
        if not self.parts or (self.parts[-1][0] < self.max_bits and self.total * 16 > 1 << self.parts[-1][0]):
            bits = min(self.max_bits, max(self.min_bits, int(self.total * 64).bit_length()))
            self.parts.append((bits, np.zeros(1 << (bits - 3), dtype=np.uint8)))
        bits, table = self.parts[-1]
        cells = self._cells(hashes, bits).ravel()
        np.bitwise_or.at(table, cells >> 3, (1 << (cells & 7)).astype(np.uint8))

    def contains(self, hashes: U64) -> npt.NDArray[np.bool_]:
        found = np.zeros(hashes.size, dtype=bool)
        for bits, table in self.parts:
            cells = self._cells(hashes, bits)
            found |= ((table[cells >> 3] >> (cells & 7)) & 1).astype(bool).all(axis=0)
        return found

    @property
    def nbytes(self) -> int:
        return sum(int(t.nbytes) for _, t in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": HASH_VERSION,
            "max_bits": self.max_bits,
            "min_bits": self.min_bits,
            "probes": self.probes,
            "total": self.total,
            "parts": [{"bits": b, "table": _encode(t)} for b, t in self.parts],
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> GrowingBloom:
        _check_version(state)
        bloom = cls(int(state["max_bits"]), int(state["probes"]), int(state["min_bits"]))
        bloom.total = int(state["total"])
        bloom.parts = [
            (int(p["bits"]), _decode(p["table"], np.uint8, (1 << (int(p["bits"]) - 3),))) for p in state["parts"]
        ]
        return bloom
