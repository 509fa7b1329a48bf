"""``watchhouse disclosure``: an authority's request for user data, from receipt to closing, on the record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.identity import Pseudonymizer, is_pseudonym
from watchhouse.office.disclosure.models import (
    Authority,
    DataCategory,
    DisclosureRequest,
    DisclosureStatus,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.services import Office

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office
from .home import Home

app = typer.Typer(
    help="Disclosure requests: legal basis required, two approvers, produced data sealed.", no_args_is_help=True
)

RequestArg = Annotated[str, typer.Argument(help="Request number, e.g. DR-2026-0001.")]
ReasonOption = Annotated[str | None, typer.Option(help="Why, for the request record and the audit log.")]
T = TypeVar("T")


def _with_office(home: Path | None, db_url: str | None, work: Callable[[Office], T]) -> T:
    with open_local_office(home, db_url) as office:
        return work(office)


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date like 2026-03-01, not {text!r}") from None


@app.command("open")
def open_request(
    authority: Annotated[str, typer.Option(help="The requesting authority's name.")],
    country: Annotated[str, typer.Option(help="Its country (ISO 3166-1 alpha-2, e.g. DE).")],
    request_type: Annotated[RequestType, typer.Option("--type", help="What is asked for.")],
    account: Annotated[list[str], typer.Option(help="Account named (pseudonymised before storing); repeat.")],
    date_from: Annotated[str, typer.Option("--from", help="Scope start date (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Scope end date (YYYY-MM-DD).")],
    category: Annotated[list[DataCategory], typer.Option(help="Data category asked for; repeat.")],
    notice: Annotated[NoticeDecision, typer.Option(help="User notice decision.")] = NoticeDecision.NOTIFY,
    notice_reason: Annotated[str | None, typer.Option(help="Reason for delay / not notifying.")] = None,
    notice_until: Annotated[str | None, typer.Option(help="For delay: date the user will be told.")] = None,
    instrument: Annotated[str | None, typer.Option(help="Legal instrument (production order, ...).")] = None,
    reference: Annotated[str | None, typer.Option(help="The instrument's reference number.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Who issued it (court, prosecutor).")] = None,
    nondisclosure_order: Annotated[bool, typer.Option(help="A non-disclosure order accompanies it.")] = False,
    nondisclosure_until: Annotated[str | None, typer.Option(help="When the non-disclosure order expires.")] = None,
    justification: Annotated[str | None, typer.Option(help="Emergency: the imminent danger.")] = None,
    case: Annotated[str | None, typer.Option(help="Case it belongs to.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Register a request (refused without instrument, reference and issuer, except emergencies)."""
    basis = LegalBasis(instrument or "", reference or "", issuer or "") if instrument or reference or issuer else None
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    assert start is not None and end is not None
    accounts = tuple(dict.fromkeys(_pseudonymise(home, account)))
    scope = Scope(accounts, start, end, tuple(dict.fromkeys(category)))
    user_notice = UserNotice(notice, notice_reason, _date(notice_until, "--notice-until"))
    request = _with_office(
        home,
        db_url,
        lambda o: o.disclosures.open(
            actor_name(actor),
            Authority(authority, country),
            request_type,
            basis,
            scope,
            user_notice,
            nondisclosure_order=nondisclosure_order,
            nondisclosure_until=_date(nondisclosure_until, "--nondisclosure-until"),
            justification=justification,
            case=case,
        ),
    )
    due = f"; follow-up instrument due {request.followup_due:%Y-%m-%d %H:%M} UTC" if request.followup_due else ""
    plain_console().print(f"received {request.id} ({request.request_type.value}){due}", highlight=False)


def _pseudonymise(home: Path | None, accounts: list[str]) -> list[str]:
    """Identifiers the authority named become pseudonyms with the office's key before they are stored."""
    if all(is_pseudonym(a) for a in accounts):
        return accounts
    pseudonymizer = Pseudonymizer(Home.resolve(home).pseudonym_key())
    return [a if is_pseudonym(a) else pseudonymizer.pseudonym(a.strip()) for a in accounts]


@app.command("show")
def show(
    request_id: RequestArg,
    purpose: Annotated[str | None, typer.Option(help="Why you are looking.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """The request, its approvers, produced evidence and follow-up state (the read is audited)."""

    def work(o: Office) -> dict[str, object]:
        return o.disclosures.show(actor_name(actor), request_id, purpose).to_dict(o.disclosures.now())

    plain_console().print_json(orjson.dumps(_with_office(home, db_url, work)).decode())


def _table(found: list[DisclosureRequest], title: str, overdue: bool = False) -> None:
    table = Table(title=title)
    for column in ("request", "status", "type", "country", "authority", "accounts", "approvers", "follow-up due"):
        table.add_column(column)
    for r in found:
        due = f"{r.followup_due:%Y-%m-%d %H:%M}" if r.followup_due and r.followup_received_at is None else ""
        table.add_row(
            r.id,
            r.status.value,
            r.request_type.value,
            r.authority.country,
            r.authority.name,
            str(len(r.scope.accounts)),
            ", ".join(r.approvers),
            f"{due} OVERDUE" if overdue else due,
        )
    plain_console().print(table)


@app.command("list")
def list_requests(
    status: Annotated[DisclosureStatus | None, typer.Option(help="Only requests in this status.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Requests, newest first (the search is audited)."""
    found = _with_office(home, db_url, lambda o: o.disclosures.search(actor_name(actor), status))
    _table(found, f"{len(found)} request(s)")


@app.command("overdue")
def overdue(actor: ActorOption = None, home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Emergency requests whose follow-up legal instrument is past due (exit code 1 when any)."""
    found = _with_office(home, db_url, lambda o: o.disclosures.overdue(actor_name(actor)))
    _table(found, f"{len(found)} overdue follow-up(s)", overdue=True)
    if found:
        raise typer.Exit(1)


def _step(name: str, doc: str, needs_reason: bool = False) -> Callable[..., None]:
    def command(
        request_id: RequestArg,
        reason: ReasonOption = None,
        actor: ActorOption = None,
        home: HomeOption = None,
        db_url: DbUrlOption = None,
    ) -> None:
        who = actor_name(actor)
        if needs_reason and not reason:
            raise UsageError(f"{name} needs --reason")

        def work(o: Office) -> DisclosureRequest:
            service = o.disclosures
            if name == "review":
                return service.review(who, request_id, reason)
            if name == "approve":
                return service.approve(who, request_id, reason)
            if name == "reject":
                return service.reject(who, request_id, reason or "")
            return service.close(who, request_id, reason)

        request = _with_office(home, db_url, work)
        signed = f" ({len(request.approvers)} approval(s))" if name == "approve" else ""
        plain_console().print(f"{request.id} is {request.status.value}{signed}", highlight=False)

    command.__doc__ = doc
    return command


app.command("review")(_step("review", "Start reviewing a received request."))
app.command("approve")(_step("approve", "Sign off (two approvers, neither the requester; emergencies: one, --reason)."))
app.command("reject")(_step("reject", "Reject a request under review (--reason required).", needs_reason=True))
app.command("close")(_step("close", "Close a produced or rejected request (emergencies: after the follow-up)."))


@app.command("produce")
def produce(
    request_id: RequestArg,
    file: Annotated[Path, typer.Argument(help="The data handed over (sealed as evidence).", exists=False)],
    case: Annotated[str | None, typer.Option(help="Case it is produced for (default: the request's).")] = None,
    media_type: Annotated[str, typer.Option(help="Media type of the file.")] = "application/octet-stream",
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Seal FILE as evidence, link it to the case and record it as disclosed (approved requests only)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(file)) from exc
    request = _with_office(
        home,
        db_url,
        lambda o: o.disclosures.produce(
            actor_name(actor), request_id, data, name=file.name, media_type=media_type, case=case
        ),
    )
    plain_console().print(f"{request.id} produced as {request.evidence[-1]} for {request.case_id}", highlight=False)


@app.command("followup")
def followup(
    request_id: RequestArg,
    instrument: Annotated[str, typer.Option(help="Legal instrument that followed the emergency request.")],
    reference: Annotated[str, typer.Option(help="Its reference number.")],
    issuer: Annotated[str, typer.Option(help="Who issued it.")],
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Attach the follow-up legal instrument an emergency request owes."""
    basis = LegalBasis(instrument, reference, issuer)
    request = _with_office(home, db_url, lambda o: o.disclosures.followup(actor_name(actor), request_id, basis))
    plain_console().print(f"{request.id}: follow-up {reference} recorded", highlight=False)
