"""``/api/v1/tokens``: placeholder router, filled in by the work in progress (session 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
