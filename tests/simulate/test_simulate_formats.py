"""Every output parses as its format, uses the dataset's field names, and is sorted by time."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from watchhouse.core.events import Dataset, field_names

from .sim_support import ACCESS_RE, Run

SSHD_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00) (\S+) ([\w-]+)\[(\d+)\]: (.+)$")
DATASETS = {
    "auth.jsonl": Dataset.AUTH,
    "messages.jsonl": Dataset.MESSAGE,
    "payments.jsonl": Dataset.TRANSACTION,
    "uploads.jsonl": Dataset.MEDIA,
    "record_access.jsonl": Dataset.DATA_ACCESS,
}


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def test_access_log_is_combined_format(small_run: Run) -> None:
    previous = None
    for line in small_run.lines("access.log"):
        m = ACCESS_RE.match(line)
        assert m, line
        stamp = datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z")
        assert previous is None or stamp >= previous
        previous = stamp


def test_sshd_log_is_rfc3339_syslog(small_run: Run) -> None:
    stamps = []
    for line in small_run.lines("sshd.log"):
        m = SSHD_RE.match(line)
        assert m, line
        stamps.append(m.group(1))
    assert stamps == sorted(stamps)
    text = "\n".join(small_run.lines("sshd.log"))
    for needle in ("CRON[", "sudo[", "systemd-logind[", "Accepted publickey", "Received disconnect", "Invalid user"):
        assert needle in text, needle


def test_json_outputs_use_the_dataset_fields(small_run: Run) -> None:
    for rel, dataset in DATASETS.items():
        allowed = set(field_names(dataset)) | {"event.dataset"}
        stamps = []
        lines = small_run.lines(rel)
        assert lines, rel
        for line in lines:
            obj = json.loads(line)
            assert obj["event"]["dataset"] == dataset.value
            flat = _flatten(obj)
            assert set(flat) <= allowed, (rel, set(flat) - allowed)
            assert flat.get("user.name")
            stamps.append(obj["@timestamp"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["@timestamp"])
        assert stamps == sorted(stamps), rel


def test_cards_are_fingerprints_never_numbers(small_run: Run) -> None:
    for line in small_run.lines("payments.jsonl"):
        card = json.loads(line).get("payment", {}).get("card")
        if card:
            assert re.fullmatch(r"[0-9a-f]{32}", card["fingerprint"]) and re.fullmatch(r"\d{6}", card["bin"])


def test_manifest_describes_the_run(small_run: Run) -> None:
    m = small_run.manifest
    assert m["seed"] == 7 and m["config"]["users"] == 300
    assert m["files"] == small_run.summary.files
    for inst in m["instances"]:
        assert inst["source_ips"] and inst["start"] <= inst["end"] and inst["lines"] > 0
