"""Differential testing against pySigma's SQLite backend, rule by rule, and near-miss events.

Why: our engine reimplements Sigma's matching (wildcards, modifiers, case folding, null
handling) in vectorised form; an independent implementation run on the same events catches
every place where we read the specification differently. The reference is the way Zircolite
runs Sigma: each rule converted by ``pysigma-backend-sqlite`` to one SQL query over a table
whose text columns are ``COLLATE NOCASE``, with ``REGEXP`` bound to Python's ``re.search`` and
keyword rules searching a ``fulltext`` column that holds every value of the record.

Both sides see the same flat records (``field -> text``, ``EventID`` an integer) and evaluate
the *detection* only: the SQLite backend does not express log-source routing, so ours runs
through :meth:`SigmaEngine.match_records`, which skips it too. Null handling: the backend
writes ``NOT COALESCE(x, 0)``, i.e. a test on a missing field is false and its negation true —
Sigma's two-valued logic, :attr:`NullLogic.SIGMA`, our default.

Near misses are the events that tell matching engines apart: for each sample event, variants
with ASCII case changed, one character added or removed at either end of the values (the
edges of ``startswith``/``endswith``/equality), and each field in turn missing or empty.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sigma.backends.sqlite import sqlite as sqlite_backend
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from watchhouse.core.events import EventBatch
from watchhouse.sigma.compiler import NullLogic
from watchhouse.sigma.engine import SigmaEngine, Status
from watchhouse.sigma.frames import WINLOG_SYSTEM

Record = dict[str, object]
FULLTEXT = "fulltext"
_ROW = "wh_row"
_NUMERIC = frozenset({"EventID", "EventRecordID"})
_ASCII_SWAP = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


def winlog_records(batch: EventBatch) -> list[Record]:
    """Winlog rows as flat records named the way rules name fields."""
    table = batch.table
    system = {name: table.column(column).to_pylist() for name, column in WINLOG_SYSTEM.items()}
    data = table.column("winlog.event_data").to_pylist()
    out: list[Record] = []
    for i, text in enumerate(data):
        record: Record = {name: values[i] for name, values in system.items() if values[i] is not None}
        if text:
            record.update(orjson.loads(text))
        out.append(record)
    return out


def near_misses(records: Iterable[Record]) -> Iterator[Record]:
    """Variants of each record that sit on the edges of Sigma's string tests."""

    def each_text(record: Record, change: object) -> Record:
        assert callable(change)
        return {k: (change(v) if isinstance(v, str) else v) for k, v in record.items()}

    for record in records:
        yield each_text(record, lambda v: v.translate(_ASCII_SWAP))
        yield each_text(record, lambda v: v.upper() if v.isascii() else v)
        yield each_text(record, lambda v: v[1:])
        yield each_text(record, lambda v: v[:-1])
        yield each_text(record, lambda v: "x" + v)
        yield each_text(record, lambda v: v + "x")
        for name in record:
            if name in ("EventID", "Channel"):
                continue
            yield {k: v for k, v in record.items() if k != name}
            yield {k: ("" if k == name else v) for k, v in record.items()}


def _regexp(pattern: str, value: object) -> bool:
    if value is None:
        return False
    return _compiled(pattern).search(str(value)) is not None


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def fulltext(record: Mapping[str, object]) -> str:
    """The text keyword rules search, built exactly as :func:`records_frame` builds it."""
    return "\n".join(str(v) for v in record.values() if v is not None)


def load_sqlite(records: Sequence[Record], fields: Iterable[str]) -> sqlite3.Connection:
    """The Zircolite-style table: one column per field, text ``COLLATE NOCASE``, and REGEXP."""
    names = sorted(set(fields) | {n for r in records for n in r} - {FULLTEXT, _ROW})
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, _regexp, deterministic=True)
    columns = [f'"{n}" INTEGER' if n in _NUMERIC else f'"{n}" TEXT COLLATE NOCASE' for n in names]
    conn.execute(f'CREATE TABLE logs ("{_ROW}" INTEGER, {", ".join(columns)}, "{FULLTEXT}" TEXT COLLATE NOCASE)')
    placeholders = ", ".join("?" * (len(names) + 2))
    conn.executemany(
        f"INSERT INTO logs VALUES ({placeholders})",  # noqa: S608 - placeholders are only "?"
        ([i, *(_cell(r.get(n), n) for n in names), fulltext(r)] for i, r in enumerate(records)),
    )
    return conn


def _cell(value: object, name: str) -> object:
    if value is None:
        return None
    if name in _NUMERIC:
        try:
            return int(str(value))
        except ValueError:
            return str(value)
    return str(value)


def convert(rule: SigmaRule) -> list[str]:
    """The rule as SQLite queries; raises SigmaError where the backend cannot express it."""
    backend: Any = sqlite_backend.sqliteBackend(fulltext_field=FULLTEXT)  # type: ignore[no-untyped-call]
    queries = backend.convert_rule(rule)
    return [str(q) for q in queries]


def sqlite_rows(conn: sqlite3.Connection, queries: Sequence[str]) -> set[int]:
    rows: set[int] = set()
    for query in queries:
        sql = re.sub(r"^SELECT \* FROM", f'SELECT "{_ROW}" FROM', query, count=1)
        rows.update(r[0] for r in conn.execute(sql))
    return rows


@dataclass
class Report:
    """Rule-by-rule outcome: ``agreed`` / ``disagreed`` rule ids, and why others were skipped."""

    agreed: list[str] = field(default_factory=list)
    disagreed: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    fired: int = 0  # rules that matched at least one record (on both sides)

    @property
    def compared(self) -> int:
        return len(self.agreed) + len(self.disagreed)


def compare(rules: Sequence[SigmaRule], records: Sequence[Record]) -> Report:
    """Run every rule on ``records`` with both engines and compare matched rows per rule."""
    engine = SigmaEngine(rules, null_logic=NullLogic.SIGMA)
    ours = engine.match_records(list(records))
    report = Report()
    converted: dict[int, list[str]] = {}
    for index, (rule, verdict) in enumerate(zip(engine.rules, engine.verdicts, strict=True)):
        if verdict.status is Status.UNSUPPORTED:
            report.skipped[verdict.rule_id] = f"ours: {verdict.reason}"
            continue
        try:
            converted[index] = convert(rule)
        except (SigmaError, NotImplementedError) as exc:
            report.skipped[verdict.rule_id] = f"sqlite backend: {exc}"
    fields = {str(f) for r in records for f in r}
    conn = load_sqlite(records, fields)
    for index, queries in converted.items():
        rule_id = engine.verdicts[index].rule_id
        try:
            theirs = _retry_columns(conn, queries)
        except sqlite3.Error as exc:
            report.skipped[rule_id] = f"sqlite: {exc}"
            continue
        mine = set(ours.get(index, []))
        if mine == theirs:
            report.agreed.append(rule_id)
            report.fired += bool(mine)
        else:
            report.disagreed[rule_id] = (sorted(mine - theirs), sorted(theirs - mine))
    conn.close()
    return report


def _retry_columns(conn: sqlite3.Connection, queries: Sequence[str]) -> set[int]:
    """Add every column a query names that the table lacks (fields no record has), then run it."""
    while True:
        try:
            return sqlite_rows(conn, queries)
        except sqlite3.OperationalError as exc:
            missing = re.match(r"no such column: (.+)", str(exc))
            if missing is None:
                raise
            conn.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1)}" TEXT COLLATE NOCASE')
