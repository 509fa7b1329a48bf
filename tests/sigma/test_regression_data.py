"""SigmaHQ regression data: every rule with a true-positive sample fires on it (202 of 202).

The events are pseudonymised as ingest does (user names and SIDs inside EventData become keyed
pseudonyms, built-in identities stay), so this also proves no rule needs a personal account name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from watchhouse.core.events import EventBatch
from watchhouse.core.identity import Pseudonymizer
from watchhouse.ingest.quarantine import Quarantine
from watchhouse.ingest.winlog import pseudonymise_winlog, read_evtx
from watchhouse.sigma.engine import SigmaEngine
from watchhouse.sigma.loader import load_rules

pytestmark = pytest.mark.corpus


def test_every_rule_with_a_true_positive_fires_on_it(corpora: Path) -> None:
    root = corpora / "sigma"
    expected: dict[str, tuple[int, str]] = {}
    batches: list[EventBatch] = []
    quarantine = Quarantine(None)
    pseudonymizer = Pseudonymizer(b"regression-data-pseudonym-key-01")
    for info in sorted(root.glob("regression_data/**/info.yml")):
        meta = yaml.safe_load(info.read_text())
        for test in meta.get("regression_tests_info") or []:
            if test.get("type") != "evtx":
                continue
            evtx_path = root / test["path"]
            batches.extend(pseudonymise_winlog(b, pseudonymizer) for b in read_evtx(evtx_path, quarantine))
            expected[str(meta["rule_metadata"][0]["id"])] = (test.get("match_count") or 1, str(evtx_path.resolve()))
    assert len(expected) == 202
    assert quarantine.count == 0
    loaded = load_rules(sorted(root.glob("rules*")))
    engine = SigmaEngine(loaded.rules)
    batch = EventBatch.concat(batches)
    matches = engine.match(batch)
    paths = batch.table.column("log.file.path").to_pylist()
    index_of = {str(r.id): i for i, r in enumerate(engine.rules)}
    missed = []
    for rule_id, (count, path) in expected.items():
        rows = matches.get(index_of[rule_id], [])
        if sum(1 for row in rows if paths[row] == path) < count:
            missed.append(rule_id)
    assert missed == []
