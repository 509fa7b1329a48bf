"""``watchhouse alerts``: look at what scans found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CRIMES, CrimeCode
from watchhouse.storage.alert_store import AlertFilter, AlertStore

from .home import Home

app = typer.Typer(help="List and inspect stored alerts.", no_args_is_help=True)

HomeOption = Annotated[Path | None, typer.Option(help="Watchhouse home folder. Default: ./.watchhouse")]
DbOption = Annotated[Path | None, typer.Option(help="Office database. Default: HOME/office.db")]


def _store(home: Path | None, db: Path | None) -> AlertStore:
    path = db or Home.resolve(home).database
    if not path.exists():
        raise UsageError(f"no office database at {path}; run `watchhouse scan` first (or pass --db)")
    return AlertStore.sqlite(path)


@app.command("list")
def list_alerts(
    crime: Annotated[CrimeCode | None, typer.Option(help="Only this crime code.")] = None,
    min_severity: Annotated[str, typer.Option(help="Only at or above this severity.")] = "info",
    detector: Annotated[str | None, typer.Option(help="Only from this detector.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only about this subject (IP or pseudonym).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, most severe and newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    home: HomeOption = None,
    db: DbOption = None,
) -> None:
    """List alerts, most severe first."""
    try:
        severity = Severity.parse(min_severity)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    found = _store(home, db).query(
        AlertFilter(crime_code=crime, min_severity=severity, detector=detector, subject=subject, limit=limit)
    )
    console = Console()
    if as_json:
        for alert in found:
            console.print_json(orjson.dumps(alert.to_dict()).decode())
        return
    table = Table(title=f"{len(found)} alert(s)")
    for column in ("id", "severity", "crime", "stage", "detector", "subject", "first seen", "events", "title"):
        table.add_column(column)
    for a in found:
        table.add_row(
            a.id,
            str(a.severity),
            a.crime_code.value,
            a.stage.value,
            a.detector,
            a.subject.value,
            f"{a.first_seen:%Y-%m-%d %H:%M:%S}",
            str(len(a.evidence)),
            a.title,
        )
    console.print(table)


@app.command("show")
def show_alert(
    alert_id: Annotated[str, typer.Argument(help="Alert id (a unique prefix is enough).")],
    evidence: Annotated[int, typer.Option(help="How many evidence references to print.")] = 20,
    home: HomeOption = None,
    db: DbOption = None,
) -> None:
    """Show one alert in full: explanation, details and the input lines behind it."""
    store = _store(home, db)
    alert = store.get(alert_id)
    if alert is None:
        matches = store.find_prefix(alert_id)
        if len(matches) != 1:
            raise UsageError(f"no alert {alert_id!r}" if not matches else f"{alert_id!r} is ambiguous: {matches}")
        alert = store.get(matches[0])
    assert alert is not None
    console = Console()
    crime = CRIMES[alert.crime_code]
    console.print(f"[bold]{alert.title}[/bold]")
    console.print(f"id {alert.id} · {alert.detector} v{alert.detector_version}")
    console.print(f"crime: {crime.title} — {crime.instrument} ({alert.stage.value})")
    console.print(f"severity {alert.severity} · confidence {alert.confidence:.2f} · subject {alert.subject}")
    console.print(f"seen {alert.first_seen.isoformat()} → {alert.last_seen.isoformat()}")
    console.print()
    console.print(alert.explanation)
    console.print()
    console.print_json(orjson.dumps(alert.details).decode())
    console.print(f"\nevidence ({len(alert.evidence)} event(s)):")
    for ref in alert.evidence[:evidence]:
        where = f"{ref.path}:{ref.line}" if ref.line is not None else f"{ref.path}@{ref.offset}"
        console.print(f"  {where}")
    if len(alert.evidence) > evidence:
        console.print(f"  … and {len(alert.evidence) - evidence} more (use --evidence N)")
