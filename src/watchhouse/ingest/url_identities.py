"""The record owner's name inside a record-access URL, replaced by the owner's pseudonym.

Record-access logs name whose record was read twice: in ``user.target.name`` (pseudonymised like
every identity column) and again inside the URL (``/admin/users/alice/payout``). Pseudonymising
only the column would leave the name in clear in every alert, explanation and export that quotes
the URL, which defeats pseudonymity by default. The name is replaced only where it stands as a
whole URL segment or parameter value (raw or percent-encoded), so ``ann`` never rewrites
``/channel``. Only the record owner's own name is replaced, and only in ``data_access`` events:
in web access logs a path segment that equals the logged-in user's name is just as likely an
ordinary word (``admin``), and rewriting it would blind the web-attack rules. A purely numeric
owner (an internal account number, not a name) is left in the URL: the order of such numbers is
what shows a scraper walking ``/users/1001``, ``/users/1002``, … (``datatheft.bulk_record_access``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import quote

import polars as pl
import pyarrow as pa


@lru_cache(maxsize=65_536)
def _segment(name: str) -> re.Pattern[str]:
    variants = sorted({name, quote(name, safe="")}, key=len, reverse=True)
    alternatives = "|".join(re.escape(v) for v in variants)
    return re.compile(rf"(?<=[/=:])(?:{alternatives})(?=[/?&#;]|$)")


def mask_owner_in_urls(urls: pa.Array, owners: pa.Array, pseudonym: Callable[[str], str]) -> pa.Array:
    """``urls`` with each row's owner name replaced by its pseudonym where it is a whole segment."""
    frame = pl.DataFrame({"url": pl.Series(values=urls), "owner": pl.Series(values=owners)})
    named = frame.with_row_index("row").filter(
        pl.col("owner").is_not_null() & pl.col("url").is_not_null() & ~pl.col("owner").str.contains(r"^\d*$")
    )
    if named.is_empty():
        return urls
    changed: dict[int, str] = {}
    for row, url, owner in named.select("row", "url", "owner").iter_rows():
        masked = _segment(owner).sub(pseudonym(owner), url)
        if masked != url:
            changed[row] = masked
    if not changed:
        return urls
    values = frame.get_column("url").to_list()
    for row, masked in changed.items():
        values[row] = masked
    return pa.array(values, pa.string())
