"""``watchhouse eval crs`` and ``watchhouse eval params``: web.attack_patterns against public ground truth.

Thin: loading and scoring live in :mod:`watchhouse.detectors.web.evaluation`; this module parses
options, builds the detector at the asked paranoia level and prints rich tables (or JSON). The
detector and the corpora readers are imported where a command runs: ``--help`` does not load them.
Register with ``eval_cmd.app.command("crs")(eval_crs)`` and ``eval_cmd.app.command("params")(eval_params)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.detectors.web.defaults import DEFAULT_PARANOIA, DEFAULT_THRESHOLD

_Paranoia = Annotated[int, typer.Option(min=1, max=4, help="Paranoia level 1-4 (CRS meaning).")]
_Threshold = Annotated[int, typer.Option(min=1, help="Anomaly score a request needs to be flagged.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the figures as JSON instead of tables.")]


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _emit(console: Console, data: dict[str, Any], as_json: bool, tables: list[Table]) -> None:
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
        return
    for table in tables:
        console.print(table)


def eval_crs(
    path: Annotated[Path, typer.Argument(help="The crs-tests folder (or derived/crs_requests.jsonl).")],
    paranoia: _Paranoia = DEFAULT_PARANOIA,
    threshold: _Threshold = DEFAULT_THRESHOLD,
    json_out: _Json = False,
) -> None:
    """Replay the OWASP CRS regression requests: share of "fire" tests flagged per family, benign left alone.

    Example: watchhouse eval crs ../shared/corpora/crs-tests --paranoia 4
    """
    from watchhouse.detectors.web.attack_patterns import WebAttackDetector
    from watchhouse.detectors.web.evaluation import evaluate_crs, load_crs

    report = evaluate_crs(
        load_crs(path), lambda: WebAttackDetector(paranoia_level=paranoia, anomaly_threshold=threshold)
    )
    data = {"paranoia_level": paranoia, "anomaly_threshold": threshold, **report.to_dict()}
    table = Table(title=f"CRS fire tests flagged (paranoia {paranoia}, threshold {threshold})")
    for column in ("family", "flagged", "tests", "share"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for family, rate in sorted(report.fire.items()):
        table.add_row(family, str(rate.hit), str(rate.total), _pct(rate.share))
    table.add_row(
        "overall", str(report.overall.hit), str(report.overall.total), _pct(report.overall.share), style="bold"
    )
    benign = Table(title="Benign 999999 tests")
    for column in ("left alone", "flagged", "tests", "response-side fire tests not inspected"):
        benign.add_column(column, justify="right")
    benign.add_row(
        str(report.benign.total - report.benign.hit),
        str(report.benign.hit),
        str(report.benign.total),
        str(report.response_side_fire),
    )
    misses = Table(title="Missed fire tests by payload location")
    locations = sorted({loc for counts in report.missed_by_location.values() for loc in counts})
    for column in ("family", *locations):
        misses.add_column(column, justify="left" if column == "family" else "right")
    for family, counts in sorted(report.missed_by_location.items()):
        misses.add_row(family, *(str(counts.get(loc, 0)) for loc in locations))
    _emit(plain_console(), data, json_out, [table, benign, misses])


def eval_params(
    path: Annotated[Path, typer.Argument(help="The httpparamsdataset folder (or a payload CSV).")],
    paranoia: _Paranoia = DEFAULT_PARANOIA,
    threshold: _Threshold = DEFAULT_THRESHOLD,
    json_out: _Json = False,
) -> None:
    """Detection per attack class and false positives on ``norm`` values of HttpParamsDataset.

    Example: watchhouse eval params ../shared/corpora/web/httpparamsdataset
    """
    from watchhouse.detectors.web.attack_patterns import WebAttackDetector
    from watchhouse.detectors.web.evaluation import evaluate_params, load_params

    payloads, labels = load_params(path)
    report = evaluate_params(
        payloads, labels, lambda: WebAttackDetector(paranoia_level=paranoia, anomaly_threshold=threshold)
    )
    data = {"paranoia_level": paranoia, "anomaly_threshold": threshold, **report.to_dict()}
    table = Table(title=f"HttpParamsDataset (paranoia {paranoia}, threshold {threshold})")
    for column in ("class", "flagged", "values", "share"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for label, rate in report.by_class.items():
        name = "norm (false positives)" if label == "norm" else label
        table.add_row(name, str(rate.hit), str(rate.total), _pct(rate.share))
    filled = report.traversal_filled
    table.add_row("path-traversal, {file} filled", str(filled.hit), str(filled.total), _pct(filled.share))
    _emit(plain_console(), data, json_out, [table])
