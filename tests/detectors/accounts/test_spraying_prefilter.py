"""Password spraying's numpy pre-filters (``_screen`` before holding the rows of windows a batch
closes, ``_plausible`` before judging) only save work: on mixed traffic, with windows closing in
different judge calls, the findings are those of judging every row, field by field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.password_spraying import PasswordSprayingDetector
from watchhouse.testing.factories import BASE_TIME

from .prefilter_harness import assert_only_work_saved, with_and_without_prefilter


def _login(t: float, ip: str, user: str, outcome: str = "failure") -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": outcome,
        "event.action": "login",
        "service.name": "web",
        "event.reason": "bad_password" if outcome == "failure" else None,
    }


def _traffic() -> list[dict[str, Any]]:
    """Three hours: people logging in (a mistype now and then), an office NAT, a brute force, a
    spray below the bar, and two sprays that run across an hour boundary (the later hour then
    fires on the continuation bar)."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(600):
        t, user = float(rng.uniform(0, 3 * 3600)), f"p-{rng.integers(0, 400)}"
        ip = f"79.192.{i % 50}.{rng.integers(1, 250)}"
        if rng.random() < 0.2:
            rows.append(_login(t - 20, ip, user))
        rows.append(_login(t, ip, user, "success"))
    for u in range(40):  # office NAT: one mistype each, then a success
        rows += [
            _login(4000 + u * 30, "141.20.0.1", f"staff-{u}"),
            _login(4020 + u * 30, "141.20.0.1", f"staff-{u}", "success"),
        ]
    rows += [_login(600 + i * 5, "45.146.1.11", f"u-{i % 12}") for i in range(120)]  # brute force
    rows += [_login(900 + i * 60, "45.146.1.12", f"v-{i}") for i in range(8)]  # too few accounts
    for ip, edge, before_edge in (("45.146.1.9", 3600, 26), ("45.146.7.7", 7200, 20)):  # an account every 90 s
        rows += [_login(edge + (i - before_edge) * 90 + 45, ip, f"w-{i:03d}") for i in range(30)]
    return sorted(rows, key=lambda r: r["@timestamp"])


def _summary(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [(f.key, f.title, f.details["failures"], f.details["distinct_accounts"], f.evidence) for f in findings]


@pytest.mark.parametrize("size", [100_000, 333])
def test_the_prefilter_changes_no_finding(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    filtered, everything, kept, screened = with_and_without_prefilter(
        monkeypatch, PasswordSprayingDetector, _traffic(), size
    )
    assert _summary(filtered) == _summary(everything)
    sprayed = {(f.subject.value, f.details["distinct_accounts"]) for f in filtered}
    # the 4 accounts after the edge fire only as a continuation
    assert sprayed == {("45.146.1.9", 26), ("45.146.1.9", 4), ("45.146.7.7", 20), ("45.146.7.7", 10)}
    # judged in full: the two sprays' 60 rows only, not the brute force, the office or the people
    assert_only_work_saved(
        filtered, everything, kept, screened, judged=60, turned_down=200, screened_out=100 if size == 100_000 else None
    )
