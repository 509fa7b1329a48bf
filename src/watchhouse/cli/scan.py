"""``watchhouse scan``: read logs, detect, store and print what was found."""

from __future__ import annotations

import secrets
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from watchhouse.cli.console import plain_console
from watchhouse.core.datasets import Dataset
from watchhouse.core.errors import ConfigError, UsageError
from watchhouse.core.findings import Severity
from watchhouse.ingest.options import FORMATS

from .home import Home

if TYPE_CHECKING:
    from watchhouse.office.services import Office
    from watchhouse.runners.embedded import ScanSummary
# The detection stack (detectors, Arrow, Polars, the office database) is imported where a scan
# runs, not with this module: `watchhouse scan --help` should not wait a second and more for it.


@dataclass
class ScanRequest:
    paths: list[str]
    home: Home
    fmt: str | None = None
    dataset: Dataset | None = None
    field_map: dict[str, str] = field(default_factory=dict)
    year: int | None = None
    out: Path | None = None
    db: Path | None = None
    store: bool = True
    min_severity: Severity = Severity.INFO
    suppressions: Path | None = None
    detectors: list[str] | None = None
    config: Path | None = None
    sigma: list[Path] = field(default_factory=list)
    vault: bool = False
    quarantine: Path | None = None
    progress: bool = True


SIGMA_DETECTOR = "sigma.rules"


def _detector_options(config: Path | None) -> tuple[list[str] | None, dict[str, dict[str, Any]]]:
    if config is None:
        return None, {}
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config}: {exc}") from None
    section = data.get("detectors", {})
    enabled = section.pop("enabled", None)
    return enabled, {name: dict(opts) for name, opts in section.items()}


def execute_scan(req: ScanRequest, console: Console) -> ScanSummary:
    """The composition root of a scan: every dependency is built here and passed down."""
    from watchhouse.core.identity import Pseudonymizer
    from watchhouse.detect.engine import DetectionEngine
    from watchhouse.detect.postprocess import PostProcessor
    from watchhouse.detect.registry import DetectorRegistry
    from watchhouse.detect.suppression import active_suppressions, load_suppressions
    from watchhouse.ingest import Quarantine, ReaderOptions
    from watchhouse.runners.embedded import run_scan
    from watchhouse.runners.sinks import AlertSink, JsonlAlertSink, StoreAlertSink
    from watchhouse.storage.alert_store import AlertStore

    from .render import RichScanProgress

    started = datetime.now(UTC)
    enabled, options = _detector_options(req.config)
    names = req.detectors or enabled
    if req.sigma:
        options.setdefault(SIGMA_DETECTOR, {})["paths"] = [str(p) for p in req.sigma]
        if names is not None and SIGMA_DETECTOR not in names:
            names = [*names, SIGMA_DETECTOR]
    registry = DetectorRegistry.default()
    detectors = registry.create(names, options)
    # the office writes verdict-based suppressions to HOME/suppressions.toml; use it unless told otherwise
    suppressions = req.suppressions or (req.home.suppressions_file if req.home.suppressions_file.exists() else None)
    rules = load_suppressions(suppressions) if suppressions else []
    active, expired = active_suppressions(rules, started)
    for rule in expired:
        console.print(
            Text.assemble((f"suppression expired on {rule.expires:%Y-%m-%d} and no longer applies:", "yellow"), " ")
            + rule.reason
        )
    post = PostProcessor(
        {d.info.name: d.info.version for d in detectors}, suppressions=active, min_severity=req.min_severity
    )
    engine = DetectionEngine(detectors, post)
    scan_id = f"scan-{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    store = AlertStore.sqlite(req.db or req.home.database) if req.store else None
    sinks: list[AlertSink] = [StoreAlertSink(store, scan_id)] if store is not None else []
    if req.out is not None:
        sinks.append(JsonlAlertSink(req.out))
    office = _open_vault_office(req.home, req.db) if req.vault else None
    recorder = None
    if office is not None and office.identities is not None:
        from watchhouse.office.identity.recorder import VaultRecorder

        recorder = VaultRecorder(office.identities)
    pseudonymizer = Pseudonymizer(req.home.pseudonym_key(), on_mapping=recorder)
    reader_options = ReaderOptions(fmt=req.fmt, dataset=req.dataset, field_map=req.field_map, year=req.year)
    quarantine_path = req.quarantine or req.home.quarantine_file(started)
    try:
        with Quarantine(quarantine_path) as quarantine:
            if req.progress:
                with RichScanProgress(console) as bar:
                    summary = run_scan(
                        req.paths,
                        reader_options=reader_options,
                        engine=engine,
                        sinks=sinks,
                        quarantine=quarantine,
                        pseudonymizer=pseudonymizer,
                        progress=bar,
                    )
            else:
                summary = run_scan(
                    req.paths,
                    reader_options=reader_options,
                    engine=engine,
                    sinks=sinks,
                    quarantine=quarantine,
                    pseudonymizer=pseudonymizer,
                )
    finally:
        for sink in sinks:
            sink.close()
        if recorder is not None:
            recorder.close()
        if office is not None:
            office.close()
    if store is not None:
        store.record_scan(scan_id, started, _summary_record(summary))
    return summary


def _open_vault_office(home: Home, db: Path | None) -> Office:
    """The office with its identity vault, so ingest can record pseudonym -> identifier pairs."""
    from watchhouse.office.services import OfficeLocation, open_office

    where = OfficeLocation(
        database_url=f"sqlite:///{db or home.database}",
        signing_key=home.audit_signing_key,
        evidence_dir=home.evidence_dir,
        vault_key=home.identity_vault_key,
    )
    return open_office(where)


def _summary_record(summary: ScanSummary) -> dict[str, Any]:
    return {
        "events": summary.events,
        "lines": summary.lines,
        "quarantined": summary.quarantined,
        "alerts": summary.alert_count,
        "seconds": round(summary.seconds, 3),
        "sources": [
            {"path": s.path, "format": s.fmt, "lines": s.lines, "quarantined": s.quarantined} for s in summary.sources
        ],
    }


def print_scan_summary(summary: ScanSummary, console: Console, *, out: Path | None, db: Path | None) -> None:
    from .render import scan_tables

    for table in scan_tables(summary):
        console.print(table)
    if summary.quarantined:
        console.print(
            Text.assemble(
                (f"{summary.quarantined:,} malformed line(s) quarantined", "red"),
                f" with line numbers and reasons in {summary.quarantine_path}",
            )
        )
    if summary.undetected_datasets:
        names = ", ".join(sorted(d.value for d in summary.undetected_datasets))
        console.print(f"no enabled detector consumes: {names} (events were read and counted)", style="dim")
    if out is not None:
        console.print(f"alerts written to {out}")
    if db is not None:
        console.print(f"alerts stored in {db} (see `watchhouse alerts list`)")


def parse_field_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise UsageError(f"--map takes SOURCE=ECS_FIELD, e.g. --map ip=source.ip (got {item!r})")
        mapping[source] = target
    return mapping


def scan_command(
    paths: Annotated[list[str], typer.Argument(help="Log files to scan (plain or gzip); '-' reads standard input.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"Input format; auto-detected when omitted. One of: {', '.join(FORMATS)}."),
    ] = None,
    dataset: Annotated[
        Dataset | None, typer.Option(help="Dataset for JSON/CSV input when rows do not say (event.dataset).")
    ] = None,
    field_map: Annotated[
        list[str] | None, typer.Option("--map", help="Rename an input field to an ECS field: SOURCE=ECS (repeatable).")
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Year for syslog lines that carry none (default: file's mtime).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write alerts as JSON lines to this file.")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="Office database (SQLite file). Default: HOME/office.db.")] = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Do not store alerts in the office database.")] = False,
    home: Annotated[
        Path | None, typer.Option(help="Watchhouse home folder (key, database, quarantine). Default: ./.watchhouse")
    ] = None,
    min_severity: Annotated[
        str, typer.Option(help="Drop alerts below this severity: info, low, medium, high, critical.")
    ] = "info",
    suppressions: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of [[suppress]] rules (reason + expires required). Default: HOME/suppressions.toml, "
            "which the office writes from analysts' verdicts."
        ),
    ] = None,
    detector: Annotated[
        list[str] | None, typer.Option("--detector", "-d", help="Run only these detectors (repeatable).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file with [detectors.<name>] options.")] = None,
    vault: Annotated[
        bool,
        typer.Option(
            help="Record each pseudonym's real identifier, encrypted, in the office's identity vault so an "
            "investigator can reveal it later (with a purpose and a case, audited)."
        ),
    ] = False,
    sigma: Annotated[
        list[Path] | None,
        typer.Option(help="Also run the Sigma rules in this file or folder (repeatable), e.g. a SigmaHQ checkout."),
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Where malformed lines go (JSON lines). Default: HOME/quarantine/<time>.jsonl")
    ] = None,
    progress: Annotated[
        bool, typer.Option(help="Show a progress bar (default: when stderr is a terminal).")
    ] = sys.stderr.isatty(),
    fail_on: Annotated[
        str | None, typer.Option(help="Exit with status 1 when an alert at or above this severity was raised.")
    ] = None,
) -> None:
    """Scan logs into explained alerts.

    Reads each PATH (nginx/Apache access logs, JSON lines, sshd/syslog auth logs, CSV; gzip is
    detected), runs every enabled detector, stores alerts in the office database and prints a
    summary. Malformed lines are never dropped: they are counted and written, with their line
    number and the reason, to a quarantine file.

    Examples:

      watchhouse scan /var/log/nginx/access.log.1.gz /var/log/auth.log

      cat events.jsonl | watchhouse scan - --format jsonl --out alerts.jsonl

      tail -F /var/log/nginx/access.log | watchhouse scan - --format combined --out alerts.jsonl  (live; Ctrl-C ends)

      watchhouse scan Security.evtx --sigma sigma/rules/windows

      watchhouse scan logins.csv --dataset auth --map ip=source.ip --map login=user.name --map ts=@timestamp
    """
    stdout = plain_console()
    stderr = plain_console(stderr=True)
    try:
        severity = Severity.parse(min_severity)
        fail_severity = Severity.parse(fail_on) if fail_on else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    req = ScanRequest(
        paths=paths,
        home=Home.resolve(home),
        fmt=fmt,
        dataset=dataset,
        field_map=parse_field_map(field_map or []),
        year=year,
        out=out,
        db=db,
        store=not no_db,
        min_severity=severity,
        suppressions=suppressions,
        detectors=detector,
        config=config,
        sigma=sigma or [],
        vault=vault,
        quarantine=quarantine,
        progress=progress,
    )
    summary = execute_scan(req, stderr)
    print_scan_summary(summary, stdout, out=out, db=None if no_db else (db or req.home.database))
    if summary.interrupted:
        stderr.print("interrupted: everything read before Ctrl-C was scanned, finalised and written")
        raise typer.Exit(130)
    if fail_severity is not None and any(sev >= fail_severity for _, sev in summary.alerts):
        raise typer.Exit(1)
