"""Entry point: assembles the commands and turns user mistakes into one clear line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from watchhouse import __version__
from watchhouse.core.errors import WatchhouseError

from . import (
    alerts_cmd,
    audit_cmd,
    case_cmd,
    case_export_cmd,
    detectors_cmd,
    disclosure_cmd,
    eval_cmd,
    evidence_cmd,
    identity_cmd,
    portal_cmd,
    report_cmd,
    rules_cmd,
    serve_cmd,
    user_cmd,
)
from .demo import demo_command
from .eval_accounts_cmd import eval_accounts
from .eval_web_cmd import eval_crs, eval_params
from .scan import scan_command
from .simulate_cmd import simulate_command

EXIT_CODES = """Exit status: 0 success · 1 --fail-on severity reached · 2 usage or configuration error ·
3 input cannot be read (missing file, unreadable gzip, bad labels) · 4 detector or internal error ·
5 integrity failure (audit log or evidence no longer matches its seal) ·
6 refused by office policy (need-to-know, four-eyes, rate limit) · 130 interrupted.
Malformed lines inside readable input are not errors: they are quarantined and counted."""

app = typer.Typer(
    name="watchhouse",
    help="Watchhouse: a network security office for web platforms. Ingest activity, detect crime as it happens, "
    "and keep every alert explained and traceable to its input lines.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("scan", epilog=EXIT_CODES)(scan_command)
app.command("simulate")(simulate_command)
app.command("demo")(demo_command)
app.add_typer(alerts_cmd.app, name="alerts")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(detectors_cmd.app, name="detectors")
app.add_typer(rules_cmd.app, name="rules")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(case_cmd.app, name="case")
app.add_typer(identity_cmd.app, name="identity")
app.add_typer(disclosure_cmd.app, name="disclosure")
app.add_typer(report_cmd.app, name="report")
case_export_cmd.register(case_cmd.app)
app.add_typer(user_cmd.app, name="user")
app.add_typer(portal_cmd.app, name="portal")
app.command("serve")(serve_cmd.serve_command)
eval_cmd.app.command("accounts")(eval_accounts)
eval_cmd.app.command("crs")(eval_crs)
eval_cmd.app.command("params")(eval_params)


def _version(value: bool) -> None:
    if value:
        print(f"watchhouse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Watchhouse command line."""


def main() -> None:
    """Run the CLI; known errors become one line on stderr with a documented exit status."""
    try:
        status = app(standalone_mode=False)
    except WatchhouseError as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors surface here in non-standalone mode
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            Console(stderr=True).print(f"[bold red]error:[/bold red] {exc.format_message()}", highlight=False)
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)
