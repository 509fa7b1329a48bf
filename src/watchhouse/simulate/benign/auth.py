"""Benign platform logins for auth.jsonl, including the failures honest users produce.

About one login in ten is preceded by 1-3 mistyped passwords, a few people mistype their user
name, and many users share NAT addresses, so per-IP and per-account failure counts of benign
traffic are realistically non-zero: a brute-force detector has to beat that baseline.

Owners also change their own email, password, phone or payout details now and then, right after
logging in from their usual device and network, and some first log in from a new phone at home:
the near misses of account takeover (a sensitive change alone, or a new device alone, is normal).
Which logins do so is decided by a hash of the login, not by the random stream, so adding these
lines left every other benign line as it was.
"""

from __future__ import annotations

import numpy as np

from watchhouse.simulate.clock import I64, iso_ms, poisson_times
from watchhouse.simulate.formats import auth_json
from watchhouse.simulate.population import BROWSER_UAS, Population

LOGINS_PER_USER_DAY = 2.5
MEAN_LINES_PER_LOGIN = 1.2  # for estimates: mistypes add lines
#: per mille of successful logins followed by an owner's own sensitive change / made on a new phone
CHANGE_PER_MILLE = 6
NEW_DEVICE_PER_MILLE = 3
OWNER_CHANGES = ("password_change", "email_change", "phone_change", "payout_change")


def _mix(t: int, u: int) -> int:
    """A well-spread 32-bit number from a login's time and user (decides the rare extras)."""
    return ((t * 0x9E3779B1) ^ (u * 0x85EBCA77) ^ (t >> 16)) * 0xC2B2AE35 & 0xFFFFFFFF


def _service(ua: str) -> str:
    return "mobile" if ua.startswith("Larkspur") else "web"


def _typo(name: str, k: int) -> str:
    """A plausible mistyped user name (dropped or doubled character)."""
    i = 1 + k % max(1, len(name) - 2)
    return name[:i] + name[i + 1 :] if k % 2 else name[:i] + name[i] + name[i:]


def generate(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """All benign auth lines of one slice."""
    starts = poisson_times(rng, LOGINS_PER_USER_DAY * pop.size, start_us, end_us)
    n = len(starts)
    users = pop.pick_users(rng, n).tolist()
    fails = rng.choice(4, size=n, p=[0.9, 0.06, 0.03, 0.01]).tolist()
    gaps = rng.integers(4 * 10**6, 45 * 10**6, size=(n, 4)).cumsum(axis=1)
    give_up = (rng.random(n) < 0.03).tolist()
    typo = (rng.random(n) < 0.01).tolist()
    records: list[
        tuple[int, int, str, str | None, str, str, str]
    ] = []  # ts, user, outcome, reason, name, action, device
    for i, u in enumerate(users):
        t = int(starts[i])
        name = pop.names[u]
        mix = _mix(t, u)
        device = pop.devices[u] + ("-n" if mix % 1000 < NEW_DEVICE_PER_MILLE else "")
        if typo[i]:
            records.append((t, u, "failure", "unknown_user", _typo(name, t), "login", device))
        for k in range(fails[i]):
            records.append((t + int(gaps[i, k]), u, "failure", "bad_password", name, "login", device))
        if not (give_up[i] and fails[i]):
            done = t + int(gaps[i, fails[i]]) if fails[i] or typo[i] else t
            records.append((done, u, "success", None, name, "login", device))
            if (mix >> 10) % 1000 < CHANGE_PER_MILLE:
                change = OWNER_CHANGES[(mix >> 20) % len(OWNER_CHANGES)]
                records.append((done + 30_000_000 + (mix % 600) * 1_000_000, u, "success", None, name, change, device))
    ts = np.minimum(np.array([r[0] for r in records], dtype=np.int64), end_us - 1)
    stamps = iso_ms(ts)
    lines = []
    for stamp, (_, u, outcome, reason, name, action, device) in zip(stamps, records, strict=True):
        ip_i = int(pop.ip_index[u])
        ua = BROWSER_UAS[int(pop.ua_index[u])][0]
        lines.append(
            auth_json(
                stamp,
                pop.ips[ip_i],
                pop.ip_country[ip_i],
                pop.ip_asn[ip_i],
                name,
                outcome,
                reason,
                ua,
                device,
                _service(ua),
                action,
            )
        )
    return ts, lines
