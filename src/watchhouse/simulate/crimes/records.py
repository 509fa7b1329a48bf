"""Bulk record scraping in record_access.jsonl: an account reading far more records than its job needs.

Two shapes: an insider or hijacked staff session walking through thousands of profiles within an
hour (from the staff member's usual address, so only the rate betrays it), or a leaked API client
key used from an outside address to export the whole user base in a few large pulls.
"""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.benign.commerce import RECORD_TYPES
from watchhouse.simulate.clock import iso_ms_one, rng_for
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext, spread
from watchhouse.simulate.formats import record_json
from watchhouse.simulate.population import HOSTING


def plan_scraping(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """Scraping incidents, alternating between the staff-walk and the API-export shape."""
    out: list[Instance] = []
    pop = ctx.pop
    for number in range(1, ctx.instance_count(rng, 0.7) + 1):
        export = bool(rng.random() < 0.35)
        duration = ctx.duration(rng, 2, 15) if export else ctx.duration(rng, 30, 60)
        start = ctx.start_time(rng, duration)
        irng = rng_for(ctx.seed, "bulk_record_scraping", number)
        if export:
            actor, _ = pop.api_clients[int(rng.random() * len(pop.api_clients))]
            ip = ctx.ips.take_from(HOSTING)[0]
            role, service, markers = "service", "internal-api", [ip]
            count = int(rng.integers(1, 4))
        else:
            actor, role, ip = pop.staff[int(rng.random() * len(pop.staff))]
            service, markers = "admin-console", []
            count = int(rng.integers(1500, 6000))

        def build(
            irng: np.random.Generator = irng,
            actor: str = actor,
            role: str = role,
            ip: str = ip,
            service: str = service,
            export: bool = export,
            start: int = start,
            duration: int = duration,
            count: int = count,
        ) -> list[CrimeEvent]:
            events = []
            order = irng.permutation(pop.size).tolist()
            for i, t in enumerate(spread(irng, start, duration, count, jitter=0.3)):
                if export:
                    kind = RECORD_TYPES[i % 3]
                    url = f"/internal/v2/users/export?type={kind}&limit=100000&offset=0"
                    line = record_json(iso_ms_one(t), ip, actor, role, "export", None, kind, pop.size, service, url)
                else:
                    who = pop.names[order[i % pop.size]]
                    kind = RECORD_TYPES[(i // pop.size) % len(RECORD_TYPES)]
                    line = record_json(
                        iso_ms_one(t), ip, actor, role, "read", who, kind, 1, service, f"/admin/users/{who}/{kind}"
                    )
                events.append(CrimeEvent(t, line, CrimeCode.ILLEGAL_ACCESS))
            return events

        details = {"shape": "export" if export else "walk", "requests": count}
        out.append(
            Instance(
                "bulk_record_scraping", number, "record_access", start, [ip], [actor], markers, details, build, count
            )
        )
    return out
