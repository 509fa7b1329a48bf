"""``watchhouse eval``: measure alerts against ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.eval.labelled import EvalReport, evaluate, load_labels

from .render import eval_tables

app = typer.Typer(
    help="Measure detection quality. With --labels and --alerts: precision and recall against line labels.",
    invoke_without_command=True,
)


def evaluate_files(labels: Path, alerts: Path) -> EvalReport:
    from watchhouse.runners.sinks import read_alerts_jsonl  # (the office's store comes with the sinks)

    return evaluate(load_labels(labels), read_alerts_jsonl(alerts))


@app.callback()
def eval_labelled(
    ctx: typer.Context,
    labels: Annotated[Path | None, typer.Option(help="labels.jsonl (path, line, crime_code, scenario).")] = None,
    alerts: Annotated[Path | None, typer.Option(help="Alerts as JSON lines (`watchhouse scan --out`).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Precision and recall per crime code, scenario and detector.

    A labelled line counts as detected when an alert of the same crime code cites it; an alert
    is correct when at least half of its evidence lines carry its crime code.

    Example: watchhouse eval --labels sim/labels.jsonl --alerts alerts.jsonl
    """
    if ctx.invoked_subcommand is not None:
        return
    if labels is None or alerts is None:
        raise UsageError("eval needs --labels FILE and --alerts FILE (see `watchhouse eval --help`)")
    report = evaluate_files(labels, alerts)
    console = plain_console()
    for table in eval_tables(report):
        console.print(table)
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
