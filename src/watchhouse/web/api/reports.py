"""``/api/v1/reports``: the transparency report for a period, as JSON and as the CSV tables.

The figures are computed from the records on every call (nothing is cached or typed in), and each
generation is an audited export naming the period, so the log shows who produced which figures.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.reports.render import csv_table
from watchhouse.web.auth import api_actor
from watchhouse.web.context import ctx_of

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[Session, Depends(api_actor(Permission.REPORT_READ))]
Start = Annotated[date, Query(alias="from", description="First day of the period (YYYY-MM-DD).")]
End = Annotated[date, Query(alias="to", description="Last day of the period, inclusive (YYYY-MM-DD).")]
Table = Annotated[str, Query(pattern="^(by_country|by_type|actions)$")]


@router.get("/transparency")
def transparency(
    request: Request, session: Reader, start: Start, end: End, purpose: str | None = None
) -> dict[str, Any]:
    """Requests by country and type (accounts, share produced, preservation, emergency), actions, appeals."""
    office = ctx_of(request).office
    return office.transparency.generate(session.account.username, start, end, purpose).to_dict()


@router.get("/transparency.csv", response_class=Response)
def transparency_csv(
    request: Request, session: Reader, start: Start, end: End, table: Table = "by_country", purpose: str | None = None
) -> Response:
    """One table of the report as CSV: ``by_country``, ``by_type`` or ``actions``."""
    report = ctx_of(request).office.transparency.generate(session.account.username, start, end, purpose)
    name = f"transparency-{start.isoformat()}-{end.isoformat()}-{table}.csv"
    return Response(
        csv_table(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
