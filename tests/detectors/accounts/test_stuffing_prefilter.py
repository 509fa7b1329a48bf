"""Credential stuffing's numpy pre-filters (``_screen`` before holding the rows of windows a batch
closes, ``_plausible`` before judging) only save work: on mixed traffic, with windows closing in
different judge calls, the findings are those of judging every row, field by field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.credential_stuffing import CredentialStuffingDetector
from watchhouse.testing.factories import BASE_TIME

from .prefilter_harness import assert_only_work_saved, with_and_without_prefilter

BROWSERS = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/12{v}.0.0.0 Safari/537.36" for v in range(4)]
KIT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/108.0.5359.125 Safari/537.36"
SMALL_KIT = "python-requests/2.31.0"


def _login(t: float, ip: str, user: str, agent: str, outcome: str = "failure") -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": outcome,
        "event.action": "login",
        "service.name": "web",
        "user_agent.original": agent,
        "event.reason": "unknown_user" if outcome == "failure" and user.startswith("combo") else None,
    }


def _traffic() -> list[dict[str, Any]]:
    """Forty minutes: people on popular browsers (mostly successes), a combo list replayed with
    one pinned fingerprint from 40 addresses across a window edge (4 addresses after it: the
    continuation bar), and a second kit from only 9 addresses."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(800):
        t, agent = float(rng.uniform(0, 2_400)), BROWSERS[i % 4]
        ip, user = f"79.192.{i % 60}.{rng.integers(1, 250)}", f"p-{rng.integers(0, 500)}"
        if rng.random() < 0.15:
            rows.append(_login(t - 15, ip, user, agent))
        rows.append(_login(t, ip, user, agent, "success"))
    # 36 sources before the 1,200 s edge and 4 after, two accounts each
    for s in range(40):
        for k in range(2):
            rows.append(_login(1_200 + (s - 36) * 12 + k * 3, f"86.0.0.{s}", f"combo-{s * 2 + k:04d}", KIT))
    rows += [_login(300 + s * 20, f"86.1.0.{s}", f"combo-x{s}", SMALL_KIT) for s in range(9)]
    return sorted(rows, key=lambda r: r["@timestamp"])


def _summary(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [(f.key, f.title, f.details["failures"], f.details["distinct_sources"], f.evidence) for f in findings]


@pytest.mark.parametrize("size", [100_000, 211])
def test_the_prefilter_changes_no_finding(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    filtered, everything, kept, screened = with_and_without_prefilter(
        monkeypatch, CredentialStuffingDetector, _traffic(), size
    )
    assert _summary(filtered) == _summary(everything)
    # the 4 sources after the edge fire only as a continuation
    assert {(f.subject.value, f.details["distinct_sources"]) for f in filtered} == {(KIT, 36), (KIT, 4)}
    # judged in full: the kit's 80 rows only, not the people nor the kit below the bar
    assert_only_work_saved(
        filtered, everything, kept, screened, judged=80, turned_down=500, screened_out=150 if size == 100_000 else None
    )
