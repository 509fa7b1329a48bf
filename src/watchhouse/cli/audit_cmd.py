"""``watchhouse audit``: check, checkpoint, publish, prove the office's audit log, and rotate its key.

Reading the audit log itself is not audited: verification must be repeatable without changing
what it verifies.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import AuditEntry
from watchhouse.office.audit.keyring import Keyring
from watchhouse.office.audit.report import Report
from watchhouse.office.audit.signing import load_public_key, public_pem
from watchhouse.office.audit.witness import Witness, read_witness
from watchhouse.office.errors import IntegrityError

from .home import Home

if TYPE_CHECKING:
    from watchhouse.office.services import Office

app = typer.Typer(help="Verify, checkpoint and prove the tamper-evident audit log.", no_args_is_help=True)

HomeOption = Annotated[Path | None, typer.Option(help="Watchhouse home folder. Default: ./.watchhouse")]
DbUrlOption = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        envvar="WATCHHOUSE_DB_URL",
        help="Office database URL (postgresql+psycopg://...). Default: HOME/office.db",
    ),
]
ActorOption = Annotated[
    str | None, typer.Option(envvar="WATCHHOUSE_ACTOR", help="Who is acting, for the record. Default: local:<os user>")
]


def actor_name(given: str | None) -> str:
    if given:
        return given
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"local:uid{os.getuid()}"


def open_local_office(home: Path | None, db_url: str | None, *, must_exist: bool = True) -> Office:
    """The office under HOME (or at ``--db-url``); refuses to invent an empty SQLite office by accident.

    The office's stack (SQLAlchemy and the services) is imported here, where an office is opened:
    every office command imports this module, and their help screens need none of it."""
    from watchhouse.office.services import OfficeLocation, open_office
    from watchhouse.storage.engine import sqlite_url

    resolved = Home.resolve(home)
    if db_url is None:
        if must_exist and not resolved.database.exists():
            raise UsageError(f"no office database at {resolved.database}; run `watchhouse scan` first (or pass --home)")
        db_url = sqlite_url(resolved.database)
    return open_office(
        OfficeLocation(db_url, resolved.audit_signing_key, resolved.evidence_dir, vault_key=resolved.identity_vault_key)
    )


def _print_entry(console: Console, entry: AuditEntry) -> None:
    target = entry.object_type + (f":{entry.object_id}" if entry.object_id else "")
    purpose = f" — {entry.purpose}" if entry.purpose else ""
    console.print(f"{entry.seq:>7}  {entry.at}  {entry.actor}  {entry.action}  {target}{purpose}", highlight=False)


@app.command("verify")
def verify(
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            help="Check signatures with these PEM public keys (repeatable; every key the log was signed "
            "with) instead of the home's keyring."
        ),
    ] = None,
    heads: Annotated[
        list[Path] | None,
        typer.Option(
            "--heads",
            help="Also check against signed tree heads kept elsewhere (JSON lines from `audit heads`); repeatable.",
        ),
    ] = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Check every entry, the hash chain, every signed checkpoint, consistency between them, and
    every tree head published outside the database (the home's witness file and --heads files).

    Examples:
      watchhouse audit verify
      watchhouse audit verify --heads /mnt/worm/watchhouse-heads.jsonl --public-key old.pem --public-key new.pem
    """
    witnesses = [_heads_file(p) for p in heads or []]
    keys = Keyring.of(*(load_public_key(p) for p in public_key)) if public_key else None
    with open_local_office(home, db_url) as office:
        report = office.audit.verify(keys, heads=witnesses)
    console = plain_console()
    for line in key_summary(report):
        console.print(f"  {line}", highlight=False)
    for warning in report.warnings:
        console.print(f"  warning: {warning}", highlight=False)
    if report.ok:
        console.print(
            f"audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoint(s), "
            f"{report.witnessed} witnessed head(s) consistent",
            highlight=False,
        )
        return
    for problem in report.problems:
        console.print(f"  {problem}", highlight=False)
    first = report.problems[0]
    raise IntegrityError(f"audit log failed verification ({len(report.problems)} problem(s)); first: {first}")


def _heads_file(path: Path) -> Witness:
    witness = read_witness(path)
    if witness.heads is None:
        raise UsageError(f"no heads file at {path}")
    return witness


def key_summary(report: Report) -> list[str]:
    """Which key signed which checkpoints, in the order the keys were used."""
    by_key: dict[str, list[int]] = {}
    for checkpoint_id, signer in report.signed_by.items():
        by_key.setdefault(signer, []).append(checkpoint_id)
    return [f"key {signer[:16]} signed {len(ids)} checkpoint(s): {ids[0]}..{ids[-1]}" for signer, ids in by_key.items()]


@app.command("checkpoint")
def checkpoint(home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Sign the current tree head (after verifying the log) and publish it to the witness file.

    The office also checkpoints by itself every 128 entries; this takes one now (before a
    backup, at the end of a shift) so the unsigned tail is empty.
    """
    with open_local_office(home, db_url) as office:
        made = office.audit.checkpoint()
        witness = office.audit.witness_file
    plain_console().print(
        f"checkpoint {made.id}: {made.head.tree_size} entries, root {made.head.root_hash}, key {made.head.key_id[:16]}"
        + (f"; witnessed in {witness}" if witness else ""),
        highlight=False,
    )


@app.command("heads")
def heads_cmd(
    since: Annotated[int, typer.Option(min=0, help="Only heads over more than this many entries.")] = 0,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Print the signed tree heads as JSON lines, to copy somewhere the database's admins cannot write.

    A write-once store, a ticket, a transparency log or a second office: `audit verify --heads FILE`
    later proves the log still extends every head in FILE.

    Examples:
      watchhouse audit heads >> /mnt/worm/watchhouse-heads.jsonl
      watchhouse audit heads --since 5120
    """
    with open_local_office(home, db_url) as office:
        signed = office.audit.heads(since)
    for head in signed:
        print(head.to_line())


@app.command("rotate-key")
def rotate_key(home: HomeOption = None, db_url: DbUrlOption = None, actor: ActorOption = None) -> None:
    """Replace the checkpoint signing key; the old public key stays in the keyring so old checkpoints verify.

    The rotation is an audit entry signed by both keys; the old key signs a last checkpoint over
    it and the new key a first one. The old private key is deleted. Hand the new public key
    (`audit public-key`) to your auditors.
    """
    with open_local_office(home, db_url) as office:
        entry, made = office.audit.rotate_key(actor_name(actor))
    old, new = entry.details["old_key_id"], entry.details["new_key_id"]
    plain_console().print(
        f"rotated the audit signing key at entry {entry.seq}: {old[:16]} -> {new[:16]}; "
        f"checkpoint {made.id} signed by the new key",
        highlight=False,
    )


@app.command("show")
def show(
    seq: Annotated[int, typer.Argument(help="Entry sequence number.")],
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Print one entry in full, with the hashes that chain it."""
    with open_local_office(home, db_url) as office:
        entry = office.audit.get(seq)
    plain_console().print_json(orjson.dumps(entry.to_dict()).decode())


@app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, help="How many of the newest entries.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of text.")] = False,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """The newest entries, oldest first."""
    with open_local_office(home, db_url) as office:
        entries = office.audit.tail(lines)
    console = plain_console()
    for entry in entries:
        if as_json:
            print(orjson.dumps(entry.to_dict()).decode())
        else:
            _print_entry(console, entry)


@app.command("prove")
def prove(
    first: Annotated[int, typer.Option("--from", min=0, help="Older tree size (entries).")],
    second: Annotated[int, typer.Option("--to", min=0, help="Newer tree size (entries).")],
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """An RFC 9162 consistency proof that the log of FROM entries is a prefix of the log of TO entries.

    When checkpoints were signed at both sizes the proof is checked against their signed roots.
    """
    with open_local_office(home, db_url) as office:
        proof = office.audit.prove_consistency(first, second)
        signed = {c.head.tree_size: c for c in office.audit.checkpoints()}
    print(orjson.dumps(proof.to_dict(), option=orjson.OPT_INDENT_2).decode())
    console = plain_console(stderr=True)
    if not proof.verify():
        raise IntegrityError(f"consistency proof {first} -> {second} does not verify")
    against = "computed roots"
    if first in signed and second in signed:
        if (signed[first].head.root_hash, signed[second].head.root_hash) != (
            proof.first_root.hex(),
            proof.second_root.hex(),
        ):
            raise IntegrityError(f"the log's roots at {first} and {second} differ from the signed checkpoints")
        against = f"signed checkpoints {signed[first].id} and {signed[second].id}"
    console.print(f"consistency {first} -> {second} verified against {against}", highlight=False)


@app.command("prove-inclusion")
def prove_inclusion(
    seq: Annotated[int, typer.Argument(help="Entry sequence number.")],
    size: Annotated[int | None, typer.Option(help="Tree size to prove against. Default: the whole log.")] = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """An RFC 9162 inclusion proof for one entry."""
    with open_local_office(home, db_url) as office:
        proof = office.audit.prove_inclusion(seq, size)
    print(orjson.dumps(proof.to_dict(), option=orjson.OPT_INDENT_2).decode())
    if not proof.verify():
        raise IntegrityError(f"inclusion proof for entry {seq} does not verify")


@app.command("public-key")
def public_key_cmd(home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Print the PEM public key that verifies checkpoints (give it to auditors)."""
    with open_local_office(home, db_url, must_exist=False) as office:
        print(public_pem(office.audit.public_key), end="")
