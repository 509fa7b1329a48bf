"""Connections that end before any account is named are probes, not password guessing.

A monitoring system's TCP check of port 22, or a load balancer's health probe, logs
``Connection closed by <ip> port N [preauth]`` on every host every few minutes, all day; the
reader keeps those lines as failures (fail2ban counts them too, in its aggressive modes), so the
burst detector is where they must stop passing for brute force. A flood of them is still worth an
alert of its own: exploit attempts against the SSH service itself (CVE-2024-6387 style races) open
hundreds of connections that never log in."""

from __future__ import annotations

from typing import Any

from watchhouse.core.findings import Severity, Stage

from .test_failed_login_burst import fail, run


def _probe(t: float, ip: str = "10.0.0.9", host: int = 0) -> dict[str, Any]:
    return {**fail(t, ip=ip, user=None, service="sshd"), "host.name": f"web-{host}"}


def test_a_monitor_checking_twelve_hosts_every_five_minutes_all_day_is_not_reported() -> None:
    # 25 a window at its densest (two rounds of 12 and one check of the third): over the address
    # threshold of 20, far under a flood
    rows = [_probe(r * 300 + h * 2.5, host=h) for r in range(288) for h in range(12)]
    assert run(rows) == []


def test_a_flood_of_anonymous_connections_is_reported_as_such_not_as_guessing() -> None:
    rows = [_probe(i * 2.0) for i in range(300)]  # 300 in 600 s: 15 times the address threshold
    (finding,) = run(rows)
    assert finding.subject.value == "10.0.0.9"
    assert finding.title.startswith("Connection flood: 300 connections from 10.0.0.9")
    assert "No account was named" in finding.explanation
    assert "pre-authentication flaws" in finding.explanation
    assert finding.stage == Stage.ATTEMPTED
    assert finding.severity == Severity.MEDIUM  # not HIGH: nobody's password was tried
    assert "connection-flood" in finding.tags and "brute-force" not in finding.tags
    assert finding.details["distinct_accounts"] == 0


def test_one_named_account_among_the_probes_makes_it_guessing_again() -> None:
    rows = [_probe(i * 20.0) for i in range(25)]
    rows.insert(6, fail(110.0, ip="10.0.0.9", user="p-root", service="sshd"))  # in time order
    (finding,) = run(rows)
    assert finding.title.startswith("Brute force: 26 failed logins from 10.0.0.9 against 1 account")
    assert "brute-force" in finding.tags


def test_the_flood_bar_follows_the_options() -> None:
    rows = [_probe(i * 10.0) for i in range(60)]  # 60 in 600 s
    assert run(rows) == []
    (finding,) = run(rows, ip_threshold=5, large_burst_factor=10)  # the host-log tuning: 50 is a flood
    assert finding.title.startswith("Connection flood")
