"""``/api/v1/reports``: placeholder router, filled in by the work in progress (session 3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
