"""``watchhouse demo``: simulate a day of a platform, scan it, and score the result."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from watchhouse.simulate import SimulationConfig

from .eval_cmd import evaluate_files
from .home import Home
from .render import eval_tables
from .scan import ScanRequest, execute_scan, print_scan_summary
from .simulate_cmd import run_simulation, simulation_table

SCANNED = (
    "access.log",
    "auth.jsonl",
    "sshd.log",
    "messages.jsonl",
    "payments.jsonl",
    "uploads.jsonl",
    "record_access.jsonl",
)


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's data, office and alerts.")] = Path(
        "demo-out"
    ),
    users: Annotated[int, typer.Option(min=10, help="Simulated platform users.")] = 2000,
    hours: Annotated[float, typer.Option(min=0.1, help="Hours of activity.")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run the whole path on embedded defaults: simulate → scan → evaluate.

    Writes a simulated day of platform traffic with injected crimes to OUT/data, scans it into
    the embedded office database OUT/office/office.db and OUT/alerts.jsonl, then prints
    precision and recall against the injected ground truth.
    """
    console = Console()
    status = Console(stderr=True)
    data = out / "data"
    office = Home(out / "office")
    if data.exists():
        shutil.rmtree(data)
    office.database.unlink(missing_ok=True)

    console.print(Rule("1. simulate a day of platform traffic with injected crimes"))
    sim = run_simulation(SimulationConfig(out_dir=data, users=users, hours=hours, seed=seed), status, progress=progress)
    for table in simulation_table(sim):
        console.print(table)

    console.print(Rule("2. scan it into explained alerts"))
    paths = [str(data / name) for name in SCANNED if (data / name).exists()]
    alerts_file = out / "alerts.jsonl"
    summary = execute_scan(ScanRequest(paths=paths, home=office, out=alerts_file, progress=progress), status)
    print_scan_summary(summary, console, out=alerts_file, db=office.database)

    console.print(Rule("3. score the alerts against the ground truth"))
    report = evaluate_files(data / "labels.jsonl", alerts_file)
    for table in eval_tables(report):
        console.print(table)
    console.print(Rule("next"))
    console.print(f"  watchhouse alerts list --home {office.root}")
    console.print(f"  watchhouse alerts show <id> --home {office.root}")
    console.print(f"  watchhouse eval --labels {data / 'labels.jsonl'} --alerts {alerts_file}")
