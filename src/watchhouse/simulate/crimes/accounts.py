"""Account attacks in auth.jsonl: brute force, credential stuffing and password spraying.

The three differ in shape, which is what detectors must tell apart: brute force is one account
from one (or a few) addresses; stuffing is many addresses each trying a few different accounts
from a leaked list (many of which do not exist here); spraying is one address trying one or two
common passwords once against many real accounts.
"""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.clock import iso_ms_one, rng_for
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext, spread
from watchhouse.simulate.formats import auth_json
from watchhouse.simulate.population import HOSTING, NETWORKS, RESIDENTIAL, user_names

_TOOL_UAS = (
    "python-requests/2.31.0",
    "Mozilla/4.0 (Hydra)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "okhttp/4.9.3",
)
# Credential-stuffing kits pin one slightly stale browser string for every request.
_STUFFING_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/108.0.5359.125 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/15.6 Mobile/15E148 Safari/604.1",
)
_CODE = CrimeCode.ILLEGAL_ACCESS


def _attempt(t: int, ip: str, net: int, user: str, outcome: str, reason: str | None, ua: str) -> CrimeEvent:
    n = NETWORKS[net]
    line = auth_json(iso_ms_one(t), ip, n.country, n.asn, user, outcome, reason, ua, None, "web")
    return CrimeEvent(t, line, _CODE)


def plan_brute_force(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """One account hammered with 50-500 guesses, sometimes ending in a (labelled) success."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 4.0) + 1):
        addrs = [
            ctx.ips.take_from(HOSTING if rng.random() < 0.6 else RESIDENTIAL)
            for _ in range(int(rng.choice([1, 1, 1, 2, 3])))
        ]
        victim = ctx.pop.names[int(rng.integers(0, ctx.pop.size))]
        duration = ctx.duration(rng, 3, 40)
        start = ctx.start_time(rng, duration)
        count = int(rng.integers(50, 500))
        success = bool(rng.random() < 0.3)
        ua = _TOOL_UAS[int(rng.random() * len(_TOOL_UAS))]
        irng = rng_for(ctx.seed, "brute_force", number)

        def build(
            irng: np.random.Generator = irng,
            addrs: list[tuple[str, int]] = addrs,
            victim: str = victim,
            start: int = start,
            duration: int = duration,
            count: int = count,
            success: bool = success,
            ua: str = ua,
        ) -> list[CrimeEvent]:
            events = []
            times = spread(irng, start, duration, count)
            for i, t in enumerate(times):
                ip, net = addrs[int(irng.random() * len(addrs))]
                won = success and i == count - 1
                events.append(
                    _attempt(t, ip, net, victim, "success" if won else "failure", None if won else "bad_password", ua)
                )
            return events

        ips = [a for a, _ in addrs]
        details = {"victim": victim, "attempts": count, "ends_in_success": success, "user_agent": ua}
        out.append(Instance("brute_force", number, "auth", start, ips, [victim], list(ips), details, build, count))
    return out


def plan_credential_stuffing(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """A combo list replayed through a residential proxy pool: many IPs, few attempts each."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 1.5) + 1):
        n_ips = int(rng.integers(60, 300))
        addrs = [ctx.ips.take_from(RESIDENTIAL) for _ in range(n_ips)]
        duration = ctx.duration(rng, 20, 120)
        start = ctx.start_time(rng, duration)
        ua = _STUFFING_UAS[int(rng.random() * len(_STUFFING_UAS))]
        irng = rng_for(ctx.seed, "credential_stuffing", number)
        combo_size = n_ips * 3
        existing = rng.choice(ctx.pop.size, size=min(ctx.pop.size, combo_size // 3), replace=False).tolist()
        leaked = [ctx.pop.names[i] for i in existing] + user_names(irng, combo_size - len(existing), set(ctx.pop.names))

        def build(
            irng: np.random.Generator = irng,
            addrs: list[tuple[str, int]] = addrs,
            leaked: list[str] = leaked,
            n_existing: int = len(existing),
            start: int = start,
            duration: int = duration,
            ua: str = ua,
        ) -> list[CrimeEvent]:
            order = irng.permutation(len(leaked)).tolist()
            plan: list[tuple[str, int, str]] = []
            cursor = 0
            for ip, net in addrs:
                for _ in range(int(irng.integers(1, 5))):  # a few DIFFERENT accounts per address
                    account = order[cursor % len(order)]
                    cursor += 1
                    for _ in range(int(irng.choice([1, 1, 2]))):
                        plan.append((ip, net, leaked[account] if account < len(leaked) else leaked[0]))
            events = []
            times = spread(irng, start, duration, len(plan))
            shuffled = irng.permutation(len(plan)).tolist()
            known = set(leaked[:n_existing])
            for t, j in zip(times, shuffled, strict=True):
                ip, net, user = plan[j]
                if user not in known:
                    events.append(_attempt(t, ip, net, user, "failure", "unknown_user", ua))
                elif irng.random() < 0.04:  # password reuse: the stuffing works for a few
                    events.append(_attempt(t, ip, net, user, "success", None, ua))
                else:
                    events.append(_attempt(t, ip, net, user, "failure", "bad_password", ua))
            return events

        ips = [a for a, _ in addrs]
        details = {"user_agent": ua, "addresses": n_ips, "combo_list_size": combo_size}
        out.append(
            Instance(
                "credential_stuffing",
                number,
                "auth",
                start,
                ips,
                leaked[: len(existing)],
                list(ips),
                details,
                build,
                int(n_ips * 2.5 * 4 / 3),
            )
        )
    return out


def plan_password_spraying(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """One or two common passwords tried once against many accounts, slowly, to dodge lockouts."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 1.0) + 1):
        addrs = [ctx.ips.take_from(HOSTING) for _ in range(int(rng.choice([1, 1, 2, 3])))]
        duration = ctx.duration(rng, 20, 90)
        start = ctx.start_time(rng, duration)
        rounds = int(rng.choice([1, 2]))
        targets = rng.choice(ctx.pop.size, size=min(ctx.pop.size, int(rng.integers(100, 600))), replace=False).tolist()
        accounts = [ctx.pop.names[i] for i in targets]
        ua = _TOOL_UAS[int(rng.random() * len(_TOOL_UAS))]
        irng = rng_for(ctx.seed, "password_spraying", number)
        guesses = ("Spring2026!", "Welcome1", "Password123")[:rounds]

        def build(
            irng: np.random.Generator = irng,
            addrs: list[tuple[str, int]] = addrs,
            accounts: list[str] = accounts,
            rounds: int = rounds,
            start: int = start,
            duration: int = duration,
            ua: str = ua,
        ) -> list[CrimeEvent]:
            tries = [(r, a) for r in range(rounds) for a in accounts]  # one attempt per account per password
            events = []
            for t, (_, account) in zip(spread(irng, start, duration, len(tries), jitter=0.2), tries, strict=True):
                ip, net = addrs[int(irng.random() * len(addrs))]
                won = irng.random() < 0.01
                events.append(
                    _attempt(t, ip, net, account, "success" if won else "failure", None if won else "bad_password", ua)
                )
            return events

        ips = [a for a, _ in addrs]
        details = {"passwords_tried": len(guesses), "accounts": len(accounts), "user_agent": ua}
        out.append(
            Instance(
                "password_spraying",
                number,
                "auth",
                start,
                ips,
                accounts,
                list(ips),
                details,
                build,
                rounds * len(accounts),
            )
        )
    return out
