"""The compiled JSON-lines flattener (``watchhouse._native._jsonl``) against its Python references.

Why differential: :func:`watchhouse.ingest.jsonl.flatten` is the specification of the names, their
order and the values an object becomes, and :func:`watchhouse.ingest.jsonl_shapes.flat_groups` is
the column flattening that runs where the kernel is not built. The kernel walks each object in C,
so a missed level, a name built wrong, a value filed under another key set or a collision let
through shows up here: on generated objects (nesting, dotted keys colliding with nested ones, empty
objects, the headers object kept whole, scalars and lists, deep nesting), on whole generated
chunks parsed with the kernel and without it, and on the real auth events and CRS requests.
Skipped where the kernel is not built (the Python flattening then runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ingest.test_jsonl_columnar import _lines, _summary

from watchhouse.core.events import Dataset
from watchhouse.ingest import jsonl, jsonl_convert, jsonl_shapes
from watchhouse.ingest.base import ParseResult
from watchhouse.ingest.jsonl import JsonLinesParser, flatten
from watchhouse.ingest.jsonl_shapes import OBJECT_FIELDS, flat_groups
from watchhouse.ingest.source import LineChunk

kernel = pytest.importorskip("watchhouse._native._jsonl", reason="compiled kernels not built (Python runs)")

_REPO = Path(__file__).resolve().parents[2]
#: real request records from ../shared, and auth events from the simulator (made per test run)
_CORPORA = ["simulated-auth", str(_REPO.parent / "shared" / "corpora" / "crs-tests" / "derived" / "crs_requests.jsonl")]
_MAX_DEPTH = 32
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.just({}),
)
# "a.b" next to {"a": {"b": ...}} collides after flattening; "http"/"request"/"headers" reach the
# one object kept whole
_NAMES = st.sampled_from(["a", "b", "a.b", "http", "request", "headers", "request.headers", "x"])
_OBJECTS = st.recursive(_LEAVES, lambda inner: st.dictionaries(_NAMES, inner, max_size=4), max_leaves=12).filter(
    lambda value: type(value) is dict
)


def _deep(levels: int) -> dict[str, Any]:
    obj: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        obj = {"n": obj}
    return obj


def _assert_like_references(objects: list[Any]) -> None:
    """Every object is filed once: under its flattened names with its values, or left unsure only
    where the Python flattening of it alone cannot vouch for it either."""
    groups, unsure = kernel.flat_groups(objects, OBJECT_FIELDS, _MAX_DEPTH)
    filed = sorted([row for rows, _, _ in groups for row in rows] + unsure)
    assert filed == list(range(len(objects)))
    assert unsure == sorted(unsure)
    for rows, names, columns in groups:
        assert rows == sorted(rows)
        assert len(columns) == len(names)
        for at, row in enumerate(rows):
            flat = flatten(objects[row])
            assert tuple(flat) == names
            assert all(flat[name] is column[at] for name, column in zip(names, columns, strict=True))
            alone, doubt = flat_groups([objects[row]], 1)
            assert not len(doubt) and alone[0].names == names
    for row in unsure:
        if type(objects[row]) is dict:
            alone, doubt = flat_groups([objects[row]], 1)
            assert doubt.tolist() == [0], objects[row]
    dicts = [row for row, obj in enumerate(objects) if type(obj) is dict]  # the caller's filter
    reference, _ = flat_groups([objects[row] for row in dicts], 1)
    mine = {}
    for rows, names, columns in groups:
        for at, row in enumerate(rows):
            mine[row] = (names, [column[at] for column in columns])
    for group in reference:  # where the column flattening vouches for a row, both agree on it
        for at, position in enumerate(group.rows.tolist()):
            assert mine[dicts[position]] == (group.names, [column[at] for column in group.columns])


@settings(max_examples=300, deadline=None)
@given(st.lists(_OBJECTS, min_size=1, max_size=12))
def test_flat_groups_match_flatten_on_generated_objects(objects: list[dict[str, Any]]) -> None:
    _assert_like_references(list(objects))


def test_collisions_depth_and_non_objects_are_left_to_the_per_line_path() -> None:
    objects: list[Any] = [
        {"a.b": 1, "a": {"b": 2}},  # flatten keeps the first place and the last value
        _deep(_MAX_DEPTH + 1),
        [1, 2],
        {"@timestamp": "2026-03-02T10:00:00Z", "source": {"ip": "192.0.2.1"}},
        _deep(_MAX_DEPTH - 1),
        {"http": {"request": {"headers": {"Host": "a"}}}, "b": {}},  # the headers stay one value
    ]
    groups, unsure = kernel.flat_groups(objects, OBJECT_FIELDS, _MAX_DEPTH)
    assert unsure == [0, 1, 2]
    assert [(rows, names) for rows, names, _ in groups] == [
        ([3], ("@timestamp", "source.ip")),
        ([4], ("n." * (_MAX_DEPTH - 1) + "leaf",)),
        ([5], ("http.request.headers", "b")),
    ]
    assert groups[2][2] == [[{"Host": "a"}], [{}]]
    _assert_like_references(objects)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.lists(_LEAVES, min_size=1, max_size=5)), min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_gather_takes_each_value_from_its_key_set(columns: list[list[Any] | None], random: Any) -> None:
    """Key sets of one dataset as _Merge lays them out (None: a key set without the field)."""
    sizes = [random.randint(1, 5) if column is None else len(column) for column in columns]
    owner = np.repeat(np.arange(len(columns), dtype=np.int64), sizes)
    within = np.concatenate([np.arange(size, dtype=np.int64) for size in sizes])
    order = np.array(random.sample(range(len(owner)), len(owner)), dtype=np.int64)
    joined = [
        None if column is None else column[i] for column, i in zip((columns[o] for o in owner), within, strict=True)
    ]
    assert kernel.gather(columns, owner[order], within[order]) == [joined[i] for i in order]
    assert kernel.gather([None if c is None else tuple(c) for c in columns], owner[order], within[order]) == [
        joined[i] for i in order
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_LEAVES, st.just(True), st.just(1.5), st.dictionaries(_NAMES, _LEAVES, max_size=2))))
def test_value_types_are_the_set_of_types(values: list[Any]) -> None:
    assert kernel.value_types(values) == set(map(type, values))


_STAMP = "2026-03-02T10:00:00.123456+02:00"
# the pattern's characters and their near misses: other digits, lower case, space, newline
_STAMP_CHARS = st.sampled_from([*"0123456789-:T.Z+tz \n\u0663\uff10", "2026-03-02T10:00:00"])
_YEARS = st.sampled_from(["2026", "1000", "9999", "0999", "0000", "202", "20261", "2\u0663\u066326"])
_HOURS = st.sampled_from(["00", "09", "10", "19", "20", "23", "24", "29", "30", "99", "1", "1a"])
_SIXTIES = st.sampled_from(["00", "09", "50", "59", "60", "69", "99", "5", "5:"])


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.lists(_STAMP_CHARS, max_size=12).map("".join),
        st.tuples(st.integers(0, len(_STAMP)), st.integers(0, len(_STAMP)), _STAMP_CHARS).map(
            lambda cut: _STAMP[: cut[0]] + cut[2] + _STAMP[cut[1] :]
        ),
        st.sampled_from([_STAMP, "2026-03-02T10:00:00Z", "9999-12-31T23:59:59.1Z", "1000-01-01T00:00:00-23:59"]),
        st.builds(  # each part at and past its bounds
            lambda year, hour, minute, second, fraction, zone: f"{year}-03-02T{hour}:{minute}:{second}{fraction}{zone}",
            _YEARS,
            _HOURS,
            _SIXTIES,
            _SIXTIES,
            st.sampled_from(["", ".", ".1", ".123456", ".1234567", ".12a"]),
            st.one_of(
                st.sampled_from(["Z", "z", "", "ZZ", "+", "+02:0", "+02:000", "+0200"]),
                st.builds(lambda sign, hour, minute: f"{sign}{hour}:{minute}", st.sampled_from("+-"), _HOURS, _SIXTIES),
            ),
        ),
    )
)
def test_strict_stamps_match_the_pattern(text: str) -> None:
    expected = pc.match_substring_regex(pa.array([text]), jsonl_convert._STRICT_STAMP)[0].as_py()
    assert kernel.strict_stamps([text]) is expected
    assert kernel.strict_stamps(["2026-03-02T10:00:00Z", text]) is expected
    assert kernel.strict_stamps([text, None]) is False
    assert kernel.strict_stamps([]) is False


def _parse(data: bytes, *, compiled: bool, min_rows: int, dataset: Dataset | None = None) -> ParseResult:
    parser = JsonLinesParser(dataset, {}, group_min_rows=min_rows)
    chosen = kernel if compiled else None  # (even where WATCHHOUSE_PURE_PYTHON is set)
    with (
        mock.patch.object(jsonl_shapes, "native_jsonl", chosen),
        mock.patch.object(jsonl, "native_jsonl", chosen),
        mock.patch.object(jsonl_convert, "native_jsonl", chosen),
    ):
        return parser.parse(LineChunk(data, first_line=3, offset=40))


@settings(max_examples=150, deadline=None)
@given(_lines(), st.sampled_from([None, Dataset.HTTP, Dataset.AUTH]), st.sampled_from([1, 16]))
def test_chunks_parse_the_same_with_and_without_the_kernel(data: bytes, dataset: Dataset | None, min_rows: int) -> None:
    compiled = _parse(data, compiled=True, min_rows=min_rows, dataset=dataset)
    reference = _parse(data, compiled=False, min_rows=min_rows, dataset=dataset)
    assert _summary(compiled) == _summary(reference)


def _simulated_auth(out_dir: Path) -> Path:
    from watchhouse.simulate import SimulationConfig, simulate

    simulate(SimulationConfig(out_dir=out_dir, users=300, hours=6, seed=3, outputs=frozenset({"auth"})))
    return out_dir / "auth.jsonl"


@pytest.mark.parametrize("source", _CORPORA, ids=lambda source: Path(source).name)
def test_real_events_parse_the_same_with_and_without_the_kernel(source: str, tmp_path: Path) -> None:
    path = _simulated_auth(tmp_path) if source == "simulated-auth" else Path(source)
    if not path.is_file():
        pytest.skip(f"{path} is absent (no ../shared checkout beside the repo)")
    lines = path.read_bytes().splitlines()[:3000]
    _assert_like_references([orjson.loads(line) for line in lines[:500]])
    data = b"\n".join(lines) + b"\n"
    compiled = _parse(data, compiled=True, min_rows=16)
    assert _summary(compiled) == _summary(_parse(data, compiled=False, min_rows=16))
    assert _summary(compiled) == _summary(JsonLinesParser(None, {}).parse_by_line(LineChunk(data, 3, 40)))
    assert compiled.events or compiled.rejected
