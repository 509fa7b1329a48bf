"""Field handling shared by the record-shaped formats (JSON lines and CSV).

Converts loosely typed source values to the fixed schema types and infers a row's dataset from
the fields it carries, so a mixed ECS export lands in the right typed batches.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow as pa

from watchhouse.core.digits import ascii_digits
from watchhouse.core.events import SCHEMAS, TIMESTAMP_FIELD, Dataset

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
# Epoch values above this are milliseconds: 1e11 seconds is the year 5138.
_MILLIS_THRESHOLD = 100_000_000_000
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: the epoch seconds an epoch number may stand for: the years datetime (and an ISO text) can hold.
#: Past them a number once went on to the timestamp column and overflowed it, stopping the read.
_FIRST_SECOND = (datetime.min.replace(tzinfo=UTC) - _EPOCH).total_seconds()
_LAST_SECOND = (datetime.max.replace(tzinfo=UTC) - _EPOCH).total_seconds()
DATASET_VALUES: frozenset[str] = frozenset(d.value for d in Dataset)

_INT32 = 2**31


def _kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "ts"
    if pa.types.is_int32(arrow_type):  # its own kind: a value past 32 bits is quarantined, not fatal
        return "int32"
    if pa.types.is_integer(arrow_type):
        return "int"
    return "float" if pa.types.is_floating(arrow_type) else "str"


# field -> (arrow type kind) for every dataset, so conversion needs one dict lookup per value.
FIELD_KINDS: dict[Dataset, dict[str, str]] = {d: {f.name: _kind(f.type) for f in SCHEMAS[d]} for d in Dataset}
PROVENANCE = frozenset({"log.file.path", "log.file.line", "log.offset"})


class FieldError(ValueError):
    """A value that cannot be converted; the message is the quarantine reason."""


def parse_timestamp(value: object) -> int:
    """Microseconds since the epoch from ISO-8601 text (Z, offset or naive = UTC) or epoch s/ms."""
    if isinstance(value, bool):
        raise FieldError(f"invalid {TIMESTAMP_FIELD} {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MILLIS_THRESHOLD else value
        if not _FIRST_SECOND <= seconds <= _LAST_SECOND:  # (a NaN is in no range either)
            raise FieldError(f"invalid {TIMESTAMP_FIELD} {str(value)[:60]!r}: not a time between the years 1 and 9999")
        return round(seconds * 1_000_000)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return parse_timestamp(float(text) if "." in text else int(text))
        try:
            stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise FieldError(f"invalid {TIMESTAMP_FIELD} {value[:60]!r}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return (stamp - _EPOCH) // _MICRO
    if value is None:
        raise FieldError(f"missing {TIMESTAMP_FIELD}")
    raise FieldError(f"invalid {TIMESTAMP_FIELD} of type {type(value).__name__}")


def convert(name: str, kind: str, value: object) -> object:
    """One value to its schema kind; containers become compact JSON text (e.g. request headers)."""
    if value is None:
        return None
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            try:
                return orjson.dumps(value).decode()
            except orjson.JSONEncodeError:  # nested deeper than orjson writes (it reads deeper)
                raise FieldError(f"field {name}: object nested too deeply to keep as text") from None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind == "int" or kind == "int32":
        bound = 2**63 if kind == "int" else _INT32
        if isinstance(value, int) and not isinstance(value, bool):
            if -bound <= value < bound:
                return value
        elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and _integer_text(value)):
            number = int(value)
            if -bound <= number < bound:
                return number
        width = "an integer" if kind == "int" else "a 32-bit integer"
        raise FieldError(f"field {name}: cannot convert {_show(value)} to {width}")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise FieldError(f"field {name}: cannot convert {_show(value)} to a number")
    return parse_timestamp(value)


def _integer_text(value: str) -> bool:
    """Whether ``value`` is a decimal integer as logs write one: ASCII digits, at most one leading
    minus sign, surrounding blanks, under 19 characters (so within 64 bits).

    Why ASCII: ``str.isdigit`` also holds for superscripts ("²") and other digit signs that
    ``int`` refuses, and such a value stopped the whole read; ``int`` also reads digits of other
    scripts, which no log writes in a number field. Anything else is refused as a value, which
    costs its own line only.
    """
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    return len(text) < 19 and ascii_digits(digits)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def infer_dataset(fields: Collection[str]) -> Dataset | None:
    """Guess the dataset from the fields present; the order puts the most specific signals first."""
    if "transaction.amount" in fields:
        return Dataset.TRANSACTION
    if any(f.startswith("file.hash.") for f in fields):
        return Dataset.MEDIA
    if "data.record.type" in fields:
        return Dataset.DATA_ACCESS
    if "http.request.method" in fields or "url.original" in fields or "http.response.status_code" in fields:
        return Dataset.HTTP
    if "message" in fields and "user.target.name" in fields:
        return Dataset.MESSAGE
    if "event.outcome" in fields and "user.name" in fields:
        return Dataset.AUTH
    if "process.name" in fields or ("host.name" in fields and "message" in fields):
        return Dataset.HOST
    return None


def dataset_of(flat: Mapping[str, object], forced: Dataset | None) -> Dataset | None:
    named = flat.get("event.dataset")
    if isinstance(named, str) and named in DATASET_VALUES:
        return Dataset(named)
    if forced is not None:
        return forced
    found = infer_dataset(flat.keys())
    if values_decide(flat.keys(), found) and auth_by_values(flat.get("event.category"), flat.get("event.action")):
        return Dataset.AUTH
    return found


def values_decide(fields: Collection[str], found: Dataset | None) -> bool:
    """Whether events with these fields (``found``: the dataset the fields alone name, or the one
    forced) are each of the dataset their own values say (:func:`auth_by_values`): an outcome but
    nothing that names a dataset. Their key set then has no dataset of its own."""
    return found is None and "event.outcome" in fields


def auth_by_values(category: object, action: object) -> bool:
    """Whether an event whose fields name no dataset (an outcome but no account) says by its values
    that it is an authentication: ``event.category`` holds "authentication", or the action is a
    login. Such a key set's dataset is then a property of each event, not of the key set."""
    if category == "authentication" or (isinstance(category, list) and "authentication" in category):
        return True
    return action == "login"
