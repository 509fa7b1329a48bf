"""Converting a whole column of JSON values to its schema type at once.

Why: the values of one field almost always share one JSON type already right for the schema
(text for text, integers for integers), so one look at the set of types present lets Arrow take
the column in a single C-level pass. Only a column mixing types goes value by value, through the
same :func:`~watchhouse.ingest.fields.convert` the per-line path uses, so both agree on every
value and on every value refused.

Timestamps in the strict RFC 3339 form producers write are parsed by Arrow in bulk; the pattern
admits nothing Python's ``datetime.fromisoformat`` would read differently (no year 0, no hour 24,
no leap second, at most microseconds), and an impossible date makes Arrow refuse the whole column,
which then goes the exact way. Where the compiled kernel is built, the pattern is checked by its
twin (:func:`watchhouse._native._jsonl.strict_stamps`): one C loop instead of a regular expression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from watchhouse._native import jsonl as native_jsonl
from watchhouse.core.events import TIMESTAMP
from watchhouse.ingest.fields import FieldError, convert, parse_timestamp

_NO_VALUE = type(None)
_STRICT_STAMP = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: the JSON types a column may hold to go to Arrow as it is, per kind
_NATIVE: dict[str, frozenset[type]] = {
    "str": frozenset({str, _NO_VALUE}),
    "int": frozenset({int, _NO_VALUE}),  # type(), not isinstance: a bool is not an integer here
    "int32": frozenset({int, _NO_VALUE}),
    "float": frozenset({float, _NO_VALUE}),
}


def convert_column(
    name: str, kind: str, arrow_type: pa.DataType, values: Sequence[Any], stamp: Callable[[str], int]
) -> tuple[pa.Array, list[int]]:
    """``values`` as an Arrow array of ``arrow_type``, and the positions that cannot be converted.

    A refused position holds a null; the caller asks the per-line path for its reason.
    ``stamp`` parses one timestamp text (the caller remembers the texts it has seen).
    """
    if kind == "ts":
        return _timestamps(values, stamp)
    kinds = value_types(values)
    if kinds <= _NATIVE[kind]:
        try:
            return pa.array(values, arrow_type), []
        except (pa.ArrowInvalid, OverflowError):  # an integer past the column's width
            pass
    elif kind == "str" and kinds == {dict}:  # request headers: compact JSON text, as convert() writes
        try:
            return pa.array(list(map(orjson.dumps, values)), arrow_type), []
        except orjson.JSONEncodeError:
            pass
    out: list[object] = []
    refused: list[int] = []
    for position, value in enumerate(values):
        try:
            out.append(convert(name, kind, value))
        except FieldError:
            out.append(None)
            refused.append(position)
    return pa.array(out, arrow_type), refused


def value_types(values: Sequence[Any]) -> set[type]:
    """The JSON types present in a column (its compiled twin only looks up a change of type)."""
    if native_jsonl is not None and type(values) is list:
        kinds: set[type] = native_jsonl.value_types(values)
        return kinds
    return set(map(type, values))


def _strict_texts(values: Sequence[Any]) -> pa.Array | None:
    """The values as Arrow texts where every one is a text of the strict pattern, else None.

    The compiled twin checks the pattern in one loop over the values; the reference is the
    regular expression over the Arrow texts.
    """
    if native_jsonl is not None and type(values) is list:
        return pa.array(values, pa.string()) if native_jsonl.strict_stamps(values) else None
    if not values or set(map(type, values)) != {str}:
        return None
    texts = pa.array(values, pa.string())
    return texts if pc.all(pc.match_substring_regex(texts, _STRICT_STAMP)).as_py() else None


def _timestamps(values: Sequence[Any], stamp: Callable[[str], int]) -> tuple[pa.Array, list[int]]:
    texts = _strict_texts(values)
    if texts is not None:
        try:
            return pc.cast(texts, TIMESTAMP), []
        except pa.ArrowInvalid:  # an impossible date (April 31): the exact parser names it
            pass
    if value_types(values) == {str}:
        parsed: dict[str, int | None] = {}
        for text in dict.fromkeys(values):  # neighbouring lines share their timestamp text
            try:
                parsed[text] = stamp(text)
            except FieldError:
                parsed[text] = None
        out = list(map(parsed.__getitem__, values))
        refused = [position for position, value in enumerate(out) if value is None] if None in parsed.values() else []
        return pa.array(out, TIMESTAMP), refused
    outs: list[int | None] = []
    refused = []
    for position, value in enumerate(values):
        try:
            outs.append(stamp(value) if type(value) is str else parse_timestamp(value))
        except FieldError:
            outs.append(None)
            refused.append(position)
    return pa.array(outs, TIMESTAMP), refused
