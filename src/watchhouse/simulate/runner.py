"""The simulation loop: plan incidents up-front, then generate, merge and write one time slice at a time.

Memory is bounded by one slice of benign events plus the lines of the incidents in progress (each
lasts at most a few hours), never by the length of the run, so ten-million-event runs stream.
Every random stream is keyed by (seed, purpose, slice or incident), which makes the output
byte-identical for a config and independent of wall-clock time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from watchhouse.simulate.clock import US, iso_ms_one, rng_for, slices, to_us
from watchhouse.simulate.config import LABELS_FILE, MANIFEST_FILE, OUTPUT_FILES, SimulationConfig, SimulationSummary
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext
from watchhouse.simulate.population import IpAllocator, Population, build_population, user_names
from watchhouse.simulate.registry import BENIGN, PLANNERS, expected_benign
from watchhouse.simulate.writer import FileSink, LabelSink


def _window(config: SimulationConfig) -> tuple[int, int]:
    start = to_us(config.start)
    return start, start + round(config.hours * 3600 * US)


def plan_instances(config: SimulationConfig, pop: Population) -> list[Instance]:
    """All incidents of the run, each scenario from its own random stream (selection-independent)."""
    start, end = _window(config)
    reserved = set(pop.names) | {s[0] for s in pop.staff} | {c[0] for c in pop.api_clients}
    out: list[Instance] = []
    for scenario in config.active_scenarios():
        rng = rng_for(config.seed, "plan", scenario)
        name_rng = rng_for(config.seed, "fresh-names", scenario)

        def fresh(n: int, name_rng: Any = name_rng) -> list[str]:
            """Newly registered accounts: plausible names with the digits sign-up forms force on people."""
            names = user_names(name_rng, n, set(reserved))
            return [f"{name}{int(d)}" for name, d in zip(names, name_rng.integers(1000, 99999, size=n), strict=True)]

        ctx = PlanContext(
            config.seed,
            pop,
            start,
            end,
            config.intensity,
            IpAllocator(rng_for(config.seed, "ips", scenario), attacker=True),
            fresh,
        )
        out.extend(PLANNERS[scenario](ctx, rng))
    return sorted(out, key=lambda i: (i.start_us, i.scenario, i.number))


def estimate_events(config: SimulationConfig) -> int:
    """Expected lines the run will write (benign expectation plus planned incident sizes), for progress bars."""
    pop = build_population(config.seed, config.users)
    start, end = _window(config)
    benign = sum(expected_benign(o, pop, start, end) for o in config.outputs)
    return int(benign + sum(i.estimate for i in plan_instances(config, pop)))


def simulate(config: SimulationConfig, progress: Callable[[int], None] | None = None) -> SimulationSummary:
    """Write the simulated platform's logs, labels.jsonl and manifest.json into ``config.out_dir``."""
    began = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    pop = build_population(config.seed, config.users)
    start, end = _window(config)
    queue = plan_instances(config, pop)
    outputs = sorted(config.outputs)
    pending: dict[str, list[tuple[CrimeEvent, Instance]]] = {o: [] for o in outputs}
    sinks = {o: FileSink(config.out_dir, OUTPUT_FILES[o]) for o in outputs}
    next_instance = 0
    try:
        with LabelSink(config.out_dir / LABELS_FILE) as label_sink:
            for index, s0, s1 in slices(start, end):
                while next_instance < len(queue) and queue[next_instance].start_us < s1:
                    inst = queue[next_instance]
                    next_instance += 1
                    events = [e for e in inst.build() if e.ts_us < end]
                    pending[inst.output].extend((e, inst) for e in events)
                    _account(inst, events)
                written = 0
                for output in outputs:
                    ts, lines = BENIGN[output](rng_for(config.seed, "benign", output, index), pop, s0, s1)
                    due = [p for p in pending[output] if p[0].ts_us < s1]
                    if due:
                        pending[output] = [p for p in pending[output] if p[0].ts_us >= s1]
                    label_sink.write(sinks[output].write(ts, lines, due))
                    written += len(lines) + len(due)
                if progress is not None:
                    progress(written)
            labels = label_sink.count
    finally:
        for sink in sinks.values():
            sink.close()
    scenarios: dict[str, int] = {}
    instances: dict[str, int] = {}
    for inst in queue:
        scenarios[inst.scenario] = scenarios.get(inst.scenario, 0) + inst.lines
        instances[inst.scenario] = instances.get(inst.scenario, 0) + 1
    summary = SimulationSummary(
        out_dir=config.out_dir,
        files={s.rel: s.lines for s in sinks.values()},
        labels=labels,
        scenarios=dict(sorted(scenarios.items())),
        instances=dict(sorted(instances.items())),
        seconds=time.perf_counter() - began,
    )
    _write_manifest(config, summary, queue)
    return summary


def _account(inst: Instance, events: list[CrimeEvent]) -> None:
    """Record what an incident actually produced (after clipping to the run window) for the manifest."""
    inst.lines = len(events)
    if events:
        inst.first_us = min(e.ts_us for e in events)
        inst.last_us = max(e.ts_us for e in events)
    for e in events:
        inst.codes[e.code.value] = inst.codes.get(e.code.value, 0) + 1


def _write_manifest(config: SimulationConfig, summary: SimulationSummary, instances: list[Instance]) -> None:
    """manifest.json: everything needed to interpret the run, without wall-clock values (reproducible)."""
    manifest = {
        "generator": "watchhouse.simulate",
        "config": config.to_json(),
        "seed": config.seed,
        "files": summary.files,
        "labels": summary.labels,
        "scenarios": summary.scenarios,
        "instances": [
            {
                "instance": i.key,
                "scenario": i.scenario,
                "path": OUTPUT_FILES[i.output],
                "start": iso_ms_one(i.first_us) if i.first_us is not None else None,
                "end": iso_ms_one(i.last_us) if i.last_us is not None else None,
                "lines": i.lines,
                "crime_codes": dict(sorted(i.codes.items())),
                "source_ips": i.ips,
                "accounts": i.accounts,
                "markers": i.markers,
                "details": i.details,
            }
            for i in instances
        ],
    }
    path: Path = config.out_dir / MANIFEST_FILE
    path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
