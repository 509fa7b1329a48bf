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

NUL = "\x00"
NUL_MARK = "\u2400"


def storable_text(text: str) -> str:
    return text.replace(NUL, NUL_MARK) if NUL in text else text


def storable(value: Any) -> Any:
    """``value`` with every NUL in its strings (keys included, at any depth) marked."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value
