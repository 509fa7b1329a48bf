"""Small helpers the fraud and data-theft detectors share to cite evidence and word amounts.

Why a high cap: in these crimes every row names a victim who may have to be told - a card whose
issuer must block it, a user whose record was read (a breach notification lists each one), a
recipient of a scam - so a finding cites every row of its burst up to :data:`EVIDENCE_CAP`. Past
it (a flood), it cites the first and last halves and says so, so one alert stays storable.
"""

from __future__ import annotations

import polars as pl

from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.reporting import evidence

#: rows a finding cites before it cites only the first and last halves of that many
EVIDENCE_CAP = 10_000


def cited(rows: pl.DataFrame, cap: int = EVIDENCE_CAP) -> tuple[tuple[EventRef, ...], str]:
    """Evidence of ``rows`` in stream order (first and last ``cap // 2`` beyond ``cap``) and the
    sentence that says the evidence is a sample (empty when it is not)."""
    ordered = rows.sort("ts", "seq")
    if ordered.height <= cap:
        return evidence(ordered), ""
    half = cap // 2
    shown = pl.concat([ordered.head(half), ordered.tail(half)])
    note = (
        f" Evidence capped: it cites {shown.height} of the {ordered.height} events (the first and last {half});"
        " the counts cover all of them."
    )
    return evidence(shown), note


def money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "?"
    return f"{amount:.2f} {currency}" if currency else f"{amount:.2f}"
