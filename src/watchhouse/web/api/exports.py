"""``/api/v1/exports``: placeholder router, filled in by the work in progress (session 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
