from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import ClassVar

import pytest

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
from watchhouse.core.errors import DetectorError, UsageError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.registry import BUILTIN_DETECTORS, DetectorRegistry, builtin_detectors, plugin_detectors


def _info(name: str) -> DetectorInfo:
    return DetectorInfo(
        name, "1", DetectorFamily.FRAUD, frozenset({Dataset.TRANSACTION}), Severity.LOW, CrimeCode.COMPUTER_FRAUD, "t"
    )


class FirstDetector(Detector):
    """Test double."""

    info: ClassVar[DetectorInfo] = _info("fraud.same_name")

    def __init__(self, threshold: int = 3) -> None:
        self.threshold = threshold

    def detect(self, batch: EventBatch) -> list[Finding]:
        return []


class SecondDetector(FirstDetector):
    """Another class claiming the same name."""

    info: ClassVar[DetectorInfo] = _info("fraud.same_name")


class NotADetector:
    pass


def test_builtins_load_and_have_unique_names() -> None:
    classes = builtin_detectors()
    assert len(classes) == len(BUILTIN_DETECTORS)
    registry = DetectorRegistry(classes)
    assert "web.attack_patterns" in registry.names()
    assert "accounts.failed_login_burst" in registry.names()


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(DetectorError, match=r"two detectors are named 'fraud\.same_name'"):
        DetectorRegistry([FirstDetector, SecondDetector])


def test_entry_points_are_loaded_and_checked() -> None:
    good = EntryPoint("same", f"{__name__}:FirstDetector", "watchhouse.detectors")
    assert plugin_detectors([good]) == [FirstDetector]
    bad = EntryPoint("bad", f"{__name__}:NotADetector", "watchhouse.detectors")
    with pytest.raises(DetectorError, match="not a Detector subclass"):
        plugin_detectors([bad])
    missing = EntryPoint("gone", "no_such_module_xyz:Thing", "watchhouse.detectors")
    with pytest.raises(DetectorError, match="failed to load"):
        plugin_detectors([missing])


def test_create_passes_options_and_names_bad_ones() -> None:
    registry = DetectorRegistry([FirstDetector])
    (made,) = registry.create(options={"fraud.same_name": {"threshold": 9}})
    assert isinstance(made, FirstDetector) and made.threshold == 9
    with pytest.raises(UsageError, match=r"bad options for detector 'fraud\.same_name'"):
        registry.create(options={"fraud.same_name": {"nope": 1}})
    # a value the detector refuses is the configuration's fault too (exit status 2, not 4)
    web = DetectorRegistry.default(include_plugins=False)
    with pytest.raises(UsageError, match=r"bad options for detector 'web\.attack_patterns': paranoia_level"):
        web.create(["web.attack_patterns"], {"web.attack_patterns": {"paranoia_level": 7}})
    with pytest.raises(UsageError, match=r"'accounts\.failed_login_burst': window_seconds"):
        web.create(["accounts.failed_login_burst"], {"accounts.failed_login_burst": {"window_seconds": 0}})
    with pytest.raises(UsageError, match=r"unknown detector 'web\.nope'"):
        registry.create(["web.nope"])
    with pytest.raises(UsageError, match="unknown detectors"):
        registry.create(options={"web.nope": {}})


def test_a_detector_named_twice_runs_once() -> None:
    registry = DetectorRegistry.default(include_plugins=False)
    made = registry.create(["web.attack_patterns", "accounts.failed_login_burst", "web.attack_patterns"])
    assert [d.info.name for d in made] == ["web.attack_patterns", "accounts.failed_login_burst"]
