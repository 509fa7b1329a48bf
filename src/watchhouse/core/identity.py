"""Pseudonymisation of user identifiers at ingest.

Identifiers are replaced by a keyed HMAC-SHA256 pseudonym before any detector sees them, so
alerts, logs and the office database never hold a cleartext account name by default. The same
key always gives the same pseudonym (detectors can still count per account, and re-scans give
the same alert ids); without the key a pseudonym cannot be reversed or even confirmed. Looking a
known account up is the forward direction: pseudonymise the name and search for the result.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a column is pseudonymised: the office's commands never do
    import pyarrow as pa

PREFIX = "p-"
_LENGTH = 16  # hex digits: 64 bits, ample for equality within one platform


class Pseudonymizer:
    """Keyed, deterministic pseudonyms; the key is given by the composition root.

    ``on_mapping`` (optional) receives each column's distinct ``identifier -> pseudonym`` pairs, so
    the office's identity vault can record what it will later need to reveal; it is off unless the
    composition root passes it, and costs nothing per row (the pairs are computed anyway).
    """

    def __init__(self, key: bytes, on_mapping: Callable[[Mapping[str, str]], None] | None = None) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key
        self._on_mapping = on_mapping

    def pseudonym(self, identifier: str) -> str:
        if identifier.startswith(PREFIX) and len(identifier) == len(PREFIX) + _LENGTH:
            return identifier  # already pseudonymised upstream: never hash twice
        digest = hmac.new(self._key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:_LENGTH]

    def column(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonymise a string column, hashing each distinct value once."""
        # imported here, not at the top: every office command imports this module (to look a name
        # up, to check a pseudonym) and none reads a column; the two took 0.3-0.45 s of its start
        import polars as pl
        import pyarrow as pa

        series = pl.Series(values=values) if not isinstance(values, pl.Series) else values
        uniques = series.drop_nulls().unique()
        mapping = {v: self.pseudonym(v) for v in uniques.to_list()}
        if self._on_mapping is not None:
            fresh = {v: p for v, p in mapping.items() if v != p}
            if fresh:
                self._on_mapping(fresh)
        mapped = series.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else series
        return mapped.to_arrow().cast(pa.string())


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX) and len(value) == len(PREFIX) + _LENGTH
