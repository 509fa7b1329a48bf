"""``watchhouse portal``: the office's side of the public report portal from the command line.

Thin: it parses, calls ``office.portal_desk`` and prints. The actor is ``--actor`` as for the other
office commands (``local:<name>`` when the CLI is run by a person on the office machine).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from watchhouse.office.portal.models import Outcome
from watchhouse.office.services import Office

from .audit_cmd import open_local_office

app = typer.Typer(
    help="Reports from the public: queue, campaigns, decisions, appeals, invalidation.", no_args_is_help=True
)
Home = Annotated[Path, typer.Option("--home", help="Office home (database, keys, evidence).")]
Actor = Annotated[str, typer.Option("--actor", help="Who is acting (recorded in the audit log).")]


def _print(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _run(home: Path, action: Callable[[Office], object]) -> None:
    with open_local_office(home, None) as office:
        _print(action(office))


@app.command("queue")
def queue(home: Home = Path(".watchhouse"), actor: Actor = "local:cli", status: str = "") -> None:
    """Open reports, urgent first, with their campaign."""
    _run(
        home,
        lambda o: [
            {
                "reference": i.report.reference,
                "status": i.report.status.value,
                "category": i.report.category,
                "urgent": i.report.urgent,
                "campaign": i.campaign.id if i.campaign else None,
            }
            for i in o.portal_desk.queue(actor, status or None)
        ],
    )


@app.command("show")
def show(reference: str, home: Home = Path(".watchhouse"), actor: Actor = "local:cli") -> None:
    """One report (audited)."""
    from watchhouse.web.portal.desk_routes import file_dict

    _run(home, lambda o: file_dict(o.portal_desk.show(actor, reference)))


@app.command("campaigns")
def campaigns(home: Home = Path(".watchhouse"), actor: Actor = "local:cli") -> None:
    """Reports grouped by shared identifiers and attachment hashes."""
    from watchhouse.web.portal.desk_routes import campaign_dict

    _run(home, lambda o: [campaign_dict(c) for c in o.portal_desk.campaigns(actor)])


@app.command("decide")
def decide(
    reference: str,
    outcome: Annotated[Outcome, typer.Option(help="What was decided.")],
    reasons: Annotated[str, typer.Option(help="Statement of reasons (office record).")],
    public: Annotated[str, typer.Option(help="Reasons shown to the reporter.")] = "",
    home: Home = Path(".watchhouse"),
    actor: Actor = "local:cli",
) -> None:
    """Record a decision with its statement of reasons."""
    _run(home, lambda o: {"decision": o.portal_desk.decide(actor, reference, outcome, reasons, public)})


@app.command("appeal")
def review_appeal(
    appeal_id: int,
    outcome: Annotated[Outcome, typer.Option(help="What the review decided.")],
    reasons: Annotated[str, typer.Option(help="Statement of reasons.")],
    public: Annotated[str, typer.Option(help="Reasons shown to the reporter.")] = "",
    home: Home = Path(".watchhouse"),
    actor: Actor = "local:cli",
) -> None:
    """Review an appeal (must be someone other than the first decider)."""
    _run(home, lambda o: {"decision": o.portal_desk.review_appeal(actor, appeal_id, outcome, reasons, public)})


@app.command("invalidate")
def invalidate(
    pseudonym: str,
    reason: Annotated[str, typer.Option(help="Why the reports are in bad faith.")],
    home: Home = Path(".watchhouse"),
    actor: Actor = "local:cli",
) -> None:
    """Invalidate every report from one reporter (rp-…) or client (cl-…) pseudonym."""
    _run(home, lambda o: {"invalidated": o.portal_desk.invalidate(actor, pseudonym, reason)})


@app.command("contact")
def contact(
    reference: str,
    purpose: Annotated[str, typer.Option(help="Why the reporter's contact is needed (audited).")],
    home: Home = Path(".watchhouse"),
    actor: Actor = "local:cli",
) -> None:
    """Decrypt a reporter's contact details (a reveal: audited with its purpose)."""
    _run(home, lambda o: c.__dict__ if (c := o.portal_desk.contact(actor, reference, purpose)) else None)


@app.command("grant-restricted")
def grant(username: str, home: Home = Path(".watchhouse"), actor: Actor = "local:cli") -> None:
    """Put an account on the need-to-know list for restricted (child abuse) reports."""
    with open_local_office(home, None) as office:
        office.portal_desk.grant_restricted(actor, username)
    _print({"granted": username})
