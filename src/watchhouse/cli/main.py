"""Entry point: assembles the commands and turns user mistakes into one clear line."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.text import Text
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from watchhouse import __version__
from watchhouse.cli.console import plain_console
from watchhouse.core.errors import WatchhouseError

EXIT_CODES = """Exit status:
0 success;
1 --fail-on severity reached;
2 usage or configuration error;
3 input cannot be read (missing file, unreadable gzip, bad labels);
4 detector or internal error;
5 integrity failure (audit log or evidence no longer matches its seal);
6 refused by office policy (need-to-know, four-eyes, rate limit);
130 interrupted.
Malformed lines inside readable input are not errors: they are quarantined and counted."""

#: command groups imported only when used: the office, web and Sigma stacks take a second or more
#: to import, which `scan` and `--help` of other commands should not pay
LAZY_GROUPS: dict[str, str] = {
    "alerts": "alerts_cmd",
    "eval": "eval_cmd",
    "detectors": "detectors_cmd",
    "rules": "rules_cmd",
    "audit": "audit_cmd",
    "evidence": "evidence_cmd",
    "case": "case_cmd",
    "identity": "identity_cmd",
    "disclosure": "disclosure_cmd",
    "report": "report_cmd",
    "user": "user_cmd",
    "portal": "portal_cmd",
}
#: single commands imported only when used, as (module, function, epilog). `scan` too: its
#: detection stack (Polars, Arrow, SQLAlchemy) took 0.9 of the 1.1 s that importing the command line
#: took, which every other command and every help screen paid
LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "scan": ("scan", "scan_command", EXIT_CODES),
    "simulate": ("simulate_cmd", "simulate_command", None),
    "serve": ("serve_cmd", "serve_command", None),
    "demo": ("demo", "demo_command", None),
}
#: the order `watchhouse --help` lists them in: the main job first
LISTED = ["scan", "simulate", *LAZY_GROUPS, "serve", "demo"]


def _sub_app(name: str) -> typer.Typer:
    """The Typer app of a lazily loaded group, with the commands other modules add to it."""
    module = importlib.import_module(f"watchhouse.cli.{LAZY_GROUPS[name]}")
    sub: typer.Typer = module.app
    if name == "eval" and not getattr(sub, "_watchhouse_extended", False):
        from .eval_accounts_cmd import eval_accounts
        from .eval_web_cmd import eval_crs, eval_params

        sub.command("accounts")(eval_accounts)
        sub.command("crs")(eval_crs)
        sub.command("params")(eval_params)
        sub._watchhouse_extended = True  # type: ignore[attr-defined]
    if name == "case" and not getattr(sub, "_watchhouse_extended", False):
        from . import case_export_cmd

        case_export_cmd.register(sub)
        sub._watchhouse_extended = True  # type: ignore[attr-defined]
    return sub


#: the one-line help of each lazy entry, shown by `watchhouse --help` without importing the stacks
#: behind it (listing them used to import every group: ~2 CPU s for a help screen); a test renders
#: the help both ways and holds these to the real commands' help
LAZY_SUMMARIES: dict[str, str] = {
    "scan": "Scan logs into explained alerts.",
    "simulate": "Write realistic platform traffic with injected, labelled crimes.",
    "alerts": "The triage queue: list, inspect, triage, assign, judge and cluster alerts.",
    "eval": "Measure detection quality. With --labels and --alerts: precision and recall against line labels.",
    "detectors": "List the available detectors.",
    "rules": "Validate and inspect Sigma rule packs.",
    "audit": "Verify, checkpoint and prove the tamper-evident audit log.",
    "evidence": "Sealed evidence with chain of custody.",
    "case": "Cases: numbered, TLP-marked, need-to-know, four-eyes closed.",
    "identity": "The identity vault: pseudonyms by default, reveals only with purpose and case.",
    "disclosure": "Disclosure requests: legal basis required, two approvers, produced data sealed.",
    "report": "Reports computed from the office's records.",
    "user": "Local accounts of the web console and API.",
    "portal": "Reports from the public: queue, campaigns, decisions, appeals, invalidation.",
    "serve": "Serve the JSON API (/api/v1) and the web console. Create accounts with `watchhouse user add`.",
    "demo": "Run the whole path on embedded defaults: simulate → scan → evaluate → console logins.",
}


class _LazyGroup(TyperGroup):
    #: set while the group's own help is rendered: lazy entries are then listed from
    #: LAZY_SUMMARIES instead of being imported
    _listing_only = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in LISTED if name not in eager)]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing_only = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._listing_only and cmd_name not in self.commands and cmd_name in LAZY_SUMMARIES:
            return TyperCommand(cmd_name, help=LAZY_SUMMARIES[cmd_name])
        if cmd_name not in self.commands:
            if cmd_name in LAZY_GROUPS:
                group = typer.main.get_group(_sub_app(cmd_name))  # a group even with one command
                group.name = cmd_name
                self.commands[cmd_name] = group
            elif cmd_name in LAZY_COMMANDS:
                module_name, function, epilog = LAZY_COMMANDS[cmd_name]
                holder = typer.Typer()
                holder.command(cmd_name, epilog=epilog)(
                    getattr(importlib.import_module(f"watchhouse.cli.{module_name}"), function)
                )
                command = typer.main.get_command(holder)
                command.name = cmd_name
                self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="watchhouse",
    help="Watchhouse: a network security office for web platforms. Ingest activity, detect crime as it happens, "
    "and keep every alert explained and traceable to its input lines.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


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
        plain_console(stderr=True).print(Text.assemble(("error:", "bold red"), f" {exc}"))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        plain_console(stderr=True).print("interrupted")
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
            plain_console(stderr=True).print(Text.assemble(("error:", "bold red"), f" {exc.format_message()}"))
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)
