"""Watchhouse's own Sigma rules for the platform datasets (written here, DRL-free)."""

from __future__ import annotations

from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
