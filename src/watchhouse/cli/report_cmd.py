"""``watchhouse report``: reports generated from the office's records (the generation is audited)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.office.reports.render import write_transparency

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(help="Reports computed from the office's records.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Reports (a group, so more reports can join ``transparency``)."""


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date like 2026-01-01, not {text!r}") from None


@app.command("transparency")
def transparency(
    date_from: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Last day of the period, inclusive (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option(help="Folder for transparency.html and the CSV tables.")],
    purpose: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Requests by country and type, accounts, share produced, preservation/emergency, actions, appeals."""
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    with open_local_office(home, db_url) as office:
        report = office.transparency.generate(actor_name(actor), start, end, purpose)
    written = write_transparency(report, out)
    plain_console().print(
        f"{report.total.requests} request(s) from {len(report.by_country)} countr(y/ies); wrote "
        + ", ".join(p.name for p in written)
        + f" to {out}",
        highlight=False,
    )
