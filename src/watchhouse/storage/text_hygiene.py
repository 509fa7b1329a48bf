"""Text from attackers' requests made storable on every office backend.

Alerts quote what matched, and what matched is the attacker's choice: a decoded ``%00`` is a real
NUL in a title, an explanation or a finding. SQLite stores it, PostgreSQL refuses the whole
insert ("text fields cannot contain NUL"), and JSONB refuses even the escaped ``\\u0000``. A scan
into a PostgreSQL office must not fail on one hostile line, so stored alert text carries U+2400
(SYMBOL FOR NULL, "␀") where the input had NUL: visible to the analyst, identical on both
backends. The alert's JSON-lines output and its evidence lines keep the original bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

NUL = "\x00"
NUL_MARK = "\u2400"


def storable_text(text: str) -> str:
    return text.replace(NUL, NUL_MARK) if NUL in text else text


def storable(value: Any) -> Any:
    """``value`` with every NUL in its strings (keys included, at any depth) marked.

    Why the first look: walking an alert's details in Python (lists of dicts of strings) was half
    the cost of storing it, and nearly no value holds a NUL. Written by orjson, a NUL anywhere
    (key or string) becomes the escape ``\\u0000``; where that text does not occur, there is
    nothing to mark and the value is stored as it is. A backslash the attacker wrote before
    ``u0000`` also shows the escape, and a value orjson refuses tells nothing: both take the walk.
    """
    if not isinstance(value, str):
        try:
            if b"\\u0000" not in orjson.dumps(value):
                return value
        except (TypeError, orjson.JSONEncodeError):
            pass
    return _marked(value)


def _marked(value: Any) -> Any:
    """:func:`storable` by walking every string of ``value``."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {_marked(k): _marked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(v) for v in value]
    return value
