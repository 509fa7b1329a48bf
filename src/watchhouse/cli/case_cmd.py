"""``watchhouse case``: open and work cases; every read and change is audited, need-to-know enforced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.cases.models import CaseStatus, TaskStatus, Tlp
from watchhouse.office.services import Office

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(help="Cases: numbered, TLP-marked, need-to-know, four-eyes closed.", no_args_is_help=True)

CaseArg = Annotated[str, typer.Argument(help="Case number, e.g. WH-2026-0001.")]
ReasonOption = Annotated[str | None, typer.Option(help="Why, for the case record and the audit log.")]
PurposeOption = Annotated[str | None, typer.Option(help="Why you are looking, for the audit log.")]
T = TypeVar("T")


def _with_office(home: Path | None, db_url: str | None, work: Callable[[Office], T]) -> T:
    with open_local_office(home, db_url) as office:
        return work(office)


@app.command("open")
def open_case(
    title: Annotated[str, typer.Argument(help="Short title.")],
    crime: Annotated[list[CrimeCode], typer.Option(help="Crime code (repeat for several).")],
    severity: Annotated[str, typer.Option(help="info, low, medium, high or critical.")] = "medium",
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 marking. Default: AMBER (RED for child abuse).")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner. Default: the actor.")] = None,
    reviewer: Annotated[str | None, typer.Option(help="Reviewer who will close it (not the owner).")] = None,
    need_to_know: Annotated[bool, typer.Option(help="Restrict to owner, reviewer and access list.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Open a case (child sexual abuse cases are need-to-know and TLP:RED by default)."""
    try:
        level, marking = Severity.parse(severity), Tlp.parse(tlp) if tlp else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    case = _with_office(
        home,
        db_url,
        lambda o: o.cases.open(
            actor_name(actor),
            title,
            crime,
            level,
            tlp=marking,
            owner=owner,
            reviewer=reviewer,
            need_to_know=need_to_know,
        ),
    )
    ntk = " · need-to-know" if case.need_to_know else ""
    plain_console().print(f"opened {case.id} (TLP:{case.tlp.value}{ntk}) owned by {case.owner}", highlight=False)


@app.command("show")
def show(
    case_id: CaseArg,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """The case with its tasks, notes, linked alerts and evidence, and its access list."""
    found = _with_office(home, db_url, lambda o: o.cases.show(actor_name(actor), case_id, purpose))
    plain_console().print_json(orjson.dumps(found.to_dict()).decode())


@app.command("list")
def list_cases(
    status: Annotated[CaseStatus | None, typer.Option(help="Only cases in this status.")] = None,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Cases you may see, newest first (the search is audited)."""
    found = _with_office(home, db_url, lambda o: o.cases.search(actor_name(actor), status, purpose))
    table = Table(title=f"{len(found)} case(s)")
    for column in ("case", "status", "TLP", "severity", "owner", "reviewer", "crimes", "title"):
        table.add_column(column)
    for c in found:
        table.add_row(
            c.id,
            c.status.value,
            c.tlp.value,
            str(c.severity),
            c.owner,
            c.reviewer or "",
            ", ".join(x.value for x in c.crime_codes),
            c.title,
        )
    plain_console().print(table)


@app.command("note")
def note(
    case_id: CaseArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    corrects: Annotated[int | None, typer.Option(help="Id of an earlier note this one corrects.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Append a note (notes are never edited: a correction is a new note pointing at the old one)."""
    added = _with_office(home, db_url, lambda o: o.cases.note(actor_name(actor), case_id, text, corrects))
    plain_console().print(f"note {added.id} added to {case_id.upper()}", highlight=False)


@app.command("task")
def task(
    case_id: CaseArg,
    title: Annotated[str | None, typer.Argument(help="Title of a new task.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Who should do the new task.")] = None,
    done: Annotated[int | None, typer.Option(help="Mark this task id done.")] = None,
    reopen: Annotated[int | None, typer.Option(help="Mark this task id open again.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Add a task (TITLE), or mark one --done ID / --reopen ID."""
    if sum(x is not None for x in (title, done, reopen)) != 1:
        raise UsageError("give a TITLE to add a task, or --done ID, or --reopen ID")
    who = actor_name(actor)
    if title is not None:
        added = _with_office(home, db_url, lambda o: o.cases.add_task(who, case_id, title, assignee))
        plain_console().print(f"task {added.id} added to {case_id.upper()}", highlight=False)
        return
    task_id, status = (done, TaskStatus.DONE) if done is not None else (reopen, TaskStatus.OPEN)
    assert task_id is not None
    _with_office(home, db_url, lambda o: o.cases.set_task(who, case_id, task_id, status))
    plain_console().print(f"task {task_id} {status.value}", highlight=False)


@app.command("transition")
def transition(
    case_id: CaseArg,
    to: Annotated[CaseStatus, typer.Argument(help="New status.")],
    reason: ReasonOption = None,
    reviewer: Annotated[str | None, typer.Option(help="Set the reviewer (needed before awaiting_review).")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Move a case along its transition table (closing: only the reviewer, never the owner)."""
    case = _with_office(home, db_url, lambda o: o.cases.transition(actor_name(actor), case_id, to, reason, reviewer))
    plain_console().print(f"{case.id} is now {case.status.value}", highlight=False)


def _link(kind: str, link: bool) -> Callable[..., None]:
    def command(
        case_id: CaseArg,
        target: Annotated[str, typer.Argument(help="Alert or evidence id (a unique prefix is enough).")],
        reason: ReasonOption = None,
        actor: ActorOption = None,
        home: HomeOption = None,
        db_url: DbUrlOption = None,
    ) -> None:
        def work(o: Office) -> str:
            ref = o.triage.resolve(target) if kind == "alert" else o.evidence.resolve(target)
            method = {
                ("alert", True): o.cases.link_alert,
                ("alert", False): o.cases.unlink_alert,
                ("evidence", True): o.cases.link_evidence,
                ("evidence", False): o.cases.unlink_evidence,
            }[(kind, link)]
            method(actor_name(actor), case_id, ref, reason)
            return ref

        ref = _with_office(home, db_url, work)
        plain_console().print(f"{ref} {'linked to' if link else 'unlinked from'} {case_id.upper()}", highlight=False)

    command.__doc__ = f"{'Link' if link else 'Unlink'} {'an' if kind == 'alert' else ''} {kind} (history is kept)."
    return command


app.command("link-alert")(_link("alert", True))
app.command("unlink-alert")(_link("alert", False))
app.command("link-evidence")(_link("evidence", True))
app.command("unlink-evidence")(_link("evidence", False))


@app.command("grant")
def grant(
    case_id: CaseArg,
    principal: Annotated[str, typer.Argument(help="Who gets access.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Add someone to a need-to-know case's access list (owner only)."""
    _with_office(home, db_url, lambda o: o.cases.grant(actor_name(actor), case_id, principal, reason))
    plain_console().print(f"{principal} may now act on {case_id.upper()}", highlight=False)


@app.command("revoke")
def revoke(
    case_id: CaseArg,
    principal: Annotated[str, typer.Argument(help="Who loses access.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Remove someone from a need-to-know case's access list (owner only)."""
    _with_office(home, db_url, lambda o: o.cases.revoke(actor_name(actor), case_id, principal, reason))
    plain_console().print(f"{principal} removed from {case_id.upper()}", highlight=False)


@app.command("timeline")
def timeline(
    case_id: CaseArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Notes, status changes, links, custody of linked evidence and reveals, in audit order."""
    items = _with_office(home, db_url, lambda o: o.cases.timeline(actor_name(actor), case_id, purpose))
    console = plain_console()
    for item in items:
        if as_json:  # printed as it is: the console would read "[...]" in a note as markup
            print(orjson.dumps(item.to_dict()).decode())
        else:
            console.print(f"{item.at:%Y-%m-%d %H:%M:%S}  {item.actor:<16} {item.text}", highlight=False)
