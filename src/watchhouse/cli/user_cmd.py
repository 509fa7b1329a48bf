"""``watchhouse user``: local accounts for the web console and API (add, passwd, disable, list, totp).

Passwords are read from a prompt (never an argument, which would land in shell history and the
process list) or, for scripts, from ``--password-stdin``. Every change is audited with the actor.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.roles import Role, parse_roles
from watchhouse.office.accounts.totp import provisioning_uri

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(help="Local accounts of the web console and API.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="User name (a-z 0-9 . _ -).")]
StdinOption = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise UsageError("the two passwords differ")
    return str(first)


def _roles(text: str) -> tuple[Role, ...]:
    try:
        return parse_roles(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@app.command("add")
def add(
    username: UserArg,
    role: Annotated[str, typer.Option(help="Roles, comma-separated: analyst, investigator, legal, auditor, admin.")],
    password_stdin: StdinOption = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Create an account (the office database is created if needed)."""
    roles, password = _roles(role), _password(password_stdin)
    office = open_local_office(home, db_url, must_exist=False)
    try:
        account = office.accounts.add(actor_name(actor), username, password, roles)
    finally:
        office.close()
    Console().print(f"added {account.username} ({', '.join(account.roles)})", highlight=False)


@app.command("passwd")
def passwd(
    username: UserArg,
    password_stdin: StdinOption = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Set a new password (clears a lockout and ends the user's sessions)."""
    password = _password(password_stdin)
    office = open_local_office(home, db_url)
    try:
        office.accounts.set_password(actor_name(actor), username, password)
    finally:
        office.close()
    Console().print(f"password of {username} changed; their sessions ended", highlight=False)


@app.command("disable")
def disable(
    username: UserArg,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again instead.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Disable an account (its sessions end at once); accounts are never deleted, the audit log names them."""
    office = open_local_office(home, db_url)
    try:
        (office.accounts.enable if enable else office.accounts.disable)(actor_name(actor), username)
    finally:
        office.close()
    Console().print(f"{username} {'enabled' if enable else 'disabled'}", highlight=False)


@app.command("totp")
def totp(
    username: UserArg,
    off: Annotated[bool, typer.Option("--off", help="Turn the second factor off.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Turn on a TOTP second factor and print its secret and otpauth:// URI once (or --off)."""
    office = open_local_office(home, db_url)
    try:
        if off:
            office.accounts.disable_totp(actor_name(actor), username)
            Console().print(f"second factor of {username} turned off", highlight=False)
            return
        secret = office.accounts.enable_totp(actor_name(actor), username)
    finally:
        office.close()
    Console().print(f"secret: {secret}\nuri: {provisioning_uri(secret, username)}", highlight=False)


@app.command("list")
def list_users(actor: ActorOption = None, home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Accounts, roles and state (the listing is audited)."""
    office = open_local_office(home, db_url)
    try:
        found = office.accounts.search(actor_name(actor))
    finally:
        office.close()
    table = Table(title=f"{len(found)} account(s)")
    for column in ("user", "roles", "state", "2FA"):
        table.add_column(column)
    for a in found:
        state = (
            "disabled"
            if a.disabled
            else (f"lock until {a.locked_until:%Y-%m-%d %H:%M}Z" if a.locked_until else "active")
        )
        table.add_row(a.username, ", ".join(a.roles), state, "totp" if a.totp_enabled else "")
    Console().print(table)
