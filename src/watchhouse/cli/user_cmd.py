"""``watchhouse user``: local accounts for the web console and API (add, passwd, disable, list, totp, token).

Passwords are read from a prompt (never an argument, which would land in shell history and the
process list) or, for scripts, from ``--password-stdin``. Every change is audited with the actor.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from watchhouse.cli.console import plain_console
from watchhouse.core.errors import UsageError
from watchhouse.office.accounts.roles import Role, parse_roles
from watchhouse.office.accounts.tokens import DEFAULT_DAYS, MAX_DAYS
from watchhouse.office.accounts.totp import provisioning_uri

from .audit_cmd import ActorOption, DbUrlOption, HomeOption, actor_name, open_local_office

app = typer.Typer(help="Local accounts of the web console and API.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts (Authorization: Bearer whk_...).", no_args_is_help=True)
app.add_typer(token_app, name="token")

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
    role: Annotated[
        str, typer.Option(help="Roles, comma-separated: analyst, investigator, legal, approver, auditor, admin.")
    ],
    password_stdin: StdinOption = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Create an account (the office database is created if needed)."""
    roles, password = _roles(role), _password(password_stdin)
    with open_local_office(home, db_url, must_exist=False) as office:
        account = office.accounts.add(actor_name(actor), username, password, roles)
    plain_console().print(f"added {account.username} ({', '.join(account.roles)})", highlight=False)


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
    with open_local_office(home, db_url) as office:
        office.accounts.set_password(actor_name(actor), username, password)
    plain_console().print(f"password of {username} changed; their sessions ended", highlight=False)


@app.command("disable")
def disable(
    username: UserArg,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again instead.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Disable an account (its sessions end at once); accounts are never deleted, the audit log names them."""
    with open_local_office(home, db_url) as office:
        (office.accounts.enable if enable else office.accounts.disable)(actor_name(actor), username)
    plain_console().print(f"{username} {'enabled' if enable else 'disabled'}", highlight=False)


@app.command("totp")
def totp(
    username: UserArg,
    off: Annotated[bool, typer.Option("--off", help="Turn the second factor off.")] = False,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Turn on a TOTP second factor and print its secret and otpauth:// URI once (or --off)."""
    with open_local_office(home, db_url) as office:
        if off:
            office.accounts.disable_totp(actor_name(actor), username)
            plain_console().print(f"second factor of {username} turned off", highlight=False)
            return
        secret = office.accounts.enable_totp(actor_name(actor), username)
    plain_console().print(f"secret: {secret}\nuri: {provisioning_uri(secret, username)}", highlight=False)


@app.command("list")
def list_users(actor: ActorOption = None, home: HomeOption = None, db_url: DbUrlOption = None) -> None:
    """Accounts, roles and state (the listing is audited)."""
    with open_local_office(home, db_url) as office:
        found = office.accounts.search(actor_name(actor))
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
    plain_console().print(table)


@token_app.command("create")
def token_create(
    username: UserArg,
    name: Annotated[str, typer.Option(help="What the token is for (shown in listings and the audit log).")],
    days: Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Lifetime in days.")] = DEFAULT_DAYS,
    role: Annotated[str | None, typer.Option(help="Narrower roles, comma-separated (default: the account's).")] = None,
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Create an API token and print it once: the office keeps only its hash."""
    roles = _roles(role) if role is not None else None
    with open_local_office(home, db_url) as office:
        issued = office.accounts.tokens.create(actor_name(actor), username, name, days, roles)
    t = issued.token
    plain_console().print(
        f"token {t.id} for {t.username}, expires {t.expires_at:%Y-%m-%d %H:%M}Z (shown once, store it now):",
        highlight=False,
    )
    print(issued.secret)


@token_app.command("list")
def token_list(
    username: UserArg, actor: ActorOption = None, home: HomeOption = None, db_url: DbUrlOption = None
) -> None:
    """An account's tokens (never their secrets; the listing is audited)."""
    with open_local_office(home, db_url) as office:
        found = office.accounts.tokens.list(actor_name(actor), username)
        now = office.accounts.now()
    table = Table(title=f"{len(found)} token(s) of {username}")
    for column in ("id", "name", "roles", "state", "expires", "last used"):
        table.add_column(column)
    for t in found:
        roles = "all" if t.roles is None else ", ".join(t.roles)
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}Z" if t.last_used_at else "never"
        table.add_row(t.id, t.name, roles, t.state(now), f"{t.expires_at:%Y-%m-%d}", used)
    plain_console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (the 16 hex digits after whk_).")],
    actor: ActorOption = None,
    home: HomeOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Revoke a token at once (idempotent)."""
    if token_id.startswith("whk_"):
        token_id = token_id[4:20]
    with open_local_office(home, db_url) as office:
        token = office.accounts.tokens.revoke(actor_name(actor), token_id)
    plain_console().print(f"token {token.id} ({token.name}) of {token.username} revoked", highlight=False)
