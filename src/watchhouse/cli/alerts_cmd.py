"""``watchhouse alerts``: the triage queue. Every look is audited, every change is history.

Reads go through the office's alert service, so listing or showing alerts writes an audit entry
naming the actor (``--actor``, ``WATCHHOUSE_ACTOR`` or the OS user) and what they saw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CRIMES, CrimeCode
from watchhouse.office.services import Office
from watchhouse.office.triage.cluster import ClusterKey
from watchhouse.office.triage.models import AlertStatus, AlertView, Verdict
from watchhouse.office.triage.service import SuppressRequest
from watchhouse.storage.alert_store import AlertFilter
from watchhouse.storage.engine import sqlite_url

from .audit_cmd import ActorOption, DbUrlOption, actor_name, open_local_office
from .home import Home

app = typer.Typer(
    help="The triage queue: list, inspect, triage, assign, judge and cluster alerts.", no_args_is_help=True
)
suppressions_app = typer.Typer(help="Suppression rules made by verdicts (stored in the office).", no_args_is_help=True)
app.add_typer(suppressions_app, name="suppressions")

HomeOption = Annotated[Path | None, typer.Option(help="Watchhouse home folder. Default: ./.watchhouse")]
DbOption = Annotated[Path | None, typer.Option(help="Office database (SQLite file). Default: HOME/office.db")]
PurposeOption = Annotated[str | None, typer.Option(help="Why, for the audit log.")]
CrimeOption = Annotated[CrimeCode | None, typer.Option(help="Only this crime code.")]
SeverityOption = Annotated[str, typer.Option(help="Only at or above this severity.")]
DetectorOption = Annotated[str | None, typer.Option(help="Only from this detector.")]
SubjectOption = Annotated[str | None, typer.Option(help="Only about this subject (IP or pseudonym).")]
StatusOption = Annotated[AlertStatus | None, typer.Option("--status", help="Only alerts in this triage status.")]
AssigneeOption = Annotated[str | None, typer.Option("--assignee", help="Only alerts assigned to this person.")]
SinceOption = Annotated[datetime | None, typer.Option(help="Only first seen at or after (ISO date-time, UTC).")]
UntilOption = Annotated[datetime | None, typer.Option(help="Only first seen before (ISO date-time, UTC).")]
IdsArgument = Annotated[list[str] | None, typer.Argument(help="Alert ids (unique prefixes). Or select with filters.")]


def _office(home: Path | None, db: Path | None, db_url: str | None) -> Office:
    if db is not None:
        if not db.exists():
            raise UsageError(f"no office database at {db}; run `watchhouse scan` first (or pass --db)")
        return open_local_office(home or db.parent, sqlite_url(db))
    resolved = Home.resolve(home)
    if db_url is None and not resolved.database.exists():
        raise UsageError(f"no office database at {resolved.database}; run `watchhouse scan` first (or pass --db)")
    return open_local_office(home, db_url)


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def _filter(
    crime: CrimeCode | None,
    min_severity: str,
    detector: str | None,
    subject: str | None,
    status: AlertStatus | None,
    assignee: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> AlertFilter:
    try:
        severity = Severity.parse(min_severity)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return AlertFilter(
        crime_code=crime,
        min_severity=severity,
        detector=detector,
        subject=subject,
        status=status.value if status else None,
        assignee=assignee,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
    )


@app.command("list")
def list_alerts(
    crime: CrimeOption = None,
    min_severity: SeverityOption = "info",
    detector: DetectorOption = None,
    subject: SubjectOption = None,
    status: StatusOption = None,
    assignee: AssigneeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, most severe and newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db: DbOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """List alerts, most severe first (the search is audited)."""
    flt = _filter(crime, min_severity, detector, subject, status, assignee, since, until, limit)
    with _office(home, db, db_url) as office:
        found = office.triage.search(actor_name(actor), flt, purpose)
    _print_views(found, as_json)


def _print_views(found: list[AlertView], as_json: bool) -> None:
    console = plain_console()
    if as_json:  # one compact object per line, untouched by the console (no wrapping, colour or markup)
        for view in found:
            print(orjson.dumps(view.to_dict()).decode())
        return
    table = Table(title=f"{len(found)} alert(s)")
    for column in ("id", "severity", "crime", "status", "assignee", "detector", "subject", "first seen", "title"):
        table.add_column(column)
    for v in found:
        a = v.alert
        table.add_row(
            a.id,
            str(a.severity),
            a.crime_code.value,
            v.triage.status + (f" ({v.triage.verdict})" if v.triage.verdict else ""),
            v.triage.assignee or "",
            a.detector,
            a.subject.value,
            f"{a.first_seen:%Y-%m-%d %H:%M:%S}",
            a.title,
        )
    console.print(table)


@app.command("show")
def show_alert(
    alert_id: Annotated[str, typer.Argument(help="Alert id (a unique prefix is enough).")],
    evidence: Annotated[int, typer.Option(help="How many evidence references to print.")] = 20,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db: DbOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Show one alert in full: explanation, details, triage history and the input lines behind it."""
    with _office(home, db, db_url) as office:
        view, history = office.triage.show(actor_name(actor), alert_id, purpose)
    alert = view.alert
    console = plain_console()
    crime = CRIMES[alert.crime_code]
    console.print(alert.title, style="bold")
    console.print(f"id {alert.id} · {alert.detector} v{alert.detector_version}")
    console.print(f"crime: {crime.title} — {crime.instrument} ({alert.stage.value})")
    console.print(f"severity {alert.severity} · confidence {alert.confidence:.2f} · subject {alert.subject}")
    console.print(f"seen {alert.first_seen.isoformat()} → {alert.last_seen.isoformat()}")
    t = view.triage
    console.print(f"status {t.status} · assignee {t.assignee or '-'} · verdict {t.verdict or '-'}", highlight=False)
    if view.cases:
        console.print(f"cases: {', '.join(view.cases)}", highlight=False)
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
    if history:
        console.print("\nhistory:")
        for h in history:
            why = f" — {h.reason}" if h.reason else ""
            console.print(
                f"  {h.at:%Y-%m-%d %H:%M:%S}  {h.actor}  {h.field}: {h.old_value or '-'} → {h.new_value or '-'}{why}",
                highlight=False,
            )


def _targets(
    office: Office,
    actor: str,
    ids: list[str] | None,
    flt: AlertFilter,
    purpose: str | None,
) -> list[str]:
    """Explicit ids, or a bulk selection by filter (never both, never an empty filter)."""
    if ids:
        if flt.narrows():
            raise UsageError("give alert ids or filters, not both")
        return [office.triage.resolve(i) for i in ids]
    return office.triage.select_ids(actor, flt, purpose)


BulkLimit = Annotated[int, typer.Option(min=1, help="Bulk actions touch at most this many alerts.")]


@app.command("triage")
def triage(
    ids: IdsArgument = None,
    to: Annotated[AlertStatus, typer.Option("--to", help="New status.")] = AlertStatus.TRIAGED,
    reason: Annotated[str | None, typer.Option(help="Why, for the history and the audit log.")] = None,
    crime: CrimeOption = None,
    min_severity: SeverityOption = "info",
    detector: DetectorOption = None,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: BulkLimit = 1000,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Set the triage status of alerts (by id, or in bulk over a filter)."""
    flt = _filter(crime, min_severity, detector, None, status, None, since, until, limit)
    with _office(home, None, db_url) as office:
        who = actor_name(actor)
        changed = office.triage.set_status(who, _targets(office, who, ids, flt, reason), to, reason)
    plain_console().print(f"{len(changed)} alert(s) now {to.value}", highlight=False)


@app.command("assign")
def assign(
    ids: IdsArgument = None,
    to: Annotated[str | None, typer.Option("--to", help="Assignee; leave out with --unassign.")] = None,
    unassign: Annotated[bool, typer.Option(help="Remove the assignee.")] = False,
    crime: CrimeOption = None,
    min_severity: SeverityOption = "info",
    detector: DetectorOption = None,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: BulkLimit = 1000,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Assign alerts to someone (by id, or in bulk over a filter)."""
    if (to is None) == (not unassign):
        raise UsageError("give --to NAME or --unassign")
    flt = _filter(crime, min_severity, detector, None, status, None, since, until, limit)
    with _office(home, None, db_url) as office:
        who = actor_name(actor)
        changed = office.triage.assign(who, _targets(office, who, ids, flt, None), to)
    plain_console().print(f"{len(changed)} alert(s) {'assigned to ' + to if to else 'unassigned'}", highlight=False)


@app.command("verdict")
def verdict(
    ids: IdsArgument = None,
    is_: Annotated[Verdict, typer.Option("--is", help="The verdict.")] = Verdict.TRUE_POSITIVE,
    reason: Annotated[str, typer.Option(help="Why (mandatory).")] = "",
    suppress_days: Annotated[
        int | None,
        typer.Option(help="false_positive/benign only: suppress alike alerts for this many days (max 365)."),
    ] = None,
    suppress_reason: Annotated[
        str | None, typer.Option(help="Reason on the suppression rule. Default: --reason.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="What the rule matches: subject, detector, crime. Default: subject+detector."),
    ] = None,
    crime: CrimeOption = None,
    min_severity: SeverityOption = "info",
    detector: DetectorOption = None,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: BulkLimit = 1000,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Record a verdict; false positives and benign alerts may create an expiring suppression rule."""
    flt = _filter(crime, min_severity, detector, None, status, None, since, until, limit)
    request = None
    if suppress_days is not None:
        chosen = set(scope or ["subject", "detector"])
        unknown = chosen - {"subject", "detector", "crime"}
        if unknown:
            raise UsageError(f"unknown --scope {sorted(unknown)}; use subject, detector or crime")
        request = SuppressRequest(
            reason=suppress_reason or reason,
            expires=datetime.now(UTC) + timedelta(days=suppress_days),
            by_subject="subject" in chosen,
            by_detector="detector" in chosen,
            by_crime="crime" in chosen,
        )
    resolved = Home.resolve(home)
    with _office(home, None, db_url) as office:
        who = actor_name(actor)
        result = office.triage.set_verdict(who, _targets(office, who, ids, flt, reason), is_, reason, request)
        if result.rule_ids:
            office.suppressions.export_toml(resolved.suppressions_file)
    console = plain_console()
    console.print(f"{len(result.changed)} alert(s) judged {is_.value}", highlight=False)
    if result.rule_ids:
        console.print(
            f"suppression rule(s) {', '.join(map(str, result.rule_ids))} written to {resolved.suppressions_file}; "
            f"scan with --suppressions {resolved.suppressions_file}",
            highlight=False,
        )


@app.command("cluster")
def cluster(
    by: Annotated[ClusterKey, typer.Option(help="Group by subject, target or detector.")] = ClusterKey.SUBJECT,
    window: Annotated[int, typer.Option(min=1, help="Minutes between sightings that still join a cluster.")] = 60,
    crime: CrimeOption = None,
    min_severity: SeverityOption = "info",
    detector: DetectorOption = None,
    status: StatusOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Cluster at most this many alerts.")] = 10_000,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Group alerts by subject/target/detector within a time window (the search is audited)."""
    flt = _filter(crime, min_severity, detector, None, status, None, since, until, limit)
    with _office(home, None, db_url) as office:
        clusters = office.triage.cluster(actor_name(actor), flt, by, timedelta(minutes=window), purpose)
    table = Table(title=f"{len(clusters)} cluster(s) by {by.value}")
    for column in ("key", "alerts", "from", "to", "max severity", "crimes", "first ids"):
        table.add_column(column)
    for c in clusters:
        table.add_row(
            c.key,
            str(len(c.alert_ids)),
            f"{c.first_seen:%Y-%m-%d %H:%M}",
            f"{c.last_seen:%Y-%m-%d %H:%M}",
            str(Severity(c.max_severity)),
            ", ".join(c.crime_codes),
            " ".join(c.alert_ids[:3]) + (" …" if len(c.alert_ids) > 3 else ""),
        )
    plain_console().print(table)


@suppressions_app.command("list")
def suppressions_list(actor: ActorOption = None, home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Every rule, active or not (rules hold no personal data; listing them is not audited)."""
    with _office(home, None, db_url) as office:
        rules = office.suppressions.all()
    now = datetime.now(UTC)
    for r in rules:
        state = "active" if r.active(now) else ("revoked" if r.revoked_at else "expired")
        scope = " ".join(
            f"{k}={v}"
            for k, v in (("detector", r.rule.detector), ("crime", r.rule.crime_code), ("subject", r.rule.subject))
            if v
        )
        plain_console().print(
            f"{r.id:>4}  {state:<8} until {r.rule.expires:%Y-%m-%d}  {scope}  — {r.rule.reason} ({r.rule.created_by})",
            highlight=False,
        )


@suppressions_app.command("revoke")
def suppressions_revoke(
    rule_id: Annotated[int, typer.Argument(help="Rule id.")],
    reason: Annotated[str, typer.Option(help="Why (mandatory).")] = "",
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Stop a rule before it expires, and regenerate HOME/suppressions.toml."""
    with _office(home, None, db_url) as office:
        office.suppressions.revoke(actor_name(actor), rule_id, reason)
        office.suppressions.export_toml(Home.resolve(home).suppressions_file)
    plain_console().print(f"suppression rule {rule_id} revoked")


@suppressions_app.command("export")
def suppressions_export(
    to: Annotated[Path | None, typer.Option("--to", help="TOML file. Default: HOME/suppressions.toml")] = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Write the active rules as the [[suppress]] TOML that `watchhouse scan --suppressions` reads."""
    target = to or Home.resolve(home).suppressions_file
    with _office(home, None, db_url) as office:
        n = office.suppressions.export_toml(target)
    plain_console().print(f"{n} active rule(s) written to {target}", highlight=False)
