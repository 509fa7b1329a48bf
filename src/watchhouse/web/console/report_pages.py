"""Console: the transparency report for a period — on screen, as the standalone HTML page, as CSV.

The on-screen page renders the report's figures in the console template (the console's CSP allows
no inline style); the standalone page is :func:`transparency_html` byte for byte, served with a
policy that allows exactly its one inline stylesheet by hash, so what is downloaded here is what
the CLI writes and what gets published. Every view generates the report afresh and is audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.reports.render import COLUMNS, CSV_TABLES, HTML_CSP, csv_table, transparency_html
from watchhouse.office.reports.transparency import TransparencyReport
from watchhouse.web.auth import page_actor
from watchhouse.web.console.render import page
from watchhouse.web.context import ctx_of

router = APIRouter(include_in_schema=False)
Reader = Annotated[Session, Depends(page_actor(Permission.REPORT_READ))]
Day = Annotated[str, Query(alias="from", max_length=10)]
LastDay = Annotated[str, Query(alias="to", max_length=10)]


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date like 2026-01-31, not {text!r}") from None


def _generate(request: Request, session: Session, start: str, end: str) -> TransparencyReport:
    office = ctx_of(request).office
    return office.transparency.generate(session.account.username, _day(start, "from"), _day(end, "to"))


@router.get("/reports/transparency")
def transparency_page(request: Request, session: Reader, start: Day = "", end: LastDay = "") -> HTMLResponse:
    """Without a period, the form (defaulting to this year so far); with one, the report under it."""
    report = _generate(request, session, start, end) if start or end else None
    today = datetime.now(UTC).date()
    return page(
        request,
        session,
        "transparency.html",
        report=report,
        start=start or date(today.year, 1, 1).isoformat(),
        end=end or today.isoformat(),
        columns=COLUMNS,
        tables=CSV_TABLES,
    )


@router.get("/reports/transparency.html")
def transparency_download(request: Request, session: Reader, start: Day, end: LastDay) -> Response:
    report = _generate(request, session, start, end)
    name = f"transparency-{report.start.isoformat()}-{report.end.isoformat()}.html"
    return Response(
        transparency_html(report),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": HTML_CSP, "Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/reports/transparency.csv")
def transparency_csv(
    request: Request,
    session: Reader,
    start: Day,
    end: LastDay,
    table: Annotated[str, Query(max_length=20)] = "by_country",
) -> Response:
    if table not in CSV_TABLES:
        raise UsageError(f"unknown table {table!r}; expected one of {', '.join(CSV_TABLES)}")
    report = _generate(request, session, start, end)
    name = f"transparency-{report.start.isoformat()}-{report.end.isoformat()}-{table}.csv"
    return Response(
        csv_table(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
