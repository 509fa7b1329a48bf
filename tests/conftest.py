"""Shared test fixtures: where the evaluation corpora live, and a skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"


@pytest.fixture(scope="session")
def corpora() -> Path:
    """``../shared/corpora`` beside the repository; tests that need it skip when it is absent."""
    if not CORPORA.is_dir():
        pytest.skip(f"evaluation corpora not found at {CORPORA} (they live in ../shared beside the repo)")
    return CORPORA
