"""Line formats shared by benign traffic and injected crimes, so both look exactly alike.

If injected lines were formatted by different code than benign ones, a detector could learn the
formatting instead of the crime; one formatter per output rules that out.
"""

from __future__ import annotations

from typing import Any

import orjson

from watchhouse.simulate.config import PLATFORM_DOMAIN

SITE = f"https://{PLATFORM_DOMAIN}"


def escape_log(value: str) -> str:
    """Escape like nginx does for quoted fields: a raw quote or backslash would break parsing."""
    if '"' in value or "\\" in value:
        return value.replace("\\", "\\x5C").replace('"', "\\x22")
    return value


def access_line(
    ip: str, clf_time: str, method: str, url: str, status: int, size: int, referrer: str, ua: str, user: str = "-"
) -> str:
    """One nginx/Apache "combined" line."""
    return (
        f'{ip} - {user} [{clf_time}] "{method} {escape_log(url)} HTTP/1.1" {status} {size} '
        f'"{escape_log(referrer)}" "{escape_log(ua)}"'
    )


def sshd_line(ts: str, host: str, process: str, pid: int, text: str) -> str:
    """One syslog line with an RFC 3339 timestamp (rsyslog's high-precision template)."""
    return f"{ts} {host} {process}[{pid}]: {text}"


def dumps(obj: dict[str, Any]) -> str:
    """Compact JSON, key order as built (orjson keeps insertion order, so output is deterministic)."""
    return orjson.dumps(obj).decode()


def source(ip: str, country: str | None = None, asn: int | None = None) -> dict[str, Any]:
    """ECS ``source`` object; geo/AS only when known (internal addresses have none)."""
    out: dict[str, Any] = {"ip": ip}
    if country is not None:
        out["geo"] = {"country_iso_code": country}
    if asn is not None:
        out["as"] = {"number": asn}
    return out


def auth_json(
    ts: str,
    ip: str,
    country: str | None,
    asn: int | None,
    user: str,
    outcome: str,
    reason: str | None,
    ua: str,
    device: str | None,
    service: str,
    action: str = "login",
) -> str:
    """An ``auth`` dataset line (platform login)."""
    event: dict[str, Any] = {"dataset": "auth", "action": action, "outcome": outcome}
    if reason is not None:
        event["reason"] = reason
    obj: dict[str, Any] = {
        "@timestamp": ts,
        "event": event,
        "source": source(ip, country, asn),
        "user": {"name": user},
        "user_agent": {"original": ua},
    }
    if device is not None:
        obj["device"] = {"id": device}
    obj["service"] = {"name": service}
    return dumps(obj)


def message_json(ts: str, event_id: str, ip: str, sender: str, recipient: str, text: str) -> str:
    """A ``message`` dataset line (one direct message)."""
    return dumps(
        {
            "@timestamp": ts,
            "event": {"dataset": "message", "id": event_id},
            "source": {"ip": ip},
            "user": {"name": sender, "target": {"name": recipient}},
            "message": text,
        }
    )


def payment_json(
    ts: str,
    event_id: str,
    ip: str,
    payer: str,
    payee: str,
    outcome: str,
    reason: str | None,
    amount: float,
    currency: str,
    method: str,
    card: tuple[str, str] | None,
) -> str:
    """A ``transaction`` dataset line; cards appear only as a keyed fingerprint and their BIN."""
    event: dict[str, Any] = {"dataset": "transaction", "id": event_id, "outcome": outcome}
    if reason is not None:
        event["reason"] = reason
    payment: dict[str, Any] = {"method": method}
    if card is not None:
        payment["card"] = {"fingerprint": card[0], "bin": card[1]}
    return dumps(
        {
            "@timestamp": ts,
            "event": event,
            "source": {"ip": ip},
            "user": {"name": payer, "target": {"name": payee}},
            "transaction": {"amount": amount, "currency": currency},
            "payment": payment,
        }
    )


def record_json(
    ts: str,
    ip: str,
    actor: str,
    roles: str,
    action: str,
    target: str | None,
    record_type: str,
    count: int,
    service: str,
    url: str,
) -> str:
    """A ``data_access`` dataset line: staff or an API client reading users' records."""
    user: dict[str, Any] = {"name": actor, "roles": roles}
    if target is not None:
        user["target"] = {"name": target}
    return dumps(
        {
            "@timestamp": ts,
            "event": {"dataset": "data_access", "action": action, "outcome": "success"},
            "source": {"ip": ip},
            "user": user,
            "data": {"record": {"type": record_type, "count": count}},
            "service": {"name": service},
            "url": {"original": url},
        }
    )
