"""Benign payments and staff/API access to user records.

Purchases decline now and then (expired cards, insufficient funds) and support staff read a few
records an hour during office hours, so "a decline" or "a staff read" is never suspicious alone.
"""

from __future__ import annotations

import numpy as np

from watchhouse.simulate.clock import I64, cdf, draw, expected_slice, iso_ms, poisson_times
from watchhouse.simulate.formats import payment_json, record_json
from watchhouse.simulate.population import Population, hex_tokens

PAYMENTS_PER_USER_DAY = 0.4
STAFF_READS_PER_DAY = 60.0
API_READS_PER_DAY = 150.0

SHOPS = ("shop.nordic-knits", "shop.bakehouse", "shop.vinyl-corner", "shop.print-lab", "tickets.larkspur", "premium")
DECLINES = ("insufficient_funds", "expired_card", "card_declined", "incorrect_cvc", "do_not_honor")
RECORD_TYPES = ("user_profile", "login_history", "payment_history", "messages", "reports")
_ACTION_CDF = cdf([0.85, 0.14, 0.01])  # read, search, export


def payments(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """Benign purchases and person-to-person payments of one slice."""
    ts = poisson_times(rng, PAYMENTS_PER_USER_DAY * pop.size, start_us, end_us)
    n = len(ts)
    payers = pop.pick_users(rng, n).tolist()
    p2p = (rng.random(n) < 0.25).tolist()
    shop = rng.choice(SHOPS, size=n).tolist()
    others = pop.pick_users(rng, n).tolist()
    amounts = np.round(rng.lognormal(3.0, 0.9, size=n), 2)
    amounts = np.where(rng.random(n) < 0.3, np.floor(amounts) + 0.99, amounts).tolist()
    currency = rng.choice(["EUR", "EUR", "EUR", "GBP", "USD", "PLN"], size=n).tolist()
    method = rng.choice(["card", "wallet", "bank_transfer"], size=n, p=[0.72, 0.2, 0.08]).tolist()
    declined = (rng.random(n) < 0.04).tolist()
    reasons = rng.choice(DECLINES, size=n).tolist()
    ids = hex_tokens(rng, n, 8)
    lines = []
    for i, stamp in enumerate(iso_ms(ts)):
        u = payers[i]
        payee = pop.names[others[i]] if p2p[i] else shop[i]
        card = pop.cards[u] if method[i] == "card" else None
        lines.append(
            payment_json(
                stamp,
                "t-" + ids[i],
                pop.ips[int(pop.ip_index[u])],
                pop.names[u],
                payee,
                "failure" if declined[i] else "success",
                reasons[i] if declined[i] else None,
                float(amounts[i]),
                currency[i],
                method[i],
                card,
            )
        )
    return ts, lines


def record_reads(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """Support staff working tickets (office hours) and internal services reading records (round the clock)."""
    actors = [(name, role, ip, "office") for name, role, ip in pop.staff]
    actors += [(name, "service", ip, "flat") for name, ip in pop.api_clients]
    means = [
        expected_slice(STAFF_READS_PER_DAY if curve == "office" else API_READS_PER_DAY, start_us, end_us, curve)
        for *_, curve in actors
    ]
    per_actor = rng.poisson(means).tolist()
    n = sum(per_actor)
    ts = rng.integers(start_us, end_us, size=n, dtype=np.int64)
    targets = rng.integers(0, pop.size, size=n).tolist()
    actions = draw(rng, _ACTION_CDF, n).tolist()
    kinds = rng.integers(0, len(RECORD_TYPES), size=n).tolist()
    stamps = iso_ms(ts)
    lines: list[str] = []
    row = 0
    for (name, role, ip, curve), k in zip(actors, per_actor, strict=True):
        for i in range(row, row + k):
            who, kind = pop.names[targets[i]], RECORD_TYPES[kinds[i]]
            if curve == "flat":
                kind = "payment_history" if name == "svc-billing" else "user_profile"
                line = record_json(
                    stamps[i], ip, name, role, "read", who, kind, 1, "internal-api", f"/internal/v2/users/{who}"
                )
            elif actions[i] == 1:
                count = 1 + targets[i] % 25
                url = f"/admin/search?q={who.split('.')[0]}"
                line = record_json(
                    stamps[i], ip, name, role, "search", None, "user_profile", count, "admin-console", url
                )
            elif actions[i] == 2:
                url = f"/admin/users/{who}/export?type={kind}"
                line = record_json(
                    stamps[i], ip, name, role, "export", who, kind, 5 + targets[i] % 40, "admin-console", url
                )
            else:
                url = f"/admin/users/{who}/{kind}"
                line = record_json(stamps[i], ip, name, role, "read", who, kind, 1, "admin-console", url)
            lines.append(line)
        row += k
    return ts, lines
