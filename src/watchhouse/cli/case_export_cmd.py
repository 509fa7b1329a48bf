"""``watchhouse case export``: a case as STIX 2.1, MISP or an HTML incident report, sealed and in custody.

Registered on ``case_cmd.app`` by the composition root (``register(case_cmd.app)``), so the case
commands stay in one group without this module editing theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from watchhouse.cli.console import plain_console
from watchhouse.office.exports.service import ExportFormat

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office


def export_case(
    case_id: Annotated[str, typer.Argument(help="Case number, e.g. WH-2026-0001.")],
    out: Annotated[Path, typer.Option(help="File to write (must not exist).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="stix, misp or html.")] = ExportFormat.STIX,
    purpose: Annotated[str | None, typer.Option(help="Why it is exported, for custody and the audit log.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Export a case (pseudonyms only); the file is validated, sealed as evidence and recorded as exported."""
    with open_local_office(home, db_url) as office:
        result = office.exports.export(actor_name(actor), case_id, fmt, out, purpose)
    plain_console().print(
        f"exported {case_id.upper()} as {result.format.value} to {result.path} ({result.size} bytes), "
        f"sealed as {result.evidence_id}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``case`` command group."""
    app.command("export")(export_case)
