"""Canonical JSON: one byte sequence per value, so hashes and signatures over it are reproducible.

The form is RFC 8785 (JSON Canonicalization Scheme) restricted to the types the office writes:

* ``null``, ``true``, ``false``; strings; integers with magnitude below 2**53 (JCS's exact range);
  arrays; objects whose keys are strings. Floats are refused rather than rounded: a value that
  must be hashed and re-verified years later is written as a string or a scaled integer.
* Objects: members sorted by key compared as UTF-16 code units (JCS 3.2.3), no duplicate keys.
* No whitespace anywhere; ``,`` and ``:`` as separators.
* Strings: ``"`` and ``\\`` escaped, U+0008/0009/000A/000C/000D as ``\\b \\t \\n \\f \\r``,
  other characters below U+0020 as ``\\u00xx`` with lowercase hex, everything else (including
  non-ASCII and ``/``) written as itself.
* The whole text encoded as UTF-8; lone surrogates are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of ``value``; raises ``ValueError`` for anything outside the form."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"string is not valid Unicode (lone surrogate): {exc}") from None


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside the exactly representable range ±(2**53-1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise ValueError(f"floats have no canonical form here; write {value!r} as a string")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        _write_object(value, out)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise ValueError(f"{type(value).__name__} has no canonical JSON form")


def _write_object(value: Mapping[Any, Any], out: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"object keys must be strings, got {key!r}")
    out.append("{")
    for index, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
        if index:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(value[key], out)
    out.append("}")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'
