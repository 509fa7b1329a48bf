"""Run-level properties: determinism, selection, scaling, estimates, bounded memory, the sshd helper."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from watchhouse.simulate import SimulationConfig, estimate_events, simulate, write_sshd_log


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_config_gives_identical_bytes(tmp_path: Path) -> None:
    a = SimulationConfig(out_dir=tmp_path / "a", users=120, hours=1.5, seed=3)
    b = SimulationConfig(out_dir=tmp_path / "b", users=120, hours=1.5, seed=3)
    c = SimulationConfig(out_dir=tmp_path / "c", users=120, hours=1.5, seed=4)
    simulate(a), simulate(b), simulate(c)
    assert _files(a.out_dir) == _files(b.out_dir)
    assert _files(a.out_dir)["access.log"] != _files(c.out_dir)["access.log"]


def test_scenario_selection_and_zero_intensity(tmp_path: Path) -> None:
    only = simulate(
        SimulationConfig(out_dir=tmp_path / "only", users=100, hours=1, scenarios=frozenset({"brute_force"}))
    )
    assert set(only.scenarios) == {"brute_force"} and only.labels > 0
    none = simulate(SimulationConfig(out_dir=tmp_path / "none", users=100, hours=1, intensity=0))
    assert none.labels == 0 and none.scenarios == {} and none.instances == {}
    assert (tmp_path / "none" / "labels.jsonl").read_text() == ""


def test_outputs_selection(tmp_path: Path) -> None:
    config = SimulationConfig(out_dir=tmp_path / "o", users=100, hours=1, outputs=frozenset({"auth", "sshd"}))
    summary = simulate(config)
    assert set(summary.files) == {"auth.jsonl", "sshd.log"}
    assert set(summary.scenarios) == {
        "account_takeover",
        "brute_force",
        "credential_stuffing",
        "password_spraying",
        "ssh_brute_force",
    }


def test_volume_scales_with_users_and_hours(tmp_path: Path) -> None:
    def events(users: int, hours: float, name: str) -> int:
        config = SimulationConfig(
            out_dir=tmp_path / name,
            users=users,
            hours=hours,
            intensity=0,
            outputs=frozenset({"access", "auth", "messages"}),
        )
        return simulate(config).events

    base = events(60, 24, "base")  # whole days, so the diurnal curve does not skew the ratio
    assert 1.8 < events(120, 24, "users") / base < 2.2
    assert 1.8 < events(60, 48, "hours") / base < 2.2


def test_estimate_is_close(tmp_path: Path) -> None:
    config = SimulationConfig(out_dir=tmp_path / "e", users=300, hours=6, seed=5)
    estimate = estimate_events(config)
    actual = simulate(config).events
    assert abs(estimate - actual) / actual < 0.1


def test_progress_reports_every_line(tmp_path: Path) -> None:
    seen: list[int] = []
    summary = simulate(SimulationConfig(out_dir=tmp_path / "p", users=100, hours=1), progress=seen.append)
    assert sum(seen) == summary.events and len(seen) == 6


def test_memory_stays_bounded(tmp_path: Path) -> None:
    """Peak memory is set by one slice, not the run: 4x the hours must not need ~4x the memory."""

    def peak(hours: float, name: str) -> int:
        tracemalloc.start()
        simulate(SimulationConfig(out_dir=tmp_path / name, users=150, hours=hours, intensity=0))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak(1, "warm-up")  # first-call caches and imports would otherwise inflate the short run
    short, long = peak(1, "short"), peak(4, "long")
    assert long < 1.6 * short, (short, long)


@pytest.mark.parametrize("lines", [1, 777, 5000])
def test_write_sshd_log_writes_exactly(tmp_path: Path, lines: int) -> None:
    path = tmp_path / "auth.log"
    assert write_sshd_log(path, lines, seed=2) == lines
    text = path.read_text(encoding="utf-8").splitlines()
    assert len(text) == lines
    if lines >= 5000:
        joined = "\n".join(text)
        assert "Failed password" in joined and "CRON[" in joined and "Accepted publickey" in joined


def test_config_rejects_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown"):
        SimulationConfig(out_dir=tmp_path, scenarios=frozenset({"jaywalking"}))
    with pytest.raises(ValueError, match="hours"):
        SimulationConfig(out_dir=tmp_path, hours=0)
