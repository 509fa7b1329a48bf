"""Rich rendering for the CLI: progress while scanning and the closing summary tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CRIMES, CrimeCode
from watchhouse.eval.labelled import EvalReport, Rate

if TYPE_CHECKING:  # the runner (Polars, Arrow, the store) is what a scan imports, not a help screen
    from watchhouse.runners.embedded import ScanSummary


class RichScanProgress:
    """Byte-based progress (sizes are known up front; event counts are not)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),  # a file name, as it is
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[events]:,} events"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._events = 0

    def __enter__(self) -> RichScanProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, total_bytes: int | None) -> None:
        self._task = self._progress.add_task("scanning", total=total_bytes, events=0)

    def source(self, path: str) -> None:
        if self._task is not None:
            name = path if len(path) <= 40 else "…" + path[-39:]
            self._progress.update(self._task, description=f"scanning {name}")

    def advance(self, nbytes: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, nbytes)

    def events(self, count: int) -> None:
        self._events += count
        if self._task is not None:
            self._progress.update(self._task, events=self._events)


def scan_tables(summary: ScanSummary) -> list[Table]:
    inputs = Table(title="Inputs", title_justify="left")
    for column in ("source", "format", "lines", "events", "blank", "quarantined"):
        inputs.add_column(column, justify="left" if column in ("source", "format") else "right")
    for s in summary.sources:
        events = ", ".join(f"{n:,} {ds}" for ds, n in sorted(s.events.items())) or "0"
        quarantined = Text(f"{s.quarantined:,}", style="red") if s.quarantined else "0"
        inputs.add_row(s.path, s.fmt, f"{s.lines:,}", events, f"{s.blank:,}", quarantined)

    alerts = Table(title="Alerts by crime and severity", title_justify="left")
    alerts.add_column("crime (Budapest Convention article / instrument)")
    severities = [s for s in Severity if any(sev == s for _, sev in summary.alerts)]
    for sev in severities:
        alerts.add_column(str(sev), justify="right")
    alerts.add_column("total", justify="right")
    for code in CrimeCode:
        row = [summary.alerts.get((code, sev), 0) for sev in severities]
        if sum(row):
            label = f"{code.value} ({CRIMES[code].instrument.split(', ')[-1]})"
            alerts.add_row(label, *(f"{n:,}" for n in row), f"{sum(row):,}")

    totals = Table(title="Run", title_justify="left", show_header=False)
    totals.add_column("what")
    totals.add_column("value", justify="right")
    totals.add_row("events read", f"{summary.events:,}")
    totals.add_row("lines quarantined", f"{summary.quarantined:,}")
    totals.add_row("alerts", f"{summary.alert_count:,}")
    totals.add_row("duplicates dropped", f"{summary.post.duplicates:,}")
    totals.add_row("below severity threshold", f"{summary.post.below_threshold:,}")
    totals.add_row("suppressed", f"{summary.post.suppressed_total:,}")
    totals.add_row("seconds", f"{summary.seconds:.2f}")
    totals.add_row("events/s", f"{summary.events_per_second:,.0f}")
    return [inputs, alerts, totals]


def _pct(rate: Rate) -> str:
    value = rate.value
    return "–" if value is None else f"{value:.3f}"


def eval_tables(report: EvalReport) -> list[Table]:
    scenarios = Table(title="Recall per injected scenario", title_justify="left", caption_justify="left")
    scenarios.add_column("scenario", no_wrap=True)
    for column in ("lines", "found", "recall", "incidents", "found", "recall"):
        scenarios.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    for name in sorted(report.scenario_lines):
        lines, incidents = report.scenario_lines[name], report.scenario_incidents[name]
        scenarios.add_row(
            name,
            f"{lines.total:,}",
            f"{lines.hits:,}",
            _pct(lines),
            f"{incidents.total:,}",
            f"{incidents.hits:,}",
            _pct(incidents),
        )
    caption = "lines: labelled input lines; incidents: injected attack instances (found: any of its lines detected)."
    if any(rate.hits == 0 for rate in report.scenario_lines.values()):
        caption += (
            " A scenario with nothing detected was either missed or has no enabled detector looking for it yet"
            " (`watchhouse detectors list` shows what runs)."
        )
    scenarios.caption = caption

    crimes = Table(title="Per crime code", title_justify="left")
    for column in ("crime code", "labelled lines", "recall", "alerts", "precision"):
        crimes.add_column(column, justify="left" if column == "crime code" else "right")
    for code in sorted(set(report.crime_recall) | set(report.crime_precision)):
        recall = report.crime_recall.get(code, Rate())
        precision = report.crime_precision.get(code, Rate())
        crimes.add_row(code, f"{recall.total:,}", _pct(recall), f"{precision.total:,}", _pct(precision))

    detectors = Table(title="Precision per detector", title_justify="left")
    for column in ("detector", "alerts", "true positives", "precision"):
        detectors.add_column(column, justify="left" if column == "detector" else "right")
    for name, rate in sorted(report.detector_precision.items()):
        detectors.add_row(name, f"{rate.total:,}", f"{rate.hits:,}", _pct(rate))
    return [scenarios, crimes, detectors]
