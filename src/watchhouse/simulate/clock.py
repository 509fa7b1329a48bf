"""Simulated time: the diurnal rate curve, the slices a run is generated in, timestamp formats.

Everything is in integer microseconds since the epoch so that sorting is exact and formatting can
be vectorised (numpy ``datetime64[us]``); no wall clock is ever read, so output is reproducible.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt

US = 1_000_000
SLICE_SECONDS = 600  # 10-minute slices: small enough to bound memory, large enough to vectorise well
SLICE_US = SLICE_SECONDS * US
DAY_US = 86_400 * US

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def rng_for(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent generator per (seed, purpose...) so adding a stream never shifts another.

    Strings are hashed with CRC-32 (stable across processes, unlike ``hash``).
    """
    words = [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF]
    words += [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) & 0xFFFFFFFF for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def diurnal(t_us: F64 | float, peak_hour: float = 19.0, depth: float = 0.65) -> F64:
    """Relative activity at a time of day (mean 1 over a day): a European platform peaking at night-time.

    A cosine is crude but gives what detectors care about: quiet nights where a burst stands out
    and busy evenings where it hides.
    """
    hours = (np.asarray(t_us, dtype=np.float64) / (3600 * US)) % 24.0
    return np.asarray(1.0 + depth * np.cos(2 * np.pi * (hours - peak_hour) / 24.0), dtype=np.float64)


def office_hours(t_us: F64 | float) -> F64:
    """Relative activity of staff (mean 1 over a day): working hours 07-19 UTC, a skeleton crew at night."""
    hours = (np.asarray(t_us, dtype=np.float64) / (3600 * US)) % 24.0
    raw = np.where((hours >= 7) & (hours < 19), 1.0, 0.08)
    return np.asarray(raw / ((12 * 1.0 + 12 * 0.08) / 24), dtype=np.float64)


def expected(rate_per_day: float, start_us: int, end_us: int, curve: str = "diurnal") -> float:
    """Expected events in [start, end) for a daily rate shaped by a curve (midpoint rule per minute)."""
    if end_us <= start_us:
        return 0.0
    step = 60 * US
    mids = np.arange(start_us, end_us, step, dtype=np.float64) + step / 2
    widths = np.minimum(step, end_us - np.arange(start_us, end_us, step, dtype=np.float64))
    shape = diurnal(mids) if curve == "diurnal" else office_hours(mids) if curve == "office" else np.ones_like(mids)
    return float(rate_per_day * np.sum(shape * widths) / DAY_US)


def poisson_times(
    rng: np.random.Generator, rate_per_day: float, start_us: int, end_us: int, curve: str = "diurnal"
) -> I64:
    """Event times of an inhomogeneous Poisson process within one slice (uniform inside the slice).

    The slice is short compared to the curve, so a constant rate (taken at its midpoint) is
    indistinguishable from the exact integral and much cheaper.
    """
    n = int(rng.poisson(expected_slice(rate_per_day, start_us, end_us, curve)))
    return rng.integers(start_us, end_us, size=n, dtype=np.int64)


def expected_slice(rate_per_day: float, start_us: int, end_us: int, curve: str = "diurnal") -> float:
    """Expected events in one short slice, taking the curve at the slice's midpoint."""
    mid = (start_us + end_us) / 2
    shape = diurnal(mid) if curve == "diurnal" else office_hours(mid) if curve == "office" else 1.0
    return rate_per_day * float(shape) * (end_us - start_us) / DAY_US


def slices(start_us: int, end_us: int) -> Iterator[tuple[int, int, int]]:
    """(index, start, end) of consecutive 10-minute slices covering [start, end)."""
    index = 0
    t = start_us
    while t < end_us:
        yield index, t, min(t + SLICE_US, end_us)
        index += 1
        t += SLICE_US


def iso_ms(ts_us: I64) -> list[str]:
    """ECS ``@timestamp`` strings, millisecond precision with a Z: ``2026-03-02T00:00:01.123Z``."""
    out: list[str] = np.datetime_as_string(ts_us.astype("datetime64[us]"), unit="ms", timezone="UTC").tolist()
    return out


def rfc3339_us(ts_us: I64) -> list[str]:
    """Syslog (rsyslog high-precision) timestamps: ``2026-03-02T00:00:01.123456+00:00``."""
    raw: list[str] = np.datetime_as_string(ts_us.astype("datetime64[us]"), unit="us").tolist()
    return [s + "+00:00" for s in raw]


@lru_cache(maxsize=4096)
def _clf_minute(minute: int) -> str:
    d = datetime.fromtimestamp(minute * 60, UTC)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year}:{d.hour:02d}:{d.minute:02d}:"


_SECONDS = tuple(f"{s:02d} +0000" for s in range(60))


def clf_times(ts_us: I64) -> list[str]:
    """Common Log Format times (``02/Mar/2026:00:00:01 +0000``) via a per-second lookup table.

    A slice spans at most 600 distinct seconds, so formatting each second once (from a cached
    per-minute prefix) is far cheaper than formatting every line.
    """
    if len(ts_us) == 0:
        return []
    secs = ts_us // US
    base = int(secs.min())
    table = [_clf_minute(s // 60) + _SECONDS[s % 60] for s in range(base, int(secs.max()) + 1)]
    idx = (secs - base).tolist()
    return [table[i] for i in idx]


def iso_ms_one(ts_us: int) -> str:
    """One ECS timestamp; injected lines are formatted one at a time, so avoid numpy's per-call cost."""
    s, us = divmod(ts_us, US)
    return _iso_minute(s // 60) + f"{s % 60:02d}.{us // 1000:03d}Z"


@lru_cache(maxsize=4096)
def _iso_minute(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")


def rfc3339_one(ts_us: int) -> str:
    return rfc3339_us(np.array([ts_us], dtype=np.int64))[0]


def clf_one(ts_us: int) -> str:
    s = ts_us // US
    return _clf_minute(s // 60) + _SECONDS[s % 60]


def cdf(weights: npt.ArrayLike) -> F64:
    """Cumulative distribution for :func:`draw` (``rng.choice(p=...)`` re-validates p on every call)."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return np.asarray(c, dtype=np.float64)


def draw(rng: np.random.Generator, cumulative: F64, n: int) -> I64:
    """``n`` indices drawn with the probabilities behind ``cumulative``."""
    return np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int64)
