"""``watchhouse rules``: check a Sigma rule pack and see what of it Watchhouse can run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from watchhouse.sigma.engine import SigmaEngine, Status, verdict_reasons
from watchhouse.sigma.loader import load_rules

app = typer.Typer(help="Validate and inspect Sigma rule packs.", no_args_is_help=True)


@app.command("validate")
def validate(paths: list[Path] = typer.Argument(..., help="rule files or folders")) -> None:  # noqa: B008
    """Report every rule problem as file:line (all of them, not just the first); exit 1 if any."""
    loaded = load_rules(paths)
    for problem in loaded.problems:
        typer.echo(str(problem))
    engine = SigmaEngine(loaded.rules)
    unsupported = [v for v in engine.verdicts if v.status is Status.UNSUPPORTED]
    for verdict in unsupported:
        typer.echo(f"{verdict.path}: unsupported rule {verdict.rule_id}: {verdict.reason}")
    typer.echo(
        f"{len(loaded.files)} files, {len(loaded.rules)} rules loaded, {len(loaded.problems)} problems, "
        f"{len(unsupported)} unsupported"
    )
    if loaded.problems:
        raise typer.Exit(1)


@app.command("list")
def list_rules(
    paths: list[Path] = typer.Argument(..., help="rule files or folders"),  # noqa: B008
    details: bool = typer.Option(False, "--details", help="also list each rule that cannot run, with why"),
) -> None:
    """Counts by log source: how many rules run on Watchhouse data, compile only, or cannot run, and why."""
    loaded = load_rules(paths)
    engine = SigmaEngine(loaded.rules)
    by_source: dict[str, Counter[Status]] = {}
    for verdict in engine.verdicts:
        by_source.setdefault(verdict.logsource, Counter())[verdict.status] += 1
    typer.echo(f"{'log source (product/category/service)':<60} {'routed':>7} {'unrouted':>9} {'unsupported':>12}")
    for source, counts in sorted(by_source.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        typer.echo(
            f"{source:<60} {counts[Status.ROUTED]:>7} {counts[Status.UNROUTED]:>9} {counts[Status.UNSUPPORTED]:>12}"
        )
    totals = engine.summary()
    total = len(loaded.rules) + len(loaded.problems)
    evaluable = totals[Status.ROUTED] + totals[Status.UNROUTED]
    typer.echo(
        f"total {total}: evaluable {evaluable} ({totals[Status.ROUTED]} routed to a Watchhouse dataset, "
        f"{totals[Status.UNROUTED]} compiled for generic records), unsupported {totals[Status.UNSUPPORTED]}, "
        f"failed to load {len(loaded.problems)}"
    )
    typer.echo("why not routed / not supported:")
    for reason, count in verdict_reasons(engine.verdicts).items():
        typer.echo(f"  {count:>5}  {reason}")
    if details:
        for verdict in engine.verdicts:
            if verdict.status is not Status.ROUTED:
                typer.echo(f"{verdict.status}\t{verdict.rule_id}\t{verdict.path}\t{verdict.reason}")
