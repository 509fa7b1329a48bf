"""Which detectors exist: an explicit built-in list plus the ``watchhouse.detectors`` entry points.

Discovery is deliberately not heuristic (no scanning of modules): built-ins are named here, and
third-party packages declare theirs as entry points. Names are storage keys, so two detectors
with the same name are refused outright rather than one silently shadowing the other.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from watchhouse.core.detector import Detector, DetectorInfo
from watchhouse.core.errors import DetectorError, UsageError

ENTRY_POINT_GROUP = "watchhouse.detectors"

BUILTIN_DETECTORS: tuple[str, ...] = (
    "watchhouse.detectors.web.attack_patterns:WebAttackDetector",
    "watchhouse.detectors.web.campaigns:WebCampaignDetector",
    "watchhouse.detectors.accounts.failed_login_burst:FailedLoginBurstDetector",
    "watchhouse.detectors.accounts.slow_brute_force:SlowBruteForceDetector",
    "watchhouse.detectors.accounts.password_spraying:PasswordSprayingDetector",
    "watchhouse.detectors.accounts.credential_stuffing:CredentialStuffingDetector",
    "watchhouse.detectors.accounts.takeover:AccountTakeoverDetector",
    "watchhouse.detectors.sigma.rules:SigmaRulesDetector",
    "watchhouse.detectors.fraud.card_testing:CardTestingDetector",
    "watchhouse.detectors.datatheft.bulk_record_access:BulkRecordAccessDetector",
    "watchhouse.detectors.fraud.scam_messages:ScamMessageDetector",
)


def _load(spec: str) -> type[Detector]:
    module_name, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise DetectorError(f"cannot load detector {spec!r}: {exc}") from exc
    return _checked(obj, spec)


def _checked(obj: object, origin: str) -> type[Detector]:
    if not (isinstance(obj, type) and issubclass(obj, Detector)):
        raise DetectorError(f"{origin} is not a Detector subclass")
    if not isinstance(getattr(obj, "info", None), DetectorInfo):
        raise DetectorError(f"{origin} declares no DetectorInfo as `info`")
    return obj


def builtin_detectors() -> list[type[Detector]]:
    return [_load(spec) for spec in BUILTIN_DETECTORS]


def plugin_detectors(points: Iterable[EntryPoint] | None = None) -> list[type[Detector]]:
    """Detectors other packages registered; ``points`` is injectable for tests."""
    found = entry_points(group=ENTRY_POINT_GROUP) if points is None else points
    classes = []
    for point in found:
        try:
            obj = point.load()
        except Exception as exc:  # a broken plug-in must name itself, not crash the scan obscurely
            raise DetectorError(f"plug-in detector {point.name!r} ({point.value}) failed to load: {exc}") from exc
        classes.append(_checked(obj, f"plug-in {point.name!r} ({point.value})"))
    return classes


class DetectorRegistry:
    """A name -> detector class table with unique names enforced."""

    def __init__(self, classes: Iterable[type[Detector]]) -> None:
        self._classes: dict[str, type[Detector]] = {}
        for cls in classes:
            name = cls.info.name
            if name in self._classes and self._classes[name] is not cls:
                other = self._classes[name]
                raise DetectorError(
                    f"two detectors are named {name!r}: {other.__module__}.{other.__qualname__} "
                    f"and {cls.__module__}.{cls.__qualname__}; detector names must be unique"
                )
            self._classes[name] = cls

    @classmethod
    def default(cls, *, include_plugins: bool = True) -> DetectorRegistry:
        classes = builtin_detectors()
        if include_plugins:
            classes += plugin_detectors()
        return cls(classes)

    def names(self) -> list[str]:
        return sorted(self._classes)

    def infos(self) -> list[DetectorInfo]:
        return [self._classes[name].info for name in self.names()]

    def get(self, name: str) -> type[Detector]:
        try:
            return self._classes[name]
        except KeyError:
            raise UsageError(f"unknown detector {name!r}; known: {', '.join(self.names())}") from None

    def create(
        self,
        enabled: Iterable[str] | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Detector]:
        """Instantiate the enabled detectors with their per-detector options.

        By default every detector that is not opt-in runs; an opt-in detector also runs when
        options are given for it (configuring one is asking for it).
        """
        options = options or {}
        if enabled is None:
            names = [n for n in self.names() if not self._classes[n].info.opt_in or n in options]
        else:
            names = list(dict.fromkeys(enabled))  # a detector named twice runs once
        unknown_options = set(options) - set(self._classes)
        if unknown_options:
            raise UsageError(f"options given for unknown detectors: {', '.join(sorted(unknown_options))}")
        classes = [self.get(name) for name in names]
        made: dict[str, Detector] = {}
        # a detector composing another that also runs is made after it, to be handed it
        for name, cls in sorted(zip(names, classes, strict=True), key=lambda pair: _composed(pair[1]) in names):
            given = dict(options.get(name, {}))
            shared = _shared(cls, given, made, options)
            if shared is not None:
                parameter, instance, own = shared
                given = {key: value for key, value in given.items() if key not in own}
                given[parameter] = instance
            try:
                made[name] = cls(**given)
            except (TypeError, ValueError, DetectorError) as exc:
                # an unknown option name (TypeError) or a value the detector refuses: the
                # configuration's fault, named as such (exit status 2), not a detector failure
                raise UsageError(f"bad options for detector {name!r}: {exc}") from exc
        return [made[name] for name in names]


def _composed(cls: type[Detector]) -> str | None:
    """The name of the detector ``cls`` composes (its ``composes`` declaration), if any."""
    composes = getattr(cls, "composes", None)
    return composes[0] if composes else None


def _shared(
    cls: type[Detector],
    given: Mapping[str, Any],
    made: Mapping[str, Detector],
    options: Mapping[str, Mapping[str, Any]],
) -> tuple[str, Detector, frozenset[str]] | None:
    """What ``cls`` is handed instead of building its own inner detector: (parameter, instance,
    the options of ``cls`` that configure it), or None.

    Why only then: sharing must not change what either reports. The instance already made is
    shared when the composing detector would have built one configured the same way: it sets
    its inner options (paranoia level, threshold) to the very values the other was given, or
    neither sets them, and the other was given no option beyond those (any other would make it
    report otherwise than a default one). The shared detector remembers its last batch's findings,
    so both read one matching of it.
    """
    composes = getattr(cls, "composes", None)
    if not composes:
        return None
    name, parameter, own = composes
    instance = made.get(name)
    if instance is None or parameter in given:
        return None
    theirs = dict(options.get(name, {}))
    if set(theirs) - own:
        return None
    mine = {key: value for key, value in given.items() if key in own}
    return (parameter, instance, own) if mine == theirs else None
