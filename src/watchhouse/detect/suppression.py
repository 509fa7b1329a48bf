"""Suppression rules: known-benign alerts an analyst has silenced, always with an expiry.

A suppression without an end date is how real attacks get hidden for years, so ``expires`` is
mandatory and expired entries stop applying (and are reported) rather than lingering.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import ConfigError
from watchhouse.core.taxonomy import CrimeCode

_KEYS = {"reason", "expires", "detector", "crime_code", "subject", "created_by"}


@dataclass(frozen=True)
class Suppression:
    """Silence alerts matching every given criterion until ``expires``.

    ``subject`` is ``kind=value`` (e.g. ``source.ip=203.0.113.7``); for ``source.ip`` the value
    may be a CIDR network (``source.ip=203.0.113.0/24``).
    """

    reason: str
    expires: datetime
    detector: str | None = None
    crime_code: CrimeCode | None = None
    subject: str | None = None
    created_by: str | None = None

    def active(self, now: datetime) -> bool:
        return now < self.expires

    def matches(self, alert: Alert) -> bool:
        if self.detector is not None and alert.detector != self.detector:
            return False
        if self.crime_code is not None and alert.crime_code != self.crime_code:
            return False
        return self.subject is None or _subject_matches(self.subject, alert.subject.kind, alert.subject.value)


def _subject_matches(pattern: str, kind: str, value: str) -> bool:
    want_kind, _, want_value = pattern.partition("=")
    if want_kind != kind:
        return False
    if kind == "source.ip" and "/" in want_value:
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(want_value, strict=False)
        except ValueError:
            return False
    return want_value == value


def _parse_entry(entry: dict[str, Any], where: str) -> Suppression:
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    if not str(entry.get("reason", "")).strip():
        raise ConfigError(f"{where}: every suppression needs a reason")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = datetime.fromisoformat(expires)
        except ValueError:
            raise ConfigError(f"{where}: expires {expires!r} is not an ISO-8601 date-time") from None
    if not isinstance(expires, datetime):
        raise ConfigError(f"{where}: every suppression needs an `expires` date-time")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    subject = entry.get("subject")
    if subject is not None and "=" not in str(subject):
        raise ConfigError(f"{where}: subject must look like kind=value, e.g. source.ip=203.0.113.7")
    crime = entry.get("crime_code")
    try:
        crime_code = CrimeCode(crime) if crime is not None else None
    except ValueError:
        raise ConfigError(f"{where}: unknown crime_code {crime!r}") from None
    return Suppression(
        reason=str(entry["reason"]),
        expires=expires,
        detector=entry.get("detector"),
        crime_code=crime_code,
        subject=str(subject) if subject is not None else None,
        created_by=entry.get("created_by"),
    )


def load_suppressions(path: Path) -> list[Suppression]:
    """Read ``[[suppress]]`` tables from a TOML file, reporting the first bad entry by index."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: suppression file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    entries = data.get("suppress", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: `suppress` must be an array of tables ([[suppress]])")
    return [_parse_entry(e, f"{path}: suppress[{i}]") for i, e in enumerate(entries)]


def active_suppressions(rules: Sequence[Suppression], now: datetime) -> tuple[list[Suppression], list[Suppression]]:
    """Split into (active, expired) at ``now``."""
    active = [r for r in rules if r.active(now)]
    return active, [r for r in rules if not r.active(now)]
