"""``watchhouse simulate``: a day of a web platform's traffic with labelled crimes injected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.simulate import (
    ALL_OUTPUTS,
    ALL_SCENARIOS,
    SimulationConfig,
    SimulationSummary,
    estimate_events,
    simulate,
)


def run_simulation(config: SimulationConfig, console: Console, *, progress: bool) -> SimulationSummary:
    if not progress:
        return simulate(config)
    with Progress(
        TextColumn("simulating", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("simulate", total=estimate_events(config))
        summary = simulate(config, progress=lambda n: bar.advance(task, n))
        bar.update(task, completed=bar.tasks[0].total)
    return summary


def simulation_table(summary: SimulationSummary) -> list[Table]:
    files = Table(title=f"Simulated platform activity in {summary.out_dir}", title_justify="left")
    files.add_column("file")
    files.add_column("lines", justify="right")
    for name, count in sorted(summary.files.items()):
        files.add_row(name, f"{count:,}")
    crimes = Table(title="Injected crimes (ground truth in labels.jsonl)", title_justify="left")
    crimes.add_column("scenario")
    crimes.add_column("incidents", justify="right")
    crimes.add_column("labelled lines", justify="right")
    for name, count in sorted(summary.scenarios.items()):
        crimes.add_row(name, f"{summary.instances.get(name, 0):,}", f"{count:,}")
    return [files, crimes]


def _split(value: str | None, allowed: frozenset[str], what: str) -> frozenset[str]:
    if value is None:
        return allowed
    chosen = frozenset(v.strip() for v in value.split(",") if v.strip())
    unknown = chosen - allowed
    if unknown:
        raise UsageError(f"unknown {what}: {', '.join(sorted(unknown))}; choose from {', '.join(sorted(allowed))}")
    return chosen


def simulate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the simulated logs and labels into.")],
    users: Annotated[int, typer.Option(min=10, help="Number of platform users.")] = 1000,
    hours: Annotated[float, typer.Option(min=0.1, help="Hours of activity to simulate.")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same files.")] = 1,
    start: Annotated[
        datetime | None, typer.Option(help="Start time (UTC), e.g. 2026-03-02T00:00:00. Default 2026-03-02.")
    ] = None,
    only: Annotated[
        str | None, typer.Option(help=f"Comma-separated outputs to write: {', '.join(sorted(ALL_OUTPUTS))}.")
    ] = None,
    scenarios: Annotated[
        str | None, typer.Option(help=f"Comma-separated crimes to inject: {', '.join(sorted(ALL_SCENARIOS))}.")
    ] = None,
    intensity: Annotated[float, typer.Option(min=0.0, help="Multiplier for crime volume; 0 = benign only.")] = 1.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write realistic platform traffic with injected, labelled crimes.

    Output: access.log (combined), auth.jsonl, sshd.log, messages.jsonl, payments.jsonl,
    uploads.jsonl, record_access.jsonl, labels.jsonl (path, line, crime_code, scenario) and
    manifest.json. Files are streamed: 10 million events need no more memory than ten thousand.

    Example: watchhouse simulate --out sim --users 2000 --hours 24 --seed 7
    """
    config = SimulationConfig(
        out_dir=out,
        users=users,
        hours=hours,
        seed=seed,
        start=(start.replace(tzinfo=UTC) if start.tzinfo is None else start) if start else SimulationConfig.start,
        outputs=_split(only, ALL_OUTPUTS, "outputs"),
        scenarios=_split(scenarios, ALL_SCENARIOS, "scenarios"),
        intensity=intensity,
    )
    console = plain_console()
    summary = run_simulation(config, plain_console(stderr=True), progress=progress)
    for table in simulation_table(summary):
        console.print(table)
    console.print(f"wrote {sum(summary.files.values()):,} lines in {summary.seconds:.1f}s")
