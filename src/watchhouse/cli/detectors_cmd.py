"""``watchhouse detectors``: what can run, and what each one looks for."""

from __future__ import annotations

import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.taxonomy import CRIMES
from watchhouse.detect.registry import DetectorRegistry

app = typer.Typer(help="List the available detectors.", no_args_is_help=True)


@app.command("list")
def list_detectors() -> None:
    """Every built-in and plug-in detector with its datasets, crime and summary."""
    table = Table(title="Detectors")
    for column in ("name", "version", "datasets", "crime", "default severity", "summary"):
        table.add_column(column)
    for info in DetectorRegistry.default().infos():
        table.add_row(
            info.name,
            info.version,
            ", ".join(sorted(d.value for d in info.datasets)),
            f"{info.crime_code.value} ({CRIMES[info.crime_code].instrument.split(', ')[-1]})",
            str(info.default_severity),
            info.summary,
        )
    plain_console().print(table)
