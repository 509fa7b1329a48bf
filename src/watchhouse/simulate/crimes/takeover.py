"""Account takeover in auth.jsonl: a stolen password used, then the account locked to the thief.

The password came from phishing or an infostealer, so there is no guessing to see: one clean,
successful login. What gives the thief away is everything around it: a device the account never
used, from a country and network it never used, and within minutes the changes that hand the
account or its money over (new email, new payout details, new password, second factor off), made
from that same session. The victims are active users, so the platform knows their usual device
and home network by the time the thief arrives; the benign traffic has owners making the same
sensitive changes from their own devices, so a detector keyed on the change alone would fail.
"""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.clock import iso_ms_one, rng_for
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext
from watchhouse.simulate.formats import auth_json
from watchhouse.simulate.population import BROWSER_UAS, HOSTING, NETWORKS, RESIDENTIAL

_CODE = CrimeCode.ILLEGAL_ACCESS
#: what thieves change first, most common first (email and payout redirect the account and money)
CHANGES = ("email_change", "payout_change", "password_change", "mfa_disable", "phone_change")
US = 1_000_000


def _victim(ctx: PlanContext, rng: np.random.Generator) -> int:
    """An active user (the most active of a few activity-weighted draws): the platform has seen
    their device and home network before the thief logs in, as it would for a real victim."""
    drawn = ctx.pop.pick_users(rng, 6)
    return int(drawn[int(np.argmax(ctx.pop.activity[drawn]))])


def plan_account_takeover(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """A login from the thief's device and country, then one to three sensitive changes."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 2.0) + 1):
        user = _victim(ctx, rng)
        victim = ctx.pop.names[user]
        home_country = ctx.pop.ip_country[int(ctx.pop.ip_index[user])]
        foreign = [n for n in HOSTING + RESIDENTIAL if NETWORKS[n].country != home_country]
        network = foreign[int(rng.integers(0, len(foreign)))]
        ip = ctx.ips.take(network)
        # late in the run, so the victim's own logins come first (the detector learns from them)
        lo = ctx.start_us + int(ctx.span_us * 0.6)
        start = int(rng.integers(lo, max(lo + 1, ctx.end_us - 40 * 60 * US)))
        irng = rng_for(ctx.seed, "account_takeover", number)
        device = "d-" + "".join(f"{b:02x}" for b in irng.integers(0, 256, size=8).tolist())
        ua = BROWSER_UAS[int(irng.integers(0, len(BROWSER_UAS)))][0]
        changes = [CHANGES[int(i)] for i in irng.choice(len(CHANGES), size=int(irng.integers(1, 4)), replace=False)]

        def build(
            irng: np.random.Generator = irng,
            victim: str = victim,
            ip: str = ip,
            network: int = network,
            device: str = device,
            ua: str = ua,
            start: int = start,
            changes: list[str] = changes,
        ) -> list[CrimeEvent]:
            net = NETWORKS[network]
            events = [
                CrimeEvent(
                    start,
                    auth_json(iso_ms_one(start), ip, net.country, net.asn, victim, "success", None, ua, device, "web"),
                    _CODE,
                )
            ]
            t = start
            for change in changes:
                t += int(irng.integers(30, 15 * 60)) * US
                line = auth_json(
                    iso_ms_one(t), ip, net.country, net.asn, victim, "success", None, ua, device, "web", change
                )
                events.append(CrimeEvent(t, line, _CODE))
            return events

        details = {"victim": victim, "country": NETWORKS[network].country, "device": device, "changes": changes}
        out.append(
            Instance(
                "account_takeover",
                number,
                "auth",
                start,
                [ip],
                [victim],
                [ip, device],
                details,
                build,
                1 + len(changes),
            )
        )
    return out
