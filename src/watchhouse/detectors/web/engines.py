"""Multi-pattern engines: Hyperscan where its wheel exists, Polars' Rust regex everywhere.

Why two: Polars regexes are linear-time and vectorised, but each call builds its lazy DFA anew,
which costs tens of milliseconds for a rule pack's worth of alternations; on batches of tens of
thousands of rows that fixed cost dominated detection. Hyperscan compiles the same patterns once
into a database and scans at gigabytes a second. Its wheel is x86-64 Linux only, so the Polars
engine stays as the portable fallback; tests prove both find the same rule hits.

Two shapes of question are asked:

* :class:`ColumnScanner` — "does this row's value match?" for a whole column (the prefilter).
  Hyperscan scans the column's values joined by newlines in one call and maps each match back
  to its row by offset. A match may run across a separator into the next row; that can only
  flag a row too many, which the exact stage then clears, never one too few.
* :class:`PatternSet` — "which of these patterns occur in this value?" (the exact stage), with
  the earliest end of each; the matched text itself is then recovered by Python ``re`` searching
  only a short window before that end, so no input can make it backtrack for long.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import importlib.util
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

#: characters searched back from Hyperscan's match end to recover the matched text
SPAN_WINDOW = 512


class EngineName(StrEnum):
    AUTO = "auto"
    HYPERSCAN = "hyperscan"
    POLARS = "polars"


def hyperscan_available() -> bool:
    return importlib.util.find_spec("hyperscan") is not None


def resolve_engine(name: EngineName | str) -> EngineName:
    """``auto`` picks Hyperscan when importable; asking for it explicitly where it is missing fails."""
    engine = EngineName(name)
    if engine is EngineName.AUTO:
        return EngineName.HYPERSCAN if hyperscan_available() else EngineName.POLARS
    if engine is EngineName.HYPERSCAN and not hyperscan_available():
        raise ValueError("the hyperscan engine was requested but the hyperscan package is not installed")
    return engine


def _hs() -> Any:
    import hyperscan

    return hyperscan


def _strip_inline_caseless(pattern: str) -> tuple[str, bool]:
    if pattern.startswith("(?i)"):
        return pattern[4:], True
    return pattern, False


_ONE_BYTE_PER_CHAR = "watchhouse-one-byte-per-char"


def _one_byte_per_char(err: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(err, UnicodeEncodeError):  # pragma: no cover - only registered for encoding
        raise err
    return b"\xff" * (err.end - err.start), err.end


codecs.register_error(_ONE_BYTE_PER_CHAR, _one_byte_per_char)


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "watchhouse" / "hyperscan"


def compile_database(expressions: Sequence[str], flags: Sequence[int]) -> Any:
    """A block-mode database, from the on-disk cache when the same patterns were compiled before.

    Compiling a rule pack takes seconds; every scan process and test would pay it. The cache key
    covers the patterns, their flags and the Hyperscan version, so a changed rule recompiles. A
    cache that cannot be read or written (read-only home, corrupt file) only costs the compile.
    """
    hs = _hs()
    key = hashlib.sha256(
        orjson.dumps({"v": hs.__version__, "e": list(expressions), "f": list(flags), "m": hs.HS_MODE_BLOCK})
    ).hexdigest()
    path = _cache_dir() / f"{key}.hsdb"
    try:
        cached = hs.loadb(path.read_bytes(), mode=hs.HS_MODE_BLOCK)
        cached.scratch = hs.Scratch(cached)  # a deserialised database comes without scratch space
        return cached
    except (OSError, hs.error, TypeError, ValueError):
        pass
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    database.compile(
        expressions=[e.encode() for e in expressions],
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=list(flags),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(hs.dumpb(database))
        partial.replace(path)
    except OSError:
        pass
    return database


def _encode(text: str) -> bytes:
    # Hyperscan's UTF-8 mode needs valid UTF-8; a lone surrogate becomes one '?' (one character).
    return text.encode("utf-8", "replace")


class ColumnScanner(ABC):
    """True for each row whose value matches the pattern (null rows are False)."""

    @abstractmethod
    def flags(self, column: pl.Series) -> pl.Series: ...


class PolarsColumnScanner(ColumnScanner):
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def flags(self, column: pl.Series) -> pl.Series:
        return column.str.contains(self.pattern).fill_null(False)


class HyperscanColumnScanner(ColumnScanner):
    """One scan per column: values joined by ``\\n``, matches mapped back to rows by offset.

    Multiline mode makes ``^``/``$`` hold at each value's edges, as they do on a single value.
    """

    def __init__(self, pattern: str) -> None:
        hs = _hs()
        body, caseless = _strip_inline_caseless(pattern)
        flags = hs.HS_FLAG_MULTILINE | hs.HS_FLAG_DOTALL | hs.HS_FLAG_UTF8
        if caseless:
            flags |= hs.HS_FLAG_CASELESS
        self._db = compile_database([body], [flags])

    def flags(self, column: pl.Series) -> pl.Series:
        """Each distinct value is scanned once: traffic repeats its user agents, referrers and
        pages, so a batch holds far fewer distinct values than rows (a handful of agents in ten
        thousand requests). A value's verdict does not depend on its row, except through a match
        run across a separator (see the module notes), which is why the distinct values keep the
        column's order: the same batch always gets the same verdicts."""
        n = column.len()
        if n == 0 or column.null_count() == n:
            return pl.Series(column.name, np.zeros(n, dtype=bool))
        distinct = column.drop_nulls().unique(maintain_order=True)  # deterministic, like the input
        if distinct.len() == n:
            return pl.Series(column.name, self._scan(column))
        flagged = distinct.filter(pl.Series(self._scan(distinct)))
        return column.is_in(flagged.implode()).fill_null(False).alias(column.name)

    def _scan(self, column: pl.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
        values = column.fill_null("")
        lengths = values.str.len_bytes().to_numpy().astype(np.int64)
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        joined = values.str.join("\n").item()
        ends: list[int] = []

        def on_match(_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            ends.append(end)

        self._db.scan(_encode(joined), match_event_handler=on_match)
        hit = np.zeros(len(lengths), dtype=bool)
        if ends:
            rows = np.searchsorted(starts, np.asarray(ends, dtype=np.int64) - 1, side="right") - 1
            hit[rows] = True
        hit &= lengths > 0
        return hit


@functools.lru_cache(maxsize=64)
def column_scanner(pattern: str, engine: EngineName) -> ColumnScanner:
    """Cached per process: a Hyperscan database takes a fraction of a second to build."""
    if engine is EngineName.HYPERSCAN:
        return HyperscanColumnScanner(pattern)
    return PolarsColumnScanner(pattern)


class PatternSet:
    """Hyperscan database of many patterns: which occur in a value, and the text each matched.

    Patterns are ASCII, lower-case rules run on lower-cased text, exactly as the Polars engine
    runs them (no case folding by the engine). Each non-ASCII character of a value is handed to
    Hyperscan as the single byte 0xFF: no ASCII pattern can match it except where "any
    character" may, exactly as in Rust, and byte offsets stay character offsets. (Hyperscan's own
    UTF-8 mode would do the same but makes these databases take minutes to compile.) ``spans``
    holds a Python regex per pattern used only to cut out the matched text near the reported end.
    """

    def __init__(self, patterns: Sequence[str], *, caseless: bool = False) -> None:
        hs = _hs()
        for pattern in patterns:
            if not pattern.isascii():
                raise ValueError(f"pattern is not ASCII: {pattern[:60]!r}")
        flags = hs.HS_FLAG_DOTALL | hs.HS_FLAG_SINGLEMATCH
        if caseless:
            flags |= hs.HS_FLAG_CASELESS
        self.size = len(patterns)
        self._db = compile_database(patterns, [flags] * len(patterns)) if patterns else None
        re_flags = re.DOTALL | re.ASCII | (re.IGNORECASE if caseless else 0)
        self._spans = [re.compile(p, re_flags) for p in patterns]

    def matching(self, text: str) -> list[tuple[int, int]]:
        """``(pattern id, earliest end as a character offset)`` per matching pattern, by id."""
        if not self.size or not text:
            return []
        found: dict[int, int] = {}

        def on_match(pattern_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            found.setdefault(pattern_id, end)

        assert self._db is not None
        self._db.scan(text.encode("ascii", _ONE_BYTE_PER_CHAR), match_event_handler=on_match)
        return sorted(found.items())

    def span(self, pattern_id: int, text: str, end: int) -> tuple[int, int]:
        """Where the match ending at ``end`` starts; searched in a bounded window, then wider."""
        regex = self._spans[pattern_id]
        found = regex.search(text, max(0, end - SPAN_WINDOW), end) or regex.search(text, 0, end)
        if found is None:  # cannot happen for patterns both engines read alike; show what precedes the end
            return max(0, end - 80), end
        return found.start(), found.end()


@functools.lru_cache(maxsize=16)
def pattern_set(patterns: tuple[str, ...]) -> PatternSet:
    """Cached per process, like :func:`column_scanner`."""
    return PatternSet(patterns)


def any_matches(scanner: ColumnScanner, values: Sequence[str]) -> list[int]:
    """Indices of ``values`` the scanner flags (a convenience for per-part checks)."""
    series = pl.Series("v", list(values), dtype=pl.String)
    return scanner.flags(series).arg_true().to_list()
