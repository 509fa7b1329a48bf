"""Multi-pattern engines: Hyperscan where its wheel exists, Polars' Rust regex everywhere.

Why two: Polars regexes are linear-time and vectorised, but each call builds its lazy DFA anew,
which costs tens of milliseconds for a rule pack's worth of alternations; on batches of tens of
thousands of rows that fixed cost dominated detection. Hyperscan compiles the same patterns once
into a database and scans at gigabytes a second. Its wheel is x86-64 Linux only, so the Polars
engine stays as the portable fallback; tests prove both find the same rule hits.

Two shapes of question are asked:

* :class:`ColumnScanner` — "does this row's value match?" for a whole column (the prefilter).
  Hyperscan scans the column's values joined by a separator in one call and maps each match
  back to its row by offset. The separator is a code point no value holds and the pattern is
  rewritten so that nothing but its edge anchors can match it (:func:`isolate_rows`): a match
  never runs from one row into the next, so a row's verdict never depends on its neighbours.
* :class:`PatternSet` — "which of these patterns occur in this value?" (the exact stage), with
  the earliest end of each; the matched text itself is then recovered by Python ``re`` searching
  only a short window before that end, so no input can make it backtrack for long.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import threading
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


def compile_database(expressions: Sequence[str], flags: Sequence[int], ids: Sequence[int] | None = None) -> Any:
    """A block-mode database, from the on-disk cache when the same patterns were compiled before.

    Compiling a rule pack takes seconds; every scan process and test would pay it. The cache key
    covers the patterns, their flags, their ids (each expression's index unless given) and the
    Hyperscan version, so a changed rule recompiles. A cache that cannot be read or written
    (read-only home, corrupt file) only costs the compile.
    """
    hs = _hs()
    described: dict[str, Any] = {"v": hs.__version__, "e": list(expressions), "f": list(flags), "m": hs.HS_MODE_BLOCK}
    if ids is not None:
        described["i"] = list(ids)
    key = hashlib.sha256(orjson.dumps(described)).hexdigest()
    path = _cache_dir() / f"{key}.hsdb"
    try:
        cached = hs.loadb(path.read_bytes(), mode=hs.HS_MODE_BLOCK)
        cached.scratch = hs.Scratch(cached)  # a deserialised database comes without scratch space
    except (OSError, hs.error, TypeError, ValueError):
        pass
    else:
        with contextlib.suppress(OSError):  # a read-only cache still serves
            path.touch()  # its age is its last use: pruning keeps the databases in use
        return cached
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    database.compile(
        expressions=[e.encode() for e in expressions],
        ids=list(range(len(expressions))) if ids is None else list(ids),
        elements=len(expressions),
        flags=list(flags),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(hs.dumpb(database))
        partial.replace(path)
        prune_cache(path.parent)
    except OSError:
        pass
    return database


#: bytes of compiled databases kept on disk; a rule pack's are a few MiB, and every edited rule or
#: test-made rule set leaves one behind, which without a bound grew a developer's cache past 500 MiB
CACHE_MAX_BYTES = 256 * 1024 * 1024


def prune_cache(folder: Path, max_bytes: int = CACHE_MAX_BYTES) -> None:
    """Delete the least recently used databases until the rest fit ``max_bytes``.

    Runs after each compile (seconds of CPU already), never on a cache hit. Another process may
    be reading or pruning at the same time: a file that vanished is skipped, and a database
    deleted under a reader only costs that reader a compile.
    """
    entries: list[tuple[float, int, Path]] = []
    for path in folder.glob("*.hsdb"):
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):  # oldest use first
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size


class ColumnScanner(ABC):
    """True for each row whose value matches a pattern (null rows are False), for one pattern or
    several: several patterns over the same column cost one pass (one scan, one distinct set)."""

    def flags(self, column: pl.Series) -> pl.Series:
        """The flags of the first (usually the only) pattern."""
        return self.each(column)[0]

    @abstractmethod
    def each(self, column: pl.Series) -> list[pl.Series]:
        """One flag column per pattern, in the patterns' order."""


class PolarsColumnScanner(ColumnScanner):
    def __init__(self, pattern: str, *more: str) -> None:
        self.patterns = (pattern, *more)

    def each(self, column: pl.Series) -> list[pl.Series]:
        return [column.str.contains(pattern).fill_null(False) for pattern in self.patterns]


#: joins a column's values for one Hyperscan scan: the last code point, a non-character that no
#: text should hold (a value that does is scanned with it replaced, see ``_scan``)
ROW_SEPARATOR = "\U0010ffff"
_SEPARATOR = ROW_SEPARATOR.encode()
_SEPARATOR_BYTES = len(_SEPARATOR)
_NOT_SEPARATOR = "\\x{10ffff}"
_SEPARATOR_AWARE = {".": f"[^{_NOT_SEPARATOR}]", "^": f"(?:\\A|{_NOT_SEPARATOR})", "$": f"(?:\\z|{_NOT_SEPARATOR})"}
_EXCLUDING_SEPARATOR = {"S": "[^\\s\\x{10ffff}]", "W": "[^\\w\\x{10ffff}]", "D": "[^\\d\\x{10ffff}]"}


def isolate_rows(pattern: str) -> str:
    """``pattern`` rewritten for a scan of values joined by :data:`ROW_SEPARATOR`.

    Why: a match that ran across the separator flagged a row for what its neighbour ended with
    (a value ending in ``;`` before one starting ``ls``), so whether a row became a candidate
    depended on the batch it arrived in. Here nothing can match the separator except the edge
    anchors: ``^`` and ``$`` become "edge of the text or the separator" (a match may consume the
    separator at its own row's edge, never go past it), and ``.``, negated classes and ``\\S``,
    ``\\W``, ``\\D`` exclude it. A class that is not negated cannot name the separator, since
    patterns are ASCII or name code points far below it.
    """
    return _isolated(pattern, _NOT_SEPARATOR, _SEPARATOR_AWARE, _EXCLUDING_SEPARATOR)


#: joins encoded values for one :meth:`PatternSet.matching_many` scan: a byte no encoded value holds
#: (ASCII stays below 0x80 and every other character becomes 0xFF)
VALUE_SEPARATOR = b"\xfe"
_NOT_VALUE_SEPARATOR = "\\xfe"
#: ``$`` also matches before a final newline, as it does in a scan of the value alone
_VALUE_SEPARATOR_AWARE = {".": "[^\\xfe]", "^": "(?:\\A|\\xfe)", "$": "(?:\\n?(?:\\z|\\xfe))"}
_EXCLUDING_VALUE_SEPARATOR = {"S": "[^\\s\\xfe]", "W": "[^\\w\\xfe]", "D": "[^\\d\\xfe]"}


def isolate_values(pattern: str) -> str:
    """``pattern`` rewritten for a byte scan of values joined by :data:`VALUE_SEPARATOR`.

    As :func:`isolate_rows`, for the exact stage's ASCII patterns: nothing but the edge anchors can
    match the separator, so a match never spans two values, and a value matches the rewritten
    pattern in the joined text exactly where it matches the pattern alone.
    """
    return _isolated(pattern, _NOT_VALUE_SEPARATOR, _VALUE_SEPARATOR_AWARE, _EXCLUDING_VALUE_SEPARATOR)


def _isolated(pattern: str, not_separator: str, aware: dict[str, str], excluding: dict[str, str]) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt in excluding:
                out.append(excluding[nxt])
                i += 2
            elif nxt == "x" and pattern[i + 2 : i + 3] == "{":
                close = pattern.index("}", i)
                out.append(pattern[i : close + 1])
                i = close + 1
            else:
                out.append(pattern[i : i + 2])
                i += 2
        elif c == "[":
            close = _class_end(pattern, i)
            body = pattern[i : close + 1]
            # (a class may start with a literal ":", "[:/]"; a POSIX class "[[:alpha:]]" is refused)
            if "[:" in body[1:] or any(f"\\{x}" in body for x in excluding):
                raise ValueError(f"character class not supported in a column pattern: {body}")
            if body.startswith("[^"):  # first, where it cannot end a range ("[^a-]" + sep would be one)
                inner = body[2:-1]
                body = "[^" + not_separator + ("\\" + inner if inner.startswith("]") else inner) + "]"
            out.append(body)
            i = close + 1
        else:
            out.append(aware.get(c, c))
            i += 1
    return "".join(out)


def top_level_alternatives(pattern: str) -> list[str]:
    """``a|(?:b|c)|[|]`` -> ``["a", "(?:b|c)", "[|]"]``: the branches of the outermost alternation.

    Why: Hyperscan limits the length of one expression, and a prefilter pattern that names
    hundreds of commands exceeds it; its branches compiled as separate expressions of one
    database match exactly where the whole would.
    """
    out: list[str] = []
    depth, begin, i = 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(pattern[begin:i])
            begin = i + 1
        i += 1
    out.append(pattern[begin:])
    return out


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start`` (a leading ``]`` or ``^]`` is literal)."""
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


class HyperscanColumnScanner(ColumnScanner):
    """One scan per column: values joined by :data:`ROW_SEPARATOR`, matches mapped back to rows
    by offset; the pattern is rewritten by :func:`isolate_rows` so no match spans two values.

    Several patterns share one database, each expression tagged with its pattern's index, so a
    column that two stages ask about (the prefilter and the request policy both read the URL)
    is made distinct, joined and scanned once.
    """

    def __init__(self, pattern: str, *more: str) -> None:
        hs = _hs()
        expressions: list[str] = []
        ids: list[int] = []
        flags: list[int] = []
        for index, whole in enumerate((pattern, *more)):
            body, caseless = _strip_inline_caseless(whole)
            branches = [isolate_rows(branch) for branch in top_level_alternatives(body)]
            expressions += branches
            ids += [index] * len(branches)
            flags += [hs.HS_FLAG_DOTALL | hs.HS_FLAG_UTF8 | (hs.HS_FLAG_CASELESS if caseless else 0)] * len(branches)
        self._count = 1 + len(more)
        self._db = compile_database(expressions, flags, ids if more else None)
        self._bits = np.left_shift(np.int64(1), np.arange(self._count, dtype=np.int64))
        #: the verdicts of values seen in earlier batches (value, bit mask of the patterns it matches)
        self._known = pl.DataFrame(schema={"v": pl.String, "m": pl.Int64})
        self._known_lock = threading.Lock()

    def each(self, column: pl.Series) -> list[pl.Series]:
        """Each distinct value is scanned once: traffic repeats its user agents, referrers and
        pages, so a batch holds far fewer distinct values than rows (a handful of agents in ten
        thousand requests), and once in a while too (:meth:`_remembered_scan`). A value's verdict
        depends on the value alone (see :func:`isolate_rows`)."""
        n = column.len()
        if n == 0 or column.null_count() == n:
            return [pl.Series(column.name, np.zeros(n, dtype=bool))] * self._count
        distinct = column.drop_nulls().unique(maintain_order=True)  # deterministic, like the input
        hits = self._remembered_scan(distinct)
        if distinct.len() == n:  # every row a value of its own, in the column's order
            return [pl.Series(column.name, hit) for hit in hits]
        anywhere = np.logical_or.reduce(hits)
        if self._count == 1 or not anywhere.any():
            rows = column.is_in(distinct.filter(pl.Series(anywhere)).implode()).fill_null(False).alias(column.name)
            return [rows] * self._count
        # which rows hold a flagged value, once; then each pattern's share among those few rows
        flagged = distinct.filter(pl.Series(anywhere))
        at = column.is_in(flagged.implode()).fill_null(False).arg_true()
        among = column.gather(at)
        out: list[pl.Series] = []
        for hit in hits:
            mine = np.zeros(n, dtype=bool)
            mine[at.to_numpy()] = among.is_in(distinct.filter(pl.Series(hit)).implode()).to_numpy()
            out.append(pl.Series(column.name, mine))
        return out

    def _remembered_scan(self, distinct: pl.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """:meth:`_scan` of distinct values, those seen in an earlier batch answered from memory.

        Why: a long scan reads the same pages, agents and header sets batch after batch, and the
        scan reports every place a broad symptom (a quote, a semicolon) occurs: on the CRS requests
        cycled ten times, rescanning values already judged was a third of a steady batch's
        detection. The memory is a Polars table, joined in Rust, so values never seen cost a join
        and nothing per value in Python. Bounded: at most :data:`COLUMN_MEMORY_VALUES` values of at
        most :data:`COLUMN_MEMORY_VALUE_CHARS` characters each, the oldest out first.
        """
        known = self._known
        masks = (
            distinct.to_frame("v").join(known, on="v", how="left", maintain_order="left")["m"]
            if known.height
            else pl.Series("m", [None] * distinct.len(), dtype=pl.Int64)
        )
        if masks.len() != distinct.len():
            # a value remembered twice (two threads judged it at once): keep one, and ask again
            with self._known_lock:
                self._known = self._known.unique("v", keep="last", maintain_order=True)
            return self._remembered_scan(distinct)
        unknown = masks.is_null()
        if unknown.any():
            fresh_values = distinct if unknown.all() else distinct.filter(unknown)
            fresh_masks = self._bits @ self._scan(fresh_values).astype(np.int64)
            masks = masks.scatter(unknown.arg_true(), fresh_masks)
            self._remember(fresh_values, fresh_masks)
        held: np.ndarray[Any, np.dtype[np.bool_]] = (masks.to_numpy()[None, :] & self._bits[:, None]) != 0
        return held

    def _remember(self, values: pl.Series, masks: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        short = (values.str.len_chars() <= COLUMN_MEMORY_VALUE_CHARS).to_numpy()
        # copied out, not filtered: a filtered string column still holds the whole batch's text
        # buffers, and a memory of a few values would keep every batch it ever saw alive
        kept = pl.Series("v", values.filter(pl.Series(short)).to_list(), dtype=pl.String)
        fresh = pl.DataFrame({"v": kept, "m": masks[short]})
        with self._known_lock:
            known = pl.concat([self._known, fresh], rechunk=False)
            if known.height > COLUMN_MEMORY_VALUES:
                known = known.slice(known.height - COLUMN_MEMORY_VALUES)
            if known.n_chunks() > 32:
                known = known.rechunk()
            self._known = known

    def _scan(self, column: pl.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """A boolean matrix: one row per pattern, one column per value."""
        values = column.fill_null("")
        # joined as UTF-8 bytes straight from Polars (no Python str in between)
        joined: bytes = values.str.join(ROW_SEPARATOR).cast(pl.Binary).item()
        if joined.count(_SEPARATOR) != len(values) - 1:  # a value holds the separator: it matches nothing anyway
            values = values.str.replace_all(ROW_SEPARATOR, "\ufffd", literal=True)
            joined = values.str.join(ROW_SEPARATOR).cast(pl.Binary).item()
        lengths = values.str.len_bytes().to_numpy().astype(np.int64)
        starts = np.cumsum(lengths + _SEPARATOR_BYTES) - (lengths + _SEPARATOR_BYTES)
        ids: list[int] = []
        ends: list[int] = []

        def on_match(pattern_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            ids.append(pattern_id)
            ends.append(end)

        self._db.scan(joined, match_event_handler=on_match)
        hit = np.zeros((self._count, len(lengths)), dtype=bool)
        if ends:
            rows = np.searchsorted(starts, np.asarray(ends, dtype=np.int64) - 1, side="right") - 1
            # (a single pattern keeps its branches' own ids, as its databases were cached before)
            hit[np.asarray(ids, dtype=np.int64) if self._count > 1 else 0, rows] = True
        hit &= lengths > 0
        return hit


#: values a Hyperscan column scanner remembers its verdicts of, and the longest value remembered
#: (at most about 8 MiB of text per scanner)
COLUMN_MEMORY_VALUES = 16_384
COLUMN_MEMORY_VALUE_CHARS = 512


class FirstPattern(ColumnScanner):
    """The flags of a joined scanner's first pattern alone (see :func:`column_scanner`)."""

    def __init__(self, joined: ColumnScanner) -> None:
        self.joined = joined

    def each(self, column: pl.Series) -> list[pl.Series]:
        return self.joined.each(column)[:1]


#: per first pattern, the Hyperscan scanner built for it with other patterns joined (bounded as
#: :func:`column_scanner`'s cache is)
_JOINED: dict[str, HyperscanColumnScanner] = {}
_JOINED_MAX = 64


@functools.lru_cache(maxsize=64)
def column_scanner(pattern: str, engine: EngineName, *more: str) -> ColumnScanner:
    """Cached per process: a Hyperscan database takes a fraction of a second to build.

    ``more`` patterns are scanned in the same pass (:meth:`ColumnScanner.each`). A pattern asked
    for alone after it was built with others (the web prefilter's column pattern, joined with the
    request policy's for the column scan, then asked alone for each request part) is answered by
    that joined database: the same rows match its first pattern. Why: compiling the prefilter's
    databases again alone cost about fifteen of the fifty CPU seconds a web detector took to
    build with an empty on-disk cache (every fresh machine, every CI run); the other patterns
    ride along in the scan for a few percent.
    """
    if engine is EngineName.HYPERSCAN:
        if not more and (joined := _JOINED.get(pattern)) is not None:
            return FirstPattern(joined)
        scanner = HyperscanColumnScanner(pattern, *more)
        if more and len(_JOINED) < _JOINED_MAX:
            _JOINED.setdefault(pattern, scanner)
        return scanner
    return PolarsColumnScanner(pattern, *more)


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
        self._any_db = _joined_database(patterns, flags & ~hs.HS_FLAG_SINGLEMATCH) if patterns else None
        self._mostly_matching = False  # whether most values of the last chunk scanned matched something
        re_flags = re.DOTALL | re.ASCII | (re.IGNORECASE if caseless else 0)
        # compiled with the set, not on a pattern's first hit: a detector is built once, before its
        # first batch, and a first attack request should not also pay for compiling what it hit
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

    def matching_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """:meth:`matching` of each text; each distinct text is scanned once, and only where some
        pattern occurs in it.

        Why: a scan call costs microseconds before it reads a byte, and a batch asks about
        thousands of short values per view, most of which match nothing (four in five for the SQL
        and shell views of the CRS requests). One scan of all distinct values, joined by
        :data:`VALUE_SEPARATOR` and read by the patterns rewritten with :func:`isolate_values`,
        finds the values where anything matches; only those are scanned alone, which gives the
        very ends :meth:`matching` reports (the joined scan's own ends can differ: in single-match
        mode a match that ends in an assertion such as ``\\b`` is reported a byte late).
        Equal texts share one result list: read it, do not change it.
        """
        distinct = list(dict.fromkeys(text for text in texts if text))
        found = dict.fromkeys(distinct, _NOTHING)
        for begin in range(0, len(distinct), JOINED_SCAN_VALUES):
            chunk = distinct[begin : begin + JOINED_SCAN_VALUES]
            candidates = self._with_any_match(chunk)
            for i in candidates:
                found[chunk[i]] = self.matching(chunk[i])
            # where most values match something, the joined scan (which reports every match end)
            # costs more than it saves: the next values are scanned one by one, until their share drops
            matched = sum(1 for i in candidates if found[chunk[i]])
            self._mostly_matching = matched > MATCHING_SHARE_FOR_JOINED_SCAN * len(chunk)
        return [found[text] if text else [] for text in texts]

    def _with_any_match(self, distinct: list[str]) -> list[int]:
        """Indices of the values some pattern may occur in (all of them without a joined scan)."""
        if self._any_db is None or len(distinct) == 1 or self._mostly_matching:
            return list(range(len(distinct)))
        encoded = [text.encode("ascii", _ONE_BYTE_PER_CHAR) for text in distinct]
        ends: list[int] = []

        def on_match(_pattern_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            ends.append(end)

        self._any_db.scan(VALUE_SEPARATOR.join(encoded), match_event_handler=on_match)
        if not ends:
            return []
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        # a match's last byte lies in its value, or is the separator after it (a "$" consumed it)
        rows = np.searchsorted(starts, np.asarray(ends, dtype=np.int64) - 1, side="right") - 1
        return np.unique(rows).tolist()  # type: ignore[no-any-return]

    def span(self, pattern_id: int, text: str, end: int) -> tuple[int, int]:
        """Where the match ending at ``end`` starts; searched in a bounded window, then wider."""
        regex = self._spans[pattern_id]
        found = regex.search(text, max(0, end - SPAN_WINDOW), end) or regex.search(text, 0, end)
        if found is None:  # cannot happen for patterns both engines read alike; show what precedes the end
            return max(0, end - 80), end
        return found.start(), found.end()


#: :meth:`PatternSet.matching_many` scans a set's values joined first only while fewer than this share of
#: the values it last scanned matched something (measured on the CRS requests: the break-even is near 0.4)
MATCHING_SHARE_FOR_JOINED_SCAN = 0.4
#: how many values it takes at a time, so that it changes its way within a batch
JOINED_SCAN_VALUES = 512
#: what :meth:`PatternSet.matching_many` hands out for a value nothing matches (shared: read-only)
_NOTHING: list[tuple[int, int]] = []


def _joined_database(patterns: Sequence[str], flags: int) -> Any:
    """The database :meth:`PatternSet.matching_many` scans joined values with; None where a pattern
    cannot be rewritten for it (a POSIX class), which leaves that set scanning value by value."""
    try:
        isolated = [isolate_values(pattern) for pattern in patterns]
        return compile_database(isolated, [flags] * len(isolated))
    except (ValueError, _hs().error):
        return None


@functools.lru_cache(maxsize=16)
def pattern_set(patterns: tuple[str, ...]) -> PatternSet:
    """Cached per process, like :func:`column_scanner`."""
    return PatternSet(patterns)


def any_matches(scanner: ColumnScanner, values: Sequence[str]) -> list[int]:
    """Indices of ``values`` the scanner flags (a convenience for per-part checks)."""
    series = pl.Series("v", list(values), dtype=pl.String)
    return scanner.flags(series).arg_true().to_list()
