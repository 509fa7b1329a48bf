"""``watchhouse evidence``: seal, inspect, export and re-verify evidence, each act on the record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.office.errors import IntegrityError
from watchhouse.office.evidence.seal_alert import seal_alert_evidence

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(help="Sealed evidence with chain of custody.", no_args_is_help=True)

PurposeOption = Annotated[str | None, typer.Option(help="Why, for the custody record and the audit log.")]


@app.command("seal-alert")
def seal_alert(
    alert_id: Annotated[str, typer.Argument(help="Alert id (a unique prefix is enough).")],
    purpose: PurposeOption = None,
    base: Annotated[
        Path | None, typer.Option(help="Folder that relative source paths in the alert are relative to.")
    ] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Seal the exact input lines behind an alert as one evidence item."""
    with open_local_office(home, db_url) as office:
        item, created = seal_alert_evidence(
            alert_id,
            alerts=office.alerts,
            evidence=office.evidence,
            audit=office.audit,
            actor=actor_name(actor),
            purpose=purpose,
            base=base,
        )
    verb = "sealed" if created else "already sealed as"
    plain_console().print(
        f"{verb} {item.id}: {item.details.get('lines')} line(s), {item.size} bytes, sha256 {item.sha256}",
        highlight=False,
    )


@app.command("list")
def list_items(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """List sealed items (the search is audited)."""
    with open_local_office(home, db_url) as office:
        items = office.evidence.search(actor_name(actor), purpose, limit)
    table = Table(title=f"{len(items)} evidence item(s)")
    for column in ("id", "acquired", "by", "method", "size", "name"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id,
            f"{item.acquired_at:%Y-%m-%d %H:%M:%S}",
            item.acquired_by,
            item.method,
            str(item.size),
            item.original_name,
        )
    plain_console().print(table)


@app.command("show")
def show(
    item_id: Annotated[str, typer.Argument(help="Evidence id (a unique prefix is enough).")],
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Metadata and chain of custody of one item (viewing is recorded as custody)."""
    with open_local_office(home, db_url) as office:
        item, custody = office.evidence.view(office.evidence.resolve(item_id), actor_name(actor), purpose)
    plain_console().print_json(
        orjson.dumps({"item": item.to_dict(), "custody": [e.to_dict() for e in custody]}).decode()
    )


@app.command("export")
def export(
    item_id: Annotated[str, typer.Argument(help="Evidence id (a unique prefix is enough).")],
    to: Annotated[
        Path, typer.Option("--to", help="Folder to export into (a sub-folder named after the item is made).")
    ],
    purpose: PurposeOption = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Export bytes and manifest, after re-verifying both hashes; refused if they changed."""
    with open_local_office(home, db_url) as office:
        target = office.evidence.export(office.evidence.resolve(item_id), to, actor_name(actor), purpose)
    plain_console().print(f"exported to {target} (with manifest.json)", highlight=False)


@app.command("verify")
def verify(
    item_ids: Annotated[list[str] | None, typer.Argument(help="Items to check. Default: all.")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Re-hash sealed bytes against their recorded SHA-256 and SHA-512."""
    with open_local_office(home, db_url) as office:
        ids = [office.evidence.resolve(i) for i in item_ids] if item_ids else None
        results = office.evidence.verify(actor_name(actor), ids)
    console = plain_console()
    for result in results:
        console.print(f"{result.item_id}  {'ok' if result.ok else 'FAILED'}  {result.reason}", highlight=False)
    failed = [r for r in results if not r.ok]
    if failed:
        raise IntegrityError(
            f"{len(failed)} of {len(results)} evidence item(s) failed verification: {failed[0].item_id}"
        )
    console.print(f"{len(results)} item(s) intact")
