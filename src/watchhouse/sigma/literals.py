"""All literal leaves of one column answered by one multi-pattern scan of its distinct values.

Why: a SigmaHQ Windows pack tests ``CommandLine`` alone against ~15,000 literals. One Polars
expression per literal meant one column pass and one planner round per test (seconds per
batch). Here every literal of a column goes into one automaton, compiled once per pack, and each
*distinct* value of the column is scanned once per batch: Windows logs repeat images, parents,
channels and users endlessly, so a batch of tens of thousands of rows has far fewer distinct
values. The answer comes back as (distinct value, pattern) pairs, which the evaluator spreads to
rows through the values' codes.

Engines: Hyperscan (compiled database cached on disk by :func:`compile_database`, one scan per
value with single-match patterns so a pattern is reported once per value however often it
occurs) where the package is importable, else Polars' Aho-Corasick ``extract_many``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from watchhouse.detectors.web.engines import EngineName, compile_database, resolve_engine
from watchhouse.sigma.compiler import SENTINEL_STANDIN, VALUE_END, VALUE_START, Literal

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
#: characters that make caseless ASCII scanning differ from lower-casing (see ``raw_pairs``)
_CASE_UNSAFE = f"[{VALUE_START}{VALUE_END}\u0130\u212a]"


def wrap_values(values: pl.Series, *, cased: bool, bare: bool = False) -> pl.Series:
    """Distinct values as the patterns expect them: lower-cased unless cased, sentinel-wrapped
    unless ``bare`` (rule regexes search the value itself)."""
    text = pl.col(values.name)
    if not cased:
        text = text.str.to_lowercase()
    if not bare:
        stand_in = text.str.replace_all(f"[{VALUE_START}{VALUE_END}]", SENTINEL_STANDIN)
        text = pl.concat_str([pl.lit(VALUE_START), stand_in, pl.lit(VALUE_END)])
    # one ``select``: each Series operation would be a query of its own, and a pack has
    # hundreds of small columns per batch
    return values.to_frame().select(text.alias(values.name)).to_series()


class LiteralMatcher(ABC):
    """Which of ``literals`` occur in which values; built once per column of a pack."""

    def __init__(self, literals: Sequence[Literal]) -> None:
        self.literals = list(literals)

    @abstractmethod
    def pairs(self, wrapped: pl.Series) -> tuple[Ints, Ints]:
        """(value index, pattern index) for every pattern occurring in a value (a pair may repeat)."""

    def raw_pairs(self, values: pl.Series) -> tuple[Ints, Ints] | None:
        """:meth:`pairs` of the values as they are (not lower-cased, not wrapped), where this
        matcher can answer exactly that way; None where the caller must wrap them."""
        return None


class PolarsLiteralMatcher(LiteralMatcher):
    """Aho-Corasick over all literals (the automaton is rebuilt per call, tens of ms when large);
    wildcard patterns, valid Rust regex syntax too, run one ``str.contains`` each. Rule regexes
    (``search``) are not taken: they stay Polars expressions of their own."""

    def __init__(self, literals: Sequence[Literal]) -> None:
        super().__init__(literals)
        if any(x.search for x in literals):
            raise ValueError("rule regexes are evaluated as expressions on this engine")
        plain = [i for i, x in enumerate(literals) if not x.regex]
        self._regex = [(i, "(?s)" + x.pattern) for i, x in enumerate(literals) if x.regex]
        self._index = pl.DataFrame(
            {"pattern": [literals[i].pattern for i in plain], "id": np.asarray(plain, dtype=np.int64)},
            schema={"pattern": pl.String, "id": pl.Int64},
        )
        self._implode = self._index["pattern"].implode()

    def pairs(self, wrapped: pl.Series) -> tuple[Ints, Ints]:
        values: list[Ints] = []
        ids: list[Ints] = []
        if len(self._index):
            found = wrapped.str.extract_many(self._implode, overlapping=True)
            frame = (
                pl.DataFrame({"value": np.arange(len(wrapped), dtype=np.int64), "pattern": found})
                .explode("pattern")
                .drop_nulls("pattern")
                .join(self._index, on="pattern")
            )
            values.append(frame["value"].to_numpy())
            ids.append(frame["id"].to_numpy())
        for pattern_id, pattern in self._regex:
            rows = np.flatnonzero(wrapped.str.contains(pattern).fill_null(False).to_numpy())
            values.append(rows.astype(np.int64))
            ids.append(np.full(len(rows), pattern_id, dtype=np.int64))
        if not values:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(values), np.concatenate(ids)


def _hyperscan_flags(literal: Literal) -> int:
    import hyperscan as hs

    if not literal.regex:
        return int(hs.HS_FLAG_SINGLEMATCH)
    if not literal.search:  # a wildcard value: Sigma's ``*`` spans newlines
        return int(hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_DOTALL | hs.HS_FLAG_UTF8)
    flags = hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_UTF8 | hs.HS_FLAG_UCP | hs.HS_FLAG_ALLOWEMPTY
    for letter, flag in (("i", hs.HS_FLAG_CASELESS), ("m", hs.HS_FLAG_MULTILINE), ("s", hs.HS_FLAG_DOTALL)):
        if letter in literal.flags:
            flags |= flag
    return int(flags)


def _expression(literal: Literal) -> str:
    return literal.pattern if literal.regex else "".join(f"\\x{b:02x}" for b in literal.pattern.encode())


@functools.lru_cache(maxsize=4096)
def hyperscan_accepts(literal: Literal) -> bool:
    """Whether Hyperscan compiles this pattern; rule regexes may use what it lacks (lookaround)."""
    import hyperscan as hs

    try:
        hs.Database(mode=hs.HS_MODE_BLOCK).compile(
            expressions=[_expression(literal).encode()], flags=[_hyperscan_flags(literal)]
        )
    except hs.error:
        return False
    return True


class HyperscanLiteralMatcher(LiteralMatcher):
    """One Hyperscan block database, single-match per scanned value.

    Literals are byte-escaped; wildcard values (``regex`` true) are already Hyperscan syntax and
    run in UTF-8 mode so ``?`` is one character (newlines included, as Sigma's wildcards must).
    """

    def __init__(self, literals: Sequence[Literal], *, joined: bool = False) -> None:
        """``joined``: scan all values in one call (see :meth:`_pairs_joined`)."""
        super().__init__(literals)
        if joined and any(x.search for x in literals):
            raise ValueError("rule regexes search bare values and cannot be scanned joined")
        flags = [_hyperscan_flags(x) for x in literals]
        if joined:
            import hyperscan as hs

            flags = [f & ~hs.HS_FLAG_SINGLEMATCH for f in flags]
        self._joined = joined
        expressions = [_expression(x) for x in literals]
        self._db = compile_database(expressions, flags)
        self._caseless = None
        if joined and literals and not any(x.cased for x in literals) and all(x.pattern.isascii() for x in literals):
            import hyperscan as hs

            self._caseless = compile_database(expressions, [f | hs.HS_FLAG_CASELESS for f in flags])

    def raw_pairs(self, values: pl.Series) -> tuple[Ints, Ints] | None:
        """Case-insensitive ASCII patterns, joined scan, over the values as they are.

        Why: lower-casing and wrapping the keyword text (the whole EventData of every event, tens
        of MB per batch) cost more than scanning it. Hyperscan's caseless mode folds ASCII only,
        which equals matching the lower-cased text for ASCII patterns unless a value holds a
        character whose lower case is (or holds) an ASCII letter: U+0130 (to "i" plus a combining
        dot, one character more for ``?``) and U+212A (Kelvin sign, to "k"). Such values, and
        values holding a sentinel, send the batch down the exact wrapped path instead.
        """
        if self._caseless is None or values.str.contains(_CASE_UNSAFE).any():
            return None
        lengths = values.str.len_bytes().to_numpy().astype(np.int64) + 2
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
        separator = (VALUE_END + VALUE_START).encode()
        blob = VALUE_START.encode() + separator.join(values.cast(pl.Binary).to_list()) + VALUE_END.encode()
        return self._scan_joined(self._caseless, blob, starts)

    def pairs(self, wrapped: pl.Series) -> tuple[Ints, Ints]:
        if self._joined:
            return self._pairs_joined(wrapped)
        values: list[int] = []
        ids: list[int] = []
        at = 0

        def on_match(pattern: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            values.append(at)
            ids.append(pattern)

        scan = self._db.scan
        for at, blob in enumerate(wrapped.cast(pl.Binary).to_list()):  # noqa: B007 - read by on_match
            scan(blob, match_event_handler=on_match)
        return np.asarray(values, dtype=np.int64), np.asarray(ids, dtype=np.int64)

    def _pairs_joined(self, wrapped: pl.Series) -> tuple[Ints, Ints]:
        """One scan over all wrapped values joined end to end; match ends map back to values.

        Why: for long, mostly distinct values (the keyword full text) one Python call per value
        costs more than the scan. Exact because patterns never cross a value's sentinels:
        literals contain none, wildcards are ``[^sentinels]``, and each value's own sentinels
        were replaced. Without single-match every occurrence calls back, so this suits pattern
        sets that rarely match (keywords), and pairs are de-duplicated.
        """
        lengths = wrapped.str.len_bytes().to_numpy().astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) else lengths
        return self._scan_joined(self._db, b"".join(wrapped.cast(pl.Binary).to_list()), starts)

    @staticmethod
    def _scan_joined(database: Any, blob: bytes, starts: Ints) -> tuple[Ints, Ints]:
        """(value, pattern) pairs of one scan over values joined end to end from ``starts``."""
        ends: list[int] = []
        ids: list[int] = []

        def on_match(pattern: int, _start: int, end: int, _flags: int, _context: object) -> None:
            ends.append(end)
            ids.append(pattern)

        database.scan(blob, match_event_handler=on_match)
        if not ends:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        value_at = np.searchsorted(starts, np.asarray(ends, dtype=np.int64) - 1, side="right") - 1
        pairs = np.unique(np.stack([value_at, np.asarray(ids, dtype=np.int64)]), axis=1)
        return pairs[0].astype(np.int64), pairs[1].astype(np.int64)


class SplitLiteralMatcher(LiteralMatcher):
    """Hyperscan value by value for a few values; for many, Polars' Aho-Corasick over the plain
    literals (one vectorised call) and one joined Hyperscan scan for the wildcard values.

    Why: Python drives Hyperscan with one call per value and one callback per match. A column of
    thousands of distinct command lines, each matching ~20 of ~9,000 literals (``.exe``,
    ``\\system32``, a digit), spends most of its scan time in those callbacks, and a column of
    unique logon ids in the calls. The automaton instead costs its build (about a microsecond per
    pattern) once per call, so it takes over from ``bulk_from`` values on.
    """

    def __init__(self, literals: Sequence[Literal], bulk_from: int | None = None) -> None:
        super().__init__(literals)
        self._each = HyperscanLiteralMatcher(literals)
        self._plain = np.asarray([i for i, x in enumerate(literals) if not x.regex], dtype=np.int64)
        self._other = np.asarray([i for i, x in enumerate(literals) if x.regex], dtype=np.int64)
        # rule regexes (``search``) read bare values one by one: such a group never goes bulk
        bulk = len(self._plain) and not any(x.search for x in literals)
        self._bulk = PolarsLiteralMatcher([literals[i] for i in self._plain]) if bulk else None
        self._rest: HyperscanLiteralMatcher | None = None  # compiled on first bulk use
        self.bulk_from = max(256, len(self._plain) // 8) if bulk_from is None else bulk_from

    def pairs(self, wrapped: pl.Series) -> tuple[Ints, Ints]:
        if self._bulk is None or len(wrapped) < self.bulk_from:
            return self._each.pairs(wrapped)
        values, ids = self._bulk.pairs(wrapped)
        if not len(self._other):
            return values, self._plain[ids]
        if self._rest is None:  # wildcards stay within a value's sentinels: one joined scan
            self._rest = HyperscanLiteralMatcher([self.literals[i] for i in self._other], joined=True)
        more, more_ids = self._rest.pairs(wrapped)
        return np.concatenate([values, more]), np.concatenate([self._plain[ids], self._other[more_ids]])


@functools.lru_cache(maxsize=64)
def _needle_database(needles: tuple[str, ...]) -> Any:
    import hyperscan as hs

    expressions = ["".join(f"\\x{b:02x}" for b in n.encode()) for n in needles]
    return compile_database(expressions, [int(hs.HS_FLAG_CASELESS)] * len(needles))


def holding(texts: pl.Series, needles: tuple[str, ...], engine: EngineName | str = EngineName.AUTO) -> Mask:
    """Which texts hold one of ``needles``, ASCII case aside (null texts hold none).

    A prefilter: it may also flag a text that a needle only straddles the start of, never miss
    one. Hyperscan scans the column's character data as it lies in memory, in one call, and
    reports each occurrence; a needle that occurs everywhere would mean a callback per
    occurrence, so past a bound the scan stops and Polars' Aho-Corasick answers instead.
    """
    if not needles or not len(texts):
        return np.zeros(len(texts), dtype=np.bool_)
    if resolve_engine(engine) is EngineName.HYPERSCAN:
        found = _scan_column(texts, _needle_database(needles))
        if found is not None:
            return found
    return texts.str.contains_any(list(needles), ascii_case_insensitive=True).fill_null(False).to_numpy()


def _scan_column(texts: pl.Series, database: Any) -> Mask | None:
    import hyperscan as hs

    array = texts.rechunk().to_arrow().cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    out = np.zeros(len(texts), dtype=np.bool_)
    if data is None or offsets[-1] == offsets[0]:
        return out
    ends: list[int] = []
    limit = 4 * len(texts) + 1024

    def on_match(_pattern: int, _start: int, end: int, _flags: int, _context: object) -> bool:
        ends.append(end)
        return len(ends) > limit

    try:
        database.scan(memoryview(data)[int(offsets[0]) : int(offsets[-1])], match_event_handler=on_match)
    except hs.ScanTerminated:
        return None
    if ends:
        at = np.asarray(ends, dtype=np.int64) - 1 + offsets[0]
        out[np.searchsorted(offsets, at, side="right") - 1] = True
    return out


def takes(literal: Literal, engine: EngineName) -> bool:
    """Whether ``engine``'s matcher answers this literal (else its leaf stays an expression)."""
    if not literal.search:
        return True
    return engine is EngineName.HYPERSCAN and hyperscan_accepts(literal)


def literal_matcher(
    literals: Sequence[Literal], engine: EngineName | str = EngineName.AUTO, *, joined: bool = False
) -> LiteralMatcher:
    """A matcher for ``literals`` (all accepted by :func:`takes`) on the chosen engine; ``joined``
    (Hyperscan only, no rule regexes) scans all values of a batch in one call."""
    if resolve_engine(engine) is EngineName.HYPERSCAN:
        return HyperscanLiteralMatcher(literals, joined=True) if joined else SplitLiteralMatcher(literals)
    return PolarsLiteralMatcher(literals)
