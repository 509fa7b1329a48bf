"""Which generator produces each output, and which planner each scenario.

An explicit table (no discovery) so the set of outputs and scenarios is visible in one place and
stable across versions: they are part of the ground-truth contract benchmarks rely on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from watchhouse.simulate.benign import auth, commerce, http, social, sshd
from watchhouse.simulate.clock import DAY_US, I64, expected
from watchhouse.simulate.crimes.accounts import plan_brute_force, plan_credential_stuffing, plan_password_spraying
from watchhouse.simulate.crimes.base import Instance, PlanContext
from watchhouse.simulate.crimes.fraud import plan_card_testing, plan_scams
from watchhouse.simulate.crimes.records import plan_scraping
from watchhouse.simulate.crimes.ssh import plan_ssh_brute_force
from watchhouse.simulate.crimes.takeover import plan_account_takeover
from watchhouse.simulate.crimes.web import plan_scans, plan_web_attacks
from watchhouse.simulate.population import Population

Benign = Callable[[np.random.Generator, Population, int, int], tuple[I64, list[str]]]
Planner = Callable[[PlanContext, np.random.Generator], list[Instance]]


def _sshd(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    return sshd.format_rows(sshd.generate_rows(rng, pop.hosts, pop.admins, start_us, end_us))


BENIGN: dict[str, Benign] = {
    "access": http.generate,
    "auth": auth.generate,
    "sshd": _sshd,
    "messages": social.messages,
    "payments": commerce.payments,
    "uploads": social.uploads,
    "record_access": commerce.record_reads,
}

PLANNERS: dict[str, Planner] = {
    "web_attack_campaign": plan_web_attacks,
    "vulnerability_scan": plan_scans,
    "brute_force": plan_brute_force,
    "ssh_brute_force": plan_ssh_brute_force,
    "credential_stuffing": plan_credential_stuffing,
    "password_spraying": plan_password_spraying,
    "account_takeover": plan_account_takeover,
    "bulk_record_scraping": plan_scraping,
    "scam_messages": plan_scams,
    "card_testing": plan_card_testing,
}


def expected_benign(output: str, pop: Population, start_us: int, end_us: int) -> float:
    """Expected benign lines of an output over a window (for progress totals)."""
    n = pop.size
    if output == "access":
        return expected(http.REQUESTS_PER_USER_DAY * n, start_us, end_us)
    if output == "auth":
        return expected(auth.LOGINS_PER_USER_DAY * n * auth.MEAN_LINES_PER_LOGIN, start_us, end_us)
    if output == "sshd":
        return len(pop.hosts) * sshd.LINES_PER_HOST_DAY * (end_us - start_us) / DAY_US
    if output == "messages":
        return expected(social.MESSAGES_PER_USER_DAY * n, start_us, end_us)
    if output == "uploads":
        return expected(social.UPLOADS_PER_USER_DAY * n, start_us, end_us)
    if output == "payments":
        return expected(commerce.PAYMENTS_PER_USER_DAY * n, start_us, end_us)
    staff = expected(commerce.STAFF_READS_PER_DAY * len(pop.staff), start_us, end_us, curve="office")
    return staff + expected(commerce.API_READS_PER_DAY * len(pop.api_clients), start_us, end_us, curve="flat")
