from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.sigma.rules import SigmaRulesDetector
from watchhouse.ingest.quarantine import Quarantine
from watchhouse.ingest.winlog import read_evtx
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def http(urls: list[str], agents: list[str | None] | None = None) -> EventBatch:
    n = len(urls)
    return EventBatch.from_columns(
        Dataset.HTTP,
        {
            "@timestamp": [T0] * n,
            "log.file.path": ["access.log"] * n,
            "log.file.line": list(range(1, n + 1)),
            "source.ip": [f"203.0.113.{i}" for i in range(n)],
            "http.request.method": ["GET"] * n,
            "url.original": urls,
            "user_agent.original": agents or [None] * n,
        },
    )


class TestSigmaRulesDetector(DetectorConformance):
    detector_class = SigmaRulesDetector

    def positive_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("union select", http(["/", "/item?id=1 UNION SELECT password FROM users", "/about"])),
            SampleCase.of("traversal", http(["/static/../../../../etc/passwd", "/x"])),
            SampleCase.of("scanner", http(["/", "/login"], ["Mozilla/5.0", "sqlmap/1.7"])),
        ]

    def negative_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("union in path only", http(["/union/select-a-plan", "/?q=trade+union"])),
            SampleCase.of("traversal to harmless file", http(["/a/../b/index.html"])),
            SampleCase.of("ordinary agent", http(["/"], ["Mozilla/5.0 (nuclear physics fan)"])),
        ]


def test_alerts_carry_rule_metadata_and_crime() -> None:
    (finding,) = run_detector(SigmaRulesDetector(), [http(["/item?id=1 union all select 1"])])
    assert finding.details["rule_id"] == "0f7c9a52-3d1e-4b7a-9e54-6a0c1b2d8e01"
    assert finding.title == "Sigma: SQL Injection UNION SELECT In Request URI"
    assert finding.severity is Severity.HIGH
    assert "attack.t1190" in finding.tags and finding.crime_code is CrimeCode.ILLEGAL_ACCESS
    assert finding.subject.kind == "source.ip"


def test_sigmahq_rule_fires_on_windows_events(corpora: Path) -> None:
    folder = corpora / "sigma" / "rules" / "windows" / "process_creation"
    rule_file = folder / "proc_creation_win_amsi_registry_tampering.yml"
    detector = SigmaRulesDetector([rule_file])
    evtx = next((corpora / "sigma" / "regression_data").rglob("proc_creation_win_amsi_registry_tampering/*.evtx"))
    findings = run_detector(detector, list(read_evtx(evtx, Quarantine(None))))
    assert [f.details["rule_id"] for f in findings] == ["7dbbcac2-57a0-45ac-b306-ff30a8bd2981"]
    assert findings[0].subject.kind == "host.name"
