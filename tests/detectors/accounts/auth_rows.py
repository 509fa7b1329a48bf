"""Auth event rows for the takeover tests: a successful login (or change) with its place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from watchhouse.testing.factories import BASE_TIME


def success(
    t: float,
    user: str,
    ip: str,
    device: str | None,
    country: str | None,
    asn: int | None,
    action: str = "login",
) -> dict[str, Any]:
    """A successful ``action`` by ``user`` ``t`` seconds after BASE_TIME on the website."""
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": "success",
        "event.action": action,
        "service.name": "web",
        "device.id": device,
        "source.geo.country_iso_code": country,
        "source.as.number": asn,
    }
