"""web.attack_patterns: conformance, annotated samples, explanations, redaction, severity mapping."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Severity, Stage
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.defaults import DEFAULT_PARANOIA
from watchhouse.detectors.web.rules import AttackClass, default_rules
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import make_batch

# -- annotated samples: a small nginx "combined" reader local to the tests (the real reader lives in
# watchhouse.ingest and is developed separately); each row keeps its file line as log.file.line.
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns"

COMBINED = re.compile(
    r"^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<url>\S+)(?: (?P<version>HTTP/[\d.]+))?" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referrer>[^"]*)" "(?P<agent>(?:[^"\\]|\\.)*)"'
)


@dataclass(frozen=True)
class Sample:
    """One annotated log line: the rule id or class it is about, why, and the row."""

    label: str
    why: str
    line: int
    batch: EventBatch


def parse_line(text: str) -> dict[str, Any]:
    m = COMBINED.match(text)
    if m is None:
        raise ValueError(f"not a combined log line: {text!r}")
    return {
        "@timestamp": datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z"),
        "source.ip": m["ip"],
        "user.name": None if m["user"] == "-" else m["user"],
        "http.request.method": m["method"],
        "url.original": m["url"],
        "http.version": (m["version"] or "HTTP/1.0").removeprefix("HTTP/"),
        "http.response.status_code": int(m["status"]),
        "http.response.body.bytes": 0 if m["bytes"] == "-" else int(m["bytes"]),
        "http.request.referrer": m["referrer"],
        "user_agent.original": m["agent"],
    }


def load(name: str) -> list[Sample]:
    """Samples of ``positive.log`` or ``near_miss.log``; each line preceded by '# label: why'."""
    path = SAMPLES / name
    out: list[Sample] = []
    label, why = "", ""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        if text.startswith("#"):
            head, _, rest = text[1:].strip().partition(":")
            label, why = head.strip(), rest.strip()
            continue
        row = parse_line(text)
        batch = make_batch(Dataset.HTTP, [row], path=f"samples/web.attack_patterns/{name}", first_line=number)
        out.append(Sample(label, why, number, batch))
    return out


def load_requests(kind: str) -> list[Sample]:
    """Full-request samples (headers, bodies) from ``requests.jsonl``, for rules a log line cannot show."""
    path = SAMPLES / "requests.jsonl"
    out: list[Sample] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(text)
        if record["kind"] == kind:
            batch = make_batch(
                Dataset.HTTP, [record["row"]], path="samples/web.attack_patterns/requests.jsonl", first_line=number
            )
            out.append(Sample(record["label"], record["why"], number, batch))
    return out


RULES = default_rules()
ALL_POSITIVES = load("positive.log") + load_requests("positive")
NEAR_MISSES = load("near_miss.log") + load_requests("near_miss")
#: positives whose rule runs at the default paranoia level (the others are checked at their own level)
POSITIVES = [s for s in ALL_POSITIVES if RULES.by_id(s.label).paranoia <= DEFAULT_PARANOIA]


class TestWebAttackConformance(DetectorConformance):
    detector_class = WebAttackDetector

    def positive_cases(self) -> list[SampleCase]:
        cases = [SampleCase.of(f"positive:{s.line}:{s.label}", s.batch) for s in POSITIVES]
        mixed = EventBatch.concat([s.batch for s in POSITIVES[::3]] + [s.batch for s in NEAR_MISSES[::2]])
        return [*cases, SampleCase.of("mixed", mixed)]

    def negative_cases(self) -> list[SampleCase]:
        return [SampleCase.of(f"near-miss:{s.line}:{s.label}", s.batch) for s in NEAR_MISSES]


def _one(batch: EventBatch, **options: object) -> list:  # type: ignore[type-arg]
    return WebAttackDetector(**options).detect(batch)  # type: ignore[arg-type]


@pytest.mark.parametrize("sample", ALL_POSITIVES, ids=lambda s: f"{s.line}-{s.label}")
def test_each_positive_fires_its_annotated_rule(sample) -> None:  # type: ignore[no-untyped-def]
    level = max(DEFAULT_PARANOIA, RULES.by_id(sample.label).paranoia)
    findings = _one(sample.batch, paranoia_level=level)
    assert len(findings) == 1, sample.why
    assert sample.label in findings[0].details["rules"], (sample.why, findings[0].details["rules"])


@pytest.mark.parametrize("sample", NEAR_MISSES, ids=lambda s: f"{s.line}-{s.label}")
def test_each_near_miss_escapes_its_rule_even_at_paranoia_4(sample) -> None:  # type: ignore[no-untyped-def]
    for finding in _one(sample.batch, paranoia_level=4):
        assert sample.label not in finding.details["rules"], sample.why


def test_paranoia_levels_gate_rules_and_anomaly_threshold_gates_findings() -> None:
    paranoid = next(s for s in ALL_POSITIVES if s.label == "WH-SQLI-018")
    assert _one(paranoid.batch, paranoia_level=1) == []
    (finding,) = _one(paranoid.batch, paranoia_level=4)
    assert finding.details["paranoia_level"] == 4
    score = finding.details["anomaly_score"]
    assert score >= 3 and f"Anomaly score {score}" in finding.explanation
    assert _one(paranoid.batch, paranoia_level=4, anomaly_threshold=score + 1) == []
    with pytest.raises(ValueError):
        WebAttackDetector(paranoia_level=5)
    with pytest.raises(ValueError):
        WebAttackDetector(anomaly_threshold=0)


def test_every_rule_has_a_positive_and_a_near_miss() -> None:
    positive = {s.label for s in ALL_POSITIVES}
    near = {s.label for s in NEAR_MISSES}
    for rule in default_rules():
        assert rule.id in positive, f"{rule.id} has no positive sample"
        assert rule.id in near, f"{rule.id} has no near-miss sample"


def test_one_finding_per_request_listing_all_rules() -> None:
    batch = make_batch(
        Dataset.HTTP,
        [{"source.ip": "203.0.113.7", "url.original": "/x?id=1'+union+select+null,sleep(5)--&f=../../../etc/passwd"}],
    )
    (finding,) = _one(batch)
    assert {"WH-SQLI-001", "WH-SQLI-005", "WH-PATH-001"} <= set(finding.details["rules"])
    assert set(finding.details["classes"]) >= {"sqli", "path_traversal"}
    assert finding.severity == Severity.HIGH
    assert finding.stage is Stage.ATTEMPTED
    assert finding.subject.kind == "source.ip" and finding.subject.value == "203.0.113.7"
    assert finding.first_seen == finding.last_seen
    assert finding.key == "samples/test.log:1:None"


def test_explanation_names_parameter_rule_decoded_value_and_steps() -> None:
    batch = make_batch(
        Dataset.HTTP, [{"source.ip": "203.0.113.7", "url.original": "/s?page=2&q=%253Cscript%253Ealert(1)"}]
    )
    (finding,) = _one(batch)
    text = finding.explanation
    assert "query parameter 'q'" in text
    assert "WH-XSS-001 (Script element)" in text
    assert "<script>alert(1)" in text
    assert "url_decode×2" in text
    assert finding.title == "Cross-site scripting attempt from 203.0.113.7"
    assert finding.crime_code is CrimeCode.DATA_INTERFERENCE
    details = finding.details
    assert details["parameter"] == "q"
    assert details["decoding_steps"][:2] == ["url_decode", "url_decode"]
    json.dumps(details)


def test_excerpt_is_truncated() -> None:
    payload = "%27+union+select+" + "a," * 400 + "b--"
    batch = make_batch(Dataset.HTTP, [{"source.ip": "203.0.113.7", "url.original": f"/s?q={payload}"}])
    (finding,) = _one(batch, excerpt_chars=100)
    assert len(finding.details["decoded_excerpt"]) <= 102
    assert len(finding.details["url_excerpt"]) <= 102


def test_sensitive_values_are_redacted_unless_they_carry_the_attack() -> None:
    url = "/login?user=admin%27--&password=hunter2&token=abc123"
    batch = make_batch(Dataset.HTTP, [{"source.ip": "203.0.113.7", "url.original": url}])
    (finding,) = _one(batch)
    blob = finding.explanation + json.dumps(finding.details)
    assert "hunter2" not in blob and "abc123" not in blob
    assert "password=[redacted]" in finding.details["url_excerpt"]
    attacked = "/login?user=bob&password=x%27+or+%271%27%3D%271"
    (finding,) = _one(make_batch(Dataset.HTTP, [{"source.ip": "203.0.113.7", "url.original": attacked}]))
    assert "or '1'='1" in finding.explanation
    assert finding.details["parameter"] == "password"
    # an attacked header of the same name leaves the URL's secret hidden: only its own value is evidence
    row = {
        "source.ip": "203.0.113.7",
        "url.original": "/account?token=abc123",
        "http.request.headers": json.dumps({"Token": "' or '1'='1' --"}),
    }
    (finding,) = _one(make_batch(Dataset.HTTP, [row]))
    assert finding.details["target"] == "headers" and finding.details["url_excerpt"] == "/account?token=[redacted]"
    assert "abc123" not in finding.explanation + json.dumps(finding.details)


def test_scanner_only_hits_are_low_and_can_be_switched_off() -> None:
    row = {
        "source.ip": "192.0.2.60",
        "url.original": "/",
        "user_agent.original": "sqlmap/1.7.2#stable (https://sqlmap.org)",
    }
    batch = make_batch(Dataset.HTTP, [row])
    (finding,) = _one(batch)
    assert finding.severity == Severity.LOW
    assert finding.title.startswith("Vulnerability scanner activity")
    assert finding.crime_code is CrimeCode.ILLEGAL_ACCESS
    assert _one(batch, report_scanners=False) == []
    with_payload = make_batch(Dataset.HTTP, [{**row, "url.original": "/?id=1+and+sleep(5)"}])
    (finding,) = _one(with_payload)
    assert finding.severity == Severity.HIGH and "scanner" in finding.details["classes"]


def test_min_confidence_and_min_severity_filter() -> None:
    batch = make_batch(Dataset.HTTP, [{"source.ip": "192.0.2.1", "url.original": "/static/../x"}])  # WH-PATH-005 0.7
    assert _one(batch)
    assert _one(batch, min_confidence=0.8) == []
    assert _one(batch, min_severity=Severity.HIGH) == []
    assert _one(batch, min_severity="high") == []  # as a configuration file spells it
    # the floor holds for the request policy's checks too (all at confidence 0.8)
    smuggled = make_batch(
        Dataset.HTTP,
        [{"source.ip": "192.0.2.1", "url.original": "/", "http.request.headers": '{"Request-Range": "bytes=0-1"}'}],
    )
    assert [f.details["rules"] for f in _one(smuggled)] == [["WH-POL-003"]]
    assert _one(smuggled, min_confidence=0.85) == []
    assert _one(batch, min_severity=" Medium ")
    with pytest.raises(ValueError):
        WebAttackDetector(min_confidence=2.0)
    with pytest.raises(ValueError, match="unknown severity 'severe'"):
        WebAttackDetector(min_severity="severe")


# rules whose technique is a denial of service: filed under Art. 5 whatever their class
_DENIAL_OF_SERVICE = {"WH-NODE-003", "WH-NODE-006", "WH-CMDI-019", "WH-POL-003", "WH-POL-015"}


def test_crime_mapping_per_class() -> None:
    from watchhouse.detectors.web.policy import POLICY_RULES

    checks = [*default_rules(), *POLICY_RULES]
    for rule in checks:
        if rule.id in _DENIAL_OF_SERVICE:
            expected = CrimeCode.SYSTEM_INTERFERENCE
        elif rule.attack_class is AttackClass.XSS:
            expected = CrimeCode.DATA_INTERFERENCE
        else:
            expected = CrimeCode.ILLEGAL_ACCESS
        assert rule.crime_code is expected, rule.id
    assert {rule.id for rule in checks} >= _DENIAL_OF_SERVICE


def test_a_denial_of_service_attempt_is_system_interference() -> None:
    rows = [
        {"source.ip": "192.0.2.4", "url.original": "/api?code=while(true);"},  # an endless loop for eval()
        {"source.ip": "192.0.2.5", "url.original": "/search?q=f()%7B%20f%7Cf%26%20%7D;f"},  # a fork bomb
    ]
    found = WebAttackDetector().detect(make_batch(Dataset.HTTP, rows))
    assert [f.crime_code for f in found] == [CrimeCode.SYSTEM_INTERFERENCE] * 2


def test_headers_and_body_are_inspected() -> None:
    rows = [
        {
            "source.ip": "192.0.2.9",
            "url.original": "/api",
            "http.request.headers": json.dumps({"X-Api-Version": "${jndi:x}() { :; }; /bin/id"}),
        },
        {
            "source.ip": "192.0.2.9",
            "url.original": "/form",
            "http.request.body.content": "name=x&comment=%3Cscript%3Ealert(1)%3C/script%3E",
        },
        {
            "source.ip": "192.0.2.9",
            "url.original": "/api",
            "http.request.headers": json.dumps({"Cookie": "session=abc", "Accept": "*/*"}),
        },
    ]
    findings = _one(make_batch(Dataset.HTTP, rows))
    assert [f.evidence[0].line for f in findings] == [1, 2]
    assert "WH-CMDI-005" in findings[0].details["rules"]
    assert findings[1].details["parameter"] == "comment"


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_prefilter_loses_nothing_on_samples(level: int) -> None:
    batches = [s.batch for s in ALL_POSITIVES + NEAR_MISSES]
    with_pf = run_detector(WebAttackDetector(paranoia_level=level), batches)
    without = run_detector(WebAttackDetector(use_prefilter=False, paranoia_level=level), batches)
    assert {f.key for f in with_pf} == {f.key for f in without}


def test_repeated_requests_are_judged_alike_from_memory() -> None:
    """A detector that has seen a request before (a campaign repeating one payload) reports it
    exactly as a fresh detector would, and never hands two findings the same mutable details."""
    rows = [s.batch.to_polars().row(0, named=True) for s in ALL_POSITIVES[:40] + NEAR_MISSES[:40]]
    repeated = [dict(row, **{"source.ip": f"198.51.100.{i % 7}"}) for i, row in enumerate(rows * 3)]
    batch = make_batch(Dataset.HTTP, repeated, path="campaign.log", first_line=1)
    seasoned = WebAttackDetector()
    first, again = seasoned.detect(batch), seasoned.detect(batch)
    fresh = [
        WebAttackDetector().detect(make_batch(Dataset.HTTP, [row], path="campaign.log", first_line=i + 1))
        for i, row in enumerate(repeated)
    ]
    assert len(first) >= 3 * 30
    assert first == again == [f for found in fresh for f in found]
    assert [f.details for f in first] == [f.details for found in fresh for f in found]
    twins = [f for f in first if f.details["rules"] == first[0].details["rules"]]
    assert len(twins) >= 3
    twins[0].details["hits"][0]["decoding_steps"].append("changed")
    twins[0].details["rules"].append("changed")
    assert "changed" not in twins[1].details["hits"][0]["decoding_steps"]
    assert "changed" not in twins[1].details["rules"]
