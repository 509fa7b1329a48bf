"""``watchhouse identity``: reveal the real identifier behind a pseudonym, on the record."""

from __future__ import annotations

from typing import Annotated

import typer

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(
    help="The identity vault: pseudonyms by default, reveals only with purpose and case.", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """The identity vault (a group, so more commands can join ``reveal``)."""


@app.command("reveal")
def reveal(
    pseudonym: Annotated[str, typer.Argument(help="The pseudonym (p-...).")],
    purpose: Annotated[str, typer.Option(help="Why this identity is needed (mandatory).")],
    case: Annotated[str, typer.Option("--case", help="The case it is needed for (you must have access).")],
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Reveal one identity (rate-limited per actor; audited whether granted or refused)."""
    with open_local_office(home, db_url) as office:
        if office.identities is None:
            raise UsageError("this office has no identity vault")
        identifier = office.identities.reveal(pseudonym, actor_name(actor), purpose, case)
    plain_console().print(f"{pseudonym} = {identifier}", highlight=False)
