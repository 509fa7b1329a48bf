"""``watchhouse eval accounts``: the account-attack detectors against simulated and real ground truth.

Three measurements, each against labels someone else wrote, so a change that helps one and
hurts another shows up:

* the simulator's labelled scenarios (``--sim DIR``: a ``watchhouse simulate`` output folder) —
  per-scenario line recall and alert precision;
* fail2ban's line-labelled sshd test logs — every line labelled as a failure must be read as a
  failed login for the address fail2ban names;
* CrowdSec's ssh scenario tests — the expected alerts, per source address, from the brute-force
  tests.

Register with ``eval_cmd.app.command("accounts")(eval_accounts)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from watchhouse.cli.console import plain_console

if TYPE_CHECKING:  # the detection stack is imported where a measurement runs, not for --help
    from watchhouse.core.alerts import Alert
    from watchhouse.core.detector import Detector
    from watchhouse.core.events import EventBatch
    from watchhouse.eval.labelled import EvalReport
    from watchhouse.ingest import ReaderOptions

#: the crowdsec tests whose expected alerts are about guessing ssh passwords
CROWDSEC_BRUTE_FORCE = ("ssh-bf", "ssh-slow-bf", "ssh-time-based-bf", "sshd-invalid-bf", "opnsense-sshd")
_KEY = b"eval-accounts-pseudonym-key-0001"


def account_detectors(host_logs: bool = False) -> list[Detector]:
    """The account detectors with their defaults; ``host_logs`` tunes the burst rule for one sshd host,
    where a handful of failures from one address is already guessing (nobody mistypes five times)."""
    from watchhouse.detectors.accounts.credential_stuffing import CredentialStuffingDetector
    from watchhouse.detectors.accounts.failed_login_burst import FailedLoginBurstDetector
    from watchhouse.detectors.accounts.password_spraying import PasswordSprayingDetector
    from watchhouse.detectors.accounts.slow_brute_force import SlowBruteForceDetector
    from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector

    burst = (
        FailedLoginBurstDetector(ip_threshold=5, account_threshold=5, window_seconds=600)
        if host_logs
        else FailedLoginBurstDetector()
    )
    return [
        burst,
        SlowBruteForceDetector(),
        PasswordSprayingDetector(),
        CredentialStuffingDetector(),
        AccountTakeoverDetector(),
    ]


def read_auth(paths: Sequence[Path], options: ReaderOptions | None = None) -> list[EventBatch]:
    """Auth batches of the given files (sniffed unless ``options`` says otherwise), in file order."""
    from watchhouse.core.events import Dataset
    from watchhouse.core.identity import Pseudonymizer
    from watchhouse.ingest import Quarantine, ReaderOptions, SourceReader

    out: list[EventBatch] = []
    with Quarantine(None) as quarantine:
        for path in paths:
            reader = SourceReader(str(path), options or ReaderOptions(), quarantine, Pseudonymizer(_KEY))
            out.extend(b for b in reader.batches() if b.dataset == Dataset.AUTH and b.num_rows)
    return out


def scan(paths: Sequence[Path], detectors: list[Detector], options: ReaderOptions | None = None) -> list[Alert]:
    from watchhouse.detect.engine import DetectionEngine
    from watchhouse.detect.postprocess import PostProcessor

    engine = DetectionEngine(detectors, PostProcessor({d.info.name: d.info.version for d in detectors}))
    alerts: list[Alert] = []
    for batch in read_auth(paths, options):
        alerts.extend(engine.process(batch))
    alerts.extend(engine.finalize())
    return alerts


def evaluate_simulation(sim_dir: Path) -> EvalReport:
    from watchhouse.eval.labelled import evaluate, load_labels

    files = [sim_dir / name for name in ("auth.jsonl", "sshd.log") if (sim_dir / name).exists()]
    labels = load_labels(sim_dir / "labels.jsonl")
    return evaluate(labels, scan(files, account_detectors()))


@dataclass
class CorpusResult:
    name: str
    expected: int
    found: int
    missed: list[str] = field(default_factory=list)


_FAILJSON = re.compile(r"^#\s*failJSON:\s*(\{.*\})\s*$")


def fail2ban_attribution(log: Path) -> CorpusResult:
    """Lines fail2ban labels ``match: true`` that we read as a failed login from the same host.

    fail2ban also labels an "Accepted" line whose connection first failed for other accounts (an
    intruder guessing names, then getting in); we keep that line a success, since someone got in,
    and count it as attributed when the reader marked it as the end of such guessing."""
    import polars as pl

    from watchhouse.ingest import ReaderOptions
    from watchhouse.ingest.sshd import SWITCHED_REASON

    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    wanted: dict[int, str] = {}
    for number, line in enumerate(text, start=1):
        found = _FAILJSON.match(line)
        if found and number < len(text):
            label = orjson.loads(found.group(1))
            if label.get("match") and label.get("host"):
                wanted[number + 1] = str(label["host"])
    got: dict[int, str] = {}
    # fail2ban's test logs open with comment lines, so the format cannot be sniffed; their year is 2005
    for batch in read_auth([log], ReaderOptions(fmt="syslog", year=2005)):
        frame = batch.to_polars().filter(
            (pl.col("event.outcome") == "failure") | (pl.col("event.reason") == SWITCHED_REASON)
        )
        for line, ip in frame.select("log.file.line", "source.ip").iter_rows():
            if line is not None and ip is not None:
                got[int(line)] = str(ip)
    missed = [f"{log.name}:{n} {host}" for n, host in sorted(wanted.items()) if got.get(n) != host]
    return CorpusResult(log.name, len(wanted), len(wanted) - len(missed), missed)


def crowdsec_expected(test_dir: Path) -> list[str]:
    """Source addresses of the alerts a crowdsec test expects, in order (from ``scenario.assert``)."""
    text = (test_dir / "scenario.assert").read_text(encoding="utf-8")
    found = re.findall(r'results\[(\d+)\]\.Overflow\.Sources\["([^"]+)"\]', text)
    return [ip for _, ip in sorted({int(i): ip for i, ip in found}.items())]


def crowdsec_alerts(test_dir: Path) -> CorpusResult:
    """Each expected alert's source must be the subject of one of our alerts on the same log."""
    from watchhouse.ingest import ReaderOptions

    expected = crowdsec_expected(test_dir)
    logs = [p for p in test_dir.iterdir() if p.suffix == ".log"]
    found = scan(logs, account_detectors(host_logs=True), ReaderOptions(fmt="syslog"))
    subjects = {a.subject.value for a in found if a.subject.kind == "source.ip"}
    missed = [ip for ip in expected if ip not in subjects]
    return CorpusResult(test_dir.name, len(expected), len(expected) - len(missed), missed)


def evaluate_corpora(root: Path) -> list[CorpusResult]:
    """fail2ban and crowdsec results under ``root`` (``.../logs/ssh_bruteforce``)."""
    results = [
        fail2ban_attribution(root / "fail2ban_tests" / name)
        for name in ("sshd",)  # the journal and dropbear variants need readers we do not have yet
        if (root / "fail2ban_tests" / name).exists()
    ]
    results += [
        crowdsec_alerts(root / "crowdsec_hub_tests" / name)
        for name in CROWDSEC_BRUTE_FORCE
        if (root / "crowdsec_hub_tests" / name).is_dir()
    ]
    return results


def _rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total:.0%})" if total else "-"


def eval_accounts(
    sim: Annotated[Path | None, typer.Option(help="A `watchhouse simulate` output folder (with labels.jsonl).")] = None,
    corpora: Annotated[
        Path | None, typer.Option(help="The ssh_bruteforce corpus folder (fail2ban_tests, crowdsec_hub_tests).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Per-scenario precision and recall of the account detectors, and the ssh corpora results.

    Example: watchhouse eval accounts --sim sim/ --corpora ../shared/corpora/logs/ssh_bruteforce
    """
    console = plain_console()
    figures: dict[str, object] = {}
    if sim is not None:
        report = evaluate_simulation(sim)
        table = Table(title="simulated account attacks")
        for column in ("scenario", "line recall", "incidents", "alert precision"):
            table.add_column(column)
        for scenario, rate in sorted(report.scenario_lines.items()):
            incidents = report.scenario_incidents[scenario]
            precision = report.scenario_precision.get(scenario)
            table.add_row(
                scenario,
                _rate(rate.hits, rate.total),
                _rate(incidents.hits, incidents.total),
                _rate(precision.hits, precision.total) if precision else "-",
            )
        console.print(table)
        figures["simulation"] = report.to_dict()
    if corpora is not None:
        results = evaluate_corpora(corpora)
        table = Table(title="ssh corpora")
        for column in ("test", "expected", "found", "missed"):
            table.add_column(column)
        for r in results:
            table.add_row(r.name, str(r.expected), str(r.found), ", ".join(r.missed[:5]))
        console.print(table)
        figures["corpora"] = [r.__dict__ for r in results]
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
