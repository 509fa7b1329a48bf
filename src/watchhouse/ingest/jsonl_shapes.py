"""Flattening many parsed JSON objects at once: column by column, not object by object.

Why: walking every nested event in Python cost more than parsing it (an ECS auth event carries six
objects). Here objects with the same keys are grouped once, each key's values are taken out as one
column with C-level loops (``map``), and a column of objects is flattened the same way one level
down. The outcome is what :func:`watchhouse.ingest.jsonl.flatten` gives each object (the same names
in the same order), or the objects this cannot vouch for, which the caller flattens one by one.
Where the compiled kernel is built (:mod:`watchhouse._native._jsonl`), :func:`batch_groups` walks
each object once in C instead; the column flattening here stays the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from watchhouse._native import jsonl as native_jsonl

# Fields whose value is an object by design: kept as JSON text instead of being flattened.
OBJECT_FIELDS = frozenset({"http.request.headers"})
#: nesting deeper than this is left to the per-object flatten (real events nest a few levels)
_MAX_DEPTH = 32
_NONE: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class FlatGroup:
    """Objects sharing one flattened key sequence, as columns."""

    rows: npt.NDArray[np.int64]  # positions in the objects given, ascending
    names: tuple[str, ...]  # flattened names, in the order flatten() gives them
    columns: list[Sequence[Any]]  # per name, its values for ``rows``


def batch_groups(objects: list[Any], min_rows: int) -> tuple[list[FlatGroup], npt.NDArray[np.int64]]:
    """:func:`flat_groups` of a batch of parsed lines, by the compiled kernel where it is built.

    The kernel groups by the flattened key set of each object (anything not a dict is left unsure),
    so the rule for rare key sets applies to those: fewer than ``min_rows`` objects per key set on
    average leaves the whole batch unsure, as the column flattening does.
    """
    if native_jsonl is None:
        return flat_groups(objects, min_rows)
    found, unsure = native_jsonl.flat_groups(objects, OBJECT_FIELDS, _MAX_DEPTH)
    if len(found) * min_rows > len(objects):
        return [], np.arange(len(objects), dtype=np.int64)
    groups = [FlatGroup(np.asarray(rows, dtype=np.int64), names, columns) for rows, names, columns in found]
    return groups, np.asarray(unsure, dtype=np.int64)


def flat_groups(
    objects: Sequence[dict[str, Any]], min_rows: int, prefix: str = "", depth: int = 0
) -> tuple[list[FlatGroup], npt.NDArray[np.int64]]:
    """Partition ``objects`` by flattened key sequence; also return the positions left unsure.

    A key set shared by fewer than ``min_rows`` objects on average is not worth grouping: all are
    then left unsure, and so are objects whose flattening the columns cannot reproduce exactly (a
    key holding an object in some rows and a value in others, names colliding after flattening).
    """
    count = len(objects)
    if not count:
        return [], _NONE
    if depth > _MAX_DEPTH:
        return [], np.arange(count, dtype=np.int64)
    keys = list(map(tuple, objects))
    first = keys[0]
    if keys.count(first) == count:  # one key set (equal keys are the same objects: a quick compare)
        columns: list[Sequence[Any]] = [list(map(itemgetter(key), objects)) for key in first]
        return flat_columns(first, columns, count, min_rows, prefix, depth)
    shapes = dict.fromkeys(keys)
    if len(shapes) * min_rows > count:
        return [], np.arange(count, dtype=np.int64)
    number = {shape: i for i, shape in enumerate(shapes)}
    ids = np.fromiter(map(number.__getitem__, keys), dtype=np.int64, count=count)
    order = np.argsort(ids, kind="stable")  # stable: each shape's positions stay ascending
    bounds = np.cumsum(np.bincount(ids, minlength=len(shapes))).tolist()
    groups: list[FlatGroup] = []
    unsure: list[npt.NDArray[np.int64]] = []
    start = 0
    for shape, end in zip(shapes, bounds, strict=True):
        rows = order[start:end]
        start = end
        part = list(map(objects.__getitem__, rows.tolist()))
        found, doubt = flat_columns(
            shape, [list(map(itemgetter(key), part)) for key in shape], len(part), min_rows, prefix, depth
        )
        groups.extend(FlatGroup(rows[g.rows], g.names, g.columns) for g in found)
        unsure.append(rows[doubt])
    return groups, np.sort(np.concatenate(unsure))


def flat_columns(
    shape: tuple[str, ...], columns: list[Sequence[Any]], count: int, min_rows: int, prefix: str = "", depth: int = 0
) -> tuple[list[FlatGroup], npt.NDArray[np.int64]]:
    """Flatten ``count`` objects given as the columns of their keys ``shape`` (in that order)."""
    everyone = np.arange(count, dtype=np.int64)
    names: list[str] = []
    flat: list[Sequence[Any]] = []
    for key, column in zip(shape, columns, strict=True):
        name = prefix + key
        if name not in OBJECT_FIELDS:
            kinds = set(map(type, column))
            if dict in kinds and (kinds != {dict} or any(column)):  # all empty objects stay values
                if kinds != {dict} or not all(column):  # objects mixed with values or empty ones
                    return [], everyone
                found, doubt = flat_groups(column, min_rows, name + ".", depth + 1)
                if len(found) == 1 and not len(doubt):
                    names.extend(found[0].names)
                    flat.extend(found[0].columns)
                    continue
                return _split(shape, columns, min_rows, prefix, depth, found, doubt)
        names.append(name)
        flat.append(column)
    if len(set(names)) < len(names):  # {"a.b": 1, "a": {"b": 2}}: flatten keeps one, at the first place
        return [], everyone
    return [FlatGroup(everyone, tuple(names), flat)], _NONE


def _split(
    shape: tuple[str, ...],
    columns: list[Sequence[Any]],
    min_rows: int,
    prefix: str,
    depth: int,
    found: list[FlatGroup],
    doubt: npt.NDArray[np.int64],
) -> tuple[list[FlatGroup], npt.NDArray[np.int64]]:
    """One key's objects differ in shape: flatten each of its groups on its own (each is smaller)."""
    groups: list[FlatGroup] = []
    unsure = [doubt]
    for part in found:
        take = part.rows.tolist()
        inner, inner_doubt = flat_columns(
            shape, [list(map(column.__getitem__, take)) for column in columns], len(take), min_rows, prefix, depth
        )
        groups.extend(FlatGroup(part.rows[g.rows], g.names, g.columns) for g in inner)
        unsure.append(part.rows[inner_doubt])
    return groups, np.sort(np.concatenate(unsure))
