"""Precision and recall of alerts against line-level labels (the simulator's ``labels.jsonl``).

Definitions, chosen so the figures mean something to an analyst:

* A labelled line is **detected** when an alert of the same crime code cites it as evidence.
  Recall per scenario and per crime code is over labelled lines; an incident (one injected
  attack, ``instance``) counts as detected when any of its lines is.
* An alert is a **true positive** when at least half of its evidence lines are labelled with
  the alert's crime code; otherwise it is a false positive (it mostly points at benign traffic).
  Precision is reported per detector and per crime code.

Paths are compared after resolution: labels are relative to the labels file's folder; alerts
cite absolute paths.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError


@dataclass(frozen=True)
class Label:
    crime_code: str
    scenario: str
    instance: str


@dataclass
class Rate:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass
class EvalReport:
    scenario_lines: dict[str, Rate] = field(default_factory=dict)
    scenario_incidents: dict[str, Rate] = field(default_factory=dict)
    scenario_crime: dict[str, str] = field(default_factory=dict)
    crime_recall: dict[str, Rate] = field(default_factory=dict)
    crime_precision: dict[str, Rate] = field(default_factory=dict)
    detector_precision: dict[str, Rate] = field(default_factory=dict)
    #: alerts attributed to the scenario most of their labelled evidence belongs to; an alert with
    #: no labelled evidence counts against every scenario of its crime code
    scenario_precision: dict[str, Rate] = field(default_factory=dict)
    labels: int = 0
    alerts: int = 0
    unlabelled_alert_paths: int = 0

    def to_dict(self) -> dict[str, object]:
        def table(rates: dict[str, Rate]) -> dict[str, dict[str, object]]:
            return {k: {"hits": r.hits, "total": r.total, "rate": r.value} for k, r in sorted(rates.items())}

        return {
            "labels": self.labels,
            "alerts": self.alerts,
            "scenario_line_recall": table(self.scenario_lines),
            "scenario_incident_recall": table(self.scenario_incidents),
            "crime_recall": table(self.crime_recall),
            "crime_precision": table(self.crime_precision),
            "detector_precision": table(self.detector_precision),
            "scenario_precision": table(self.scenario_precision),
        }


def load_labels(path: Path) -> dict[tuple[str, int], Label]:
    base = path.resolve().parent
    labels: dict[tuple[str, int], Label] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read labels: {exc.strerror}", path=str(path)) from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
                where = str((base / rec["path"]).resolve())
                labels[(where, int(rec["line"]))] = Label(
                    str(rec["crime_code"]), str(rec["scenario"]), str(rec.get("instance", rec["scenario"]))
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputError(f"not a label record: {exc}", path=str(path), line=number) from exc
    return labels


def evaluate(labels: dict[tuple[str, int], Label], alerts: Iterable[Alert]) -> EvalReport:
    report = EvalReport(labels=len(labels))
    detected: set[tuple[str, int]] = set()
    unattributed: list[str] = []  # crime codes of alerts citing no labelled line of their code
    for alert in alerts:
        report.alerts += 1
        refs = [(str(Path(r.path).resolve()), r.line) for r in alert.evidence if r.line is not None]
        matching = 0
        for ref in refs:
            label = labels.get((ref[0], ref[1]))
            if label is not None and label.crime_code == alert.crime_code.value:
                matching += 1
                detected.add((ref[0], ref[1]))
        true_positive = bool(refs) and matching * 2 >= len(refs)
        scenarios = Counter(
            label.scenario
            for label in (labels.get(ref) for ref in refs)
            if label is not None and label.crime_code == alert.crime_code.value
        )
        if scenarios:
            rate = report.scenario_precision.setdefault(scenarios.most_common(1)[0][0], Rate())
            rate.total += 1
            rate.hits += int(true_positive)
        else:
            unattributed.append(alert.crime_code.value)
        for table, key in (
            (report.crime_precision, alert.crime_code.value),
            (report.detector_precision, alert.detector),
        ):
            rate = table.setdefault(key, Rate())
            rate.total += 1
            rate.hits += int(true_positive)

    incidents: dict[str, set[str]] = defaultdict(set)
    incidents_hit: dict[str, set[str]] = defaultdict(set)
    lines: Counter[str] = Counter()
    lines_hit: Counter[str] = Counter()
    for where, label in labels.items():
        hit = where in detected
        lines[label.scenario] += 1
        lines_hit[label.scenario] += int(hit)
        incidents[label.scenario].add(label.instance)
        if hit:
            incidents_hit[label.scenario].add(label.instance)
        report.scenario_crime.setdefault(label.scenario, label.crime_code)
        rate = report.crime_recall.setdefault(label.crime_code, Rate())
        rate.total += 1
        rate.hits += int(hit)
    for scenario in lines:
        rate = report.scenario_precision.setdefault(scenario, Rate())
        rate.total += sum(1 for code in unattributed if code == report.scenario_crime[scenario])
        report.scenario_lines[scenario] = Rate(lines_hit[scenario], lines[scenario])
        report.scenario_incidents[scenario] = Rate(len(incidents_hit[scenario]), len(incidents[scenario]))
    return report
