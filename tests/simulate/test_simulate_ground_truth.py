"""Labels are ground truth: each points at a line that really is the crime, and no benign line is."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import unquote

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate import ALL_SCENARIOS
from watchhouse.simulate.benign import auth
from watchhouse.simulate.clock import DAY_US, rng_for
from watchhouse.simulate.crimes.web import SCANNER_UAS
from watchhouse.simulate.population import build_population

from .sim_support import ACCESS_RE, Run

ATTACK_RE = re.compile(
    r"union|select|sleep\(|waitfor|pg_sleep|benchmark\(|extractvalue|updatexml|convert\(|cast\(|drop table|xp_cmdshell|"
    r"insert into|rlike|\d+=\d+|'\w+'='\w|<script|onerror|onload|ontoggle|onmouseover|javascript:|"
    r"\.\./|\.\.\\|\.\.%c0%af|etc/passwd|etc/shadow|win\.ini|php://|file://|proc/self|etc/hosts|"
    r"([;|`$\n]|&&)\s*\(?(id|whoami|uname|cat|sleep|ls|curl|wget)\b",
    re.IGNORECASE,
)
SCANNER_MARKERS = tuple(ua.split("(")[0].split("/")[0].strip() for ua in SCANNER_UAS)


def _instances(run: Run) -> dict[str, dict[str, Any]]:
    return {i["instance"]: i for i in run.manifest["instances"]}


def _decoded(url: str) -> str:
    return unquote(unquote(url.replace("+", " "))).replace("/**/", "")


def test_every_scenario_is_injected_and_labelled(small_run: Run) -> None:
    assert set(small_run.summary.scenarios) == ALL_SCENARIOS
    assert all(count > 0 for count in small_run.summary.scenarios.values())
    assert small_run.summary.labels == len(small_run.labels) == sum(small_run.summary.scenarios.values())
    assert sum(small_run.summary.instances.values()) == len(small_run.manifest["instances"])


def test_labels_point_at_the_crime(small_run: Run) -> None:
    files = {rel: small_run.lines(rel) for rel in small_run.summary.files}
    instances = _instances(small_run)
    seen: set[tuple[str, int]] = set()
    for label in small_run.labels:
        key = (label["path"], label["line"])
        assert key not in seen, f"line labelled twice: {key}"
        seen.add(key)
        line = files[label["path"]][label["line"] - 1]
        inst = instances[label["instance"]]
        scenario = label["scenario"]
        assert inst["scenario"] == scenario and inst["path"] == label["path"]
        CrimeCode(label["crime_code"])
        if scenario == "web_attack_campaign":
            m = ACCESS_RE.match(line)
            assert m and m.group(1) in inst["source_ips"]
            assert ATTACK_RE.search(_decoded(m.group(4))), line
            xss = re.search(r"<|javascript:|onmouseover", _decoded(m.group(4)), re.IGNORECASE)
            if label["crime_code"] == CrimeCode.DATA_INTERFERENCE:
                assert xss, line
        elif scenario == "vulnerability_scan":
            m = ACCESS_RE.match(line)
            assert m and m.group(1) in inst["source_ips"]
            assert any(marker in m.group(8) for marker in SCANNER_MARKERS), line
            assert label["crime_code"] == CrimeCode.ILLEGAL_ACCESS
        elif scenario == "ssh_brute_force":
            assert any(ip in line for ip in inst["source_ips"]) and " sshd[" in line
            assert label["crime_code"] == CrimeCode.ILLEGAL_ACCESS
        else:
            obj = json.loads(line)
            if scenario in ("brute_force", "credential_stuffing", "password_spraying"):
                assert obj["event"]["dataset"] == "auth" and obj["source"]["ip"] in inst["source_ips"]
                assert label["crime_code"] == CrimeCode.ILLEGAL_ACCESS
            elif scenario == "account_takeover":
                assert obj["event"]["dataset"] == "auth" and obj["source"]["ip"] in inst["source_ips"]
                assert obj["device"]["id"] == inst["details"]["device"] and obj["event"]["outcome"] == "success"
                assert obj["event"]["action"] in ("login", *inst["details"]["changes"])
                assert obj["source"]["geo"]["country_iso_code"] == inst["details"]["country"]
                assert label["crime_code"] == CrimeCode.ILLEGAL_ACCESS
            elif scenario == "bulk_record_scraping":
                assert obj["user"]["name"] in inst["accounts"] and inst["start"] <= obj["@timestamp"] <= inst["end"]
            elif scenario == "scam_messages":
                assert obj["user"]["name"] in inst["accounts"]
                links = re.findall(r"https://([^/\s]+)", obj["message"])
                assert all(domain in inst["details"]["lookalike_domains"] for domain in links)
                phishing = bool(links)
                expected = CrimeCode.COMPUTER_FORGERY if phishing else CrimeCode.COMPUTER_FRAUD
                assert label["crime_code"] == expected, obj["message"]
            elif scenario == "card_testing":
                assert obj["user"]["name"] in inst["accounts"] and obj["transaction"]["amount"] <= 2.0
                assert label["crime_code"] == CrimeCode.COMPUTER_FRAUD
            else:  # pragma: no cover - a new scenario needs a check here
                raise AssertionError(scenario)


def test_brute_force_successes_are_labelled(small_run: Run) -> None:
    auth = small_run.lines("auth.jsonl")
    for inst in small_run.manifest["instances"]:
        if inst["scenario"] == "brute_force" and inst["details"]["ends_in_success"]:
            rows = [
                json.loads(auth[lab["line"] - 1]) for lab in small_run.labels if lab["instance"] == inst["instance"]
            ]
            assert rows[-1]["event"]["outcome"] == "success"


def test_no_benign_line_carries_an_attacker_marker(small_run: Run) -> None:
    labelled: dict[str, set[int]] = defaultdict(set)
    for label in small_run.labels:
        labelled[label["path"]].add(label["line"])
    markers: dict[str, set[str]] = defaultdict(set)
    for inst in small_run.manifest["instances"]:
        markers[inst["path"]].update(inst["markers"])
    # Markers of one output must not appear in benign lines of any output (attackers are not users).
    every = set().union(*markers.values())
    assert every
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(re.escape(m) for m in sorted(every, key=len, reverse=True)) + r")(?![\w.])"
    )
    for rel in small_run.summary.files:
        for number, line in enumerate(small_run.lines(rel), start=1):
            if number not in labelled[rel]:
                assert not pattern.search(line), f"{rel}:{number} benign line has an attacker marker: {line}"


def test_benign_traffic_has_near_misses(small_run: Run) -> None:
    """Benign data must contain the things naive detectors trip over, unlabelled."""
    labelled = {lab["line"] for lab in small_run.labels if lab["path"] == "access.log"}
    benign = "\n".join(line for n, line in enumerate(small_run.lines("access.log"), 1) if n not in labelled)
    for needle in (
        "select",
        "union",
        "o%27brien",
        "%3C3",
        "Googlebot",
        "bingbot",
        "fbclid=",
        "%C3%A9",
        "1-1-always-true",
    ):
        assert needle in benign, needle
    auth = [json.loads(line) for line in small_run.lines("auth.jsonl")]
    auth_labelled = {lab["line"] for lab in small_run.labels if lab["path"] == "auth.jsonl"}
    benign_failures = [
        a for n, a in enumerate(auth, 1) if n not in auth_labelled and a["event"]["outcome"] == "failure"
    ]
    assert benign_failures, "honest users mistype passwords"
    per_ip: dict[str, int] = defaultdict(int)
    for n, a in enumerate(auth, 1):
        if n not in auth_labelled:
            per_ip[a["source"]["ip"]] += 1
    assert max(per_ip.values()) >= 5, "many users log in from shared NAT addresses"


def test_benign_auth_has_takeover_near_misses() -> None:
    """Owners change their own email/password/payout from their usual device, and some log in from
    a new phone at home: unlabelled, so a takeover detector keyed on either alone loses precision."""
    pop = build_population(7, 2000)
    _, lines = auth.generate(rng_for(7, "near-miss"), pop, 0, DAY_US)
    rows = [json.loads(line) for line in lines]
    changes = [obj for obj in rows if obj["event"]["action"] != "login"]
    assert len(changes) >= 10 and all(obj["event"]["outcome"] == "success" for obj in changes)
    assert {obj["event"]["action"] for obj in changes} <= set(auth.OWNER_CHANGES)
    owners = {pop.names[i]: pop.devices[i] for i in range(pop.size)}
    # an owner's change is made from the owner's own device (usual or new phone), never a stranger's
    assert all(obj["device"]["id"].startswith(owners[obj["user"]["name"]]) for obj in changes)
    assert sum(obj["device"]["id"].endswith("-n") for obj in rows) >= 5
