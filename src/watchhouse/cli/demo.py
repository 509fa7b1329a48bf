"""``watchhouse demo``: simulate a day of a platform, scan it, score the result, open the office.

The run ends with what a newcomer needs to look around the web console: the command that starts
it, its URL and one login per role. The passwords are random and new at every run and are shown
only here, once: a fixed demo password would be a known way into any office someone started as
a demo and then kept.
"""

from __future__ import annotations

import secrets
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from watchhouse.cli.console import plain_console
from watchhouse.office.accounts.roles import Role
from watchhouse.office.errors import NotFoundError
from watchhouse.office.services import Office
from watchhouse.simulate import SimulationConfig

from .audit_cmd import open_local_office
from .eval_cmd import evaluate_files
from .home import Home
from .render import eval_tables
from .scan import ScanRequest, execute_scan, print_scan_summary
from .simulate_cmd import run_simulation, simulation_table

SCANNED = (
    "access.log",
    "auth.jsonl",
    "sshd.log",
    "messages.jsonl",
    "payments.jsonl",
    "uploads.jsonl",
    "record_access.jsonl",
)

CONSOLE_URL = "http://127.0.0.1:8080/"
"""Where ``watchhouse serve`` listens by default (its --host and --port defaults)."""
DEMO_ACTOR = "system:demo"
DEMO_ACCOUNTS: tuple[tuple[str, tuple[Role, ...]], ...] = (
    ("demo", (Role.ANALYST, Role.INVESTIGATOR)),
    ("legal", (Role.LEGAL,)),
    ("approver", (Role.APPROVER,)),
    ("auditor", (Role.AUDITOR,)),
    ("admin", (Role.ADMIN,)),
)
"""One login per role, so the four-eyes steps can be tried: ``demo`` requests a disclosure,
``legal`` and ``approver`` are the two other people who approve it."""
_UNAMBIGUOUS_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


@dataclass(frozen=True)
class DemoLogin:
    username: str
    roles: tuple[Role, ...]
    password: str


def new_password() -> str:
    """16 random letters in groups of four (about 79 bits): easy to type, never the same twice."""
    letters = "".join(secrets.choice(_UNAMBIGUOUS_LETTERS) for _ in range(16))
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def create_demo_logins(office: Office) -> list[DemoLogin]:
    """Create the demo accounts, or reset them on a rerun (new password, roles, no lockout, no
    second factor), each change audited like any administrator's."""
    made: list[DemoLogin] = []
    for username, roles in DEMO_ACCOUNTS:
        password = new_password()
        try:
            existing = office.accounts.get(username)
        except NotFoundError:
            office.accounts.add(DEMO_ACTOR, username, password, roles)
        else:
            office.accounts.set_password(DEMO_ACTOR, username, password)
            office.accounts.set_roles(DEMO_ACTOR, username, roles)
            if existing.disabled:
                office.accounts.enable(DEMO_ACTOR, username)
            if existing.totp_enabled:
                office.accounts.disable_totp(DEMO_ACTOR, username)
        made.append(DemoLogin(username, roles, password))
    return made


def print_console_hint(console: Console, home: Path, logins: list[DemoLogin]) -> None:
    """The last lines of the demo: how to start the console, where it is, and how to log in."""
    console.print(f"  watchhouse serve --home {shlex.quote(str(home))}", highlight=False, soft_wrap=True)
    console.print("  then log in with one of these (passwords are new at every run, shown only now):")
    for login in logins:
        roles = ", ".join(r.value for r in login.roles)
        console.print(f"    {login.username:<9} {login.password}   ({roles})", highlight=False, soft_wrap=True)
    console.print(f"  console: {CONSOLE_URL}", highlight=False, soft_wrap=True)
    demo = logins[0]
    console.print(f"  demo login: {demo.username} / {demo.password}", highlight=False, soft_wrap=True)


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's data, office and alerts.")] = Path(
        "demo-out"
    ),
    users: Annotated[int, typer.Option(min=10, help="Simulated platform users.")] = 2000,
    hours: Annotated[float, typer.Option(min=0.1, help="Hours of activity.")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run the whole path on embedded defaults: simulate → scan → evaluate → console logins.

    Writes a simulated day of platform traffic with injected crimes to OUT/data, scans it into
    the embedded office database OUT/office/office.db and OUT/alerts.jsonl, prints precision and
    recall against the injected ground truth, then creates one console login per role (random
    passwords, printed once) and prints how to start the console.
    """
    console = plain_console()
    status = plain_console(stderr=True)
    data = out / "data"
    office = Home(out / "office")
    if data.exists():
        shutil.rmtree(data)
    office.database.unlink(missing_ok=True)

    console.print(Rule("1. simulate a day of platform traffic with injected crimes"))
    sim = run_simulation(SimulationConfig(out_dir=data, users=users, hours=hours, seed=seed), status, progress=progress)
    for table in simulation_table(sim):
        console.print(table)

    console.print(Rule("2. scan it into explained alerts"))
    paths = [str(data / name) for name in SCANNED if (data / name).exists()]
    alerts_file = out / "alerts.jsonl"
    summary = execute_scan(ScanRequest(paths=paths, home=office, out=alerts_file, progress=progress), status)
    print_scan_summary(summary, console, out=alerts_file, db=office.database)

    console.print(Rule("3. score the alerts against the ground truth"))
    report = evaluate_files(data / "labels.jsonl", alerts_file)
    for table in eval_tables(report):
        console.print(table)

    console.print(Rule("4. one console login per role"))
    with open_local_office(office.root, None) as opened:
        logins = create_demo_logins(opened)
    console.print(f"  {len(logins)} accounts ready in {office.database}", highlight=False, soft_wrap=True)

    console.print(Rule("next"))
    console.print(f"  watchhouse alerts list --home {office.root}")
    console.print(f"  watchhouse alerts show <id> --home {office.root}")
    console.print(f"  watchhouse eval --labels {data / 'labels.jsonl'} --alerts {alerts_file}")
    print_console_hint(console, office.root, logins)
