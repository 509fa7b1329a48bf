"""A small simulation shared by the simulate tests (one run per session keeps the suite fast)."""

from __future__ import annotations

import pytest

from watchhouse.simulate import SimulationConfig, simulate

from .sim_support import Run, load


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """300 users over 4 hours with every scenario at double intensity."""
    config = SimulationConfig(
        out_dir=tmp_path_factory.mktemp("sim") / "out", users=300, hours=4.0, seed=7, intensity=2.0
    )
    return load(config, simulate(config))
