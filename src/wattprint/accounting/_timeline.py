"""How a run's energy spreads over clock hours: the weights hourly intensities and
time-of-use prices are averaged with.

A power trace is ``[(seconds since start, watts), ...]``; energy between two samples is
the trapezoid, split exactly at hour boundaries. Without a trace the power is taken as
constant over ``duration_s``. Hours are keyed by their start in UTC epoch seconds.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Iterable, Sequence

__all__ = ["as_utc", "energy_by_hour", "PowerTrace"]

PowerTrace = Sequence[tuple[float, float]]


def as_utc(when: datetime) -> datetime:
    """``when`` as an aware UTC datetime (naive datetimes are taken to be UTC)."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None \
        else when.astimezone(timezone.utc)


def _split(t0: float, t1: float) -> Iterable[tuple[float, float]]:
    """[t0, t1] cut at every multiple of 3600 s."""
    a = t0
    while a < t1:
        b = min(t1, (math.floor(a / 3600) + 1) * 3600)
        yield a, b
        a = b


def energy_by_hour(start: datetime, duration_s: float | None = None,
                   power_trace: PowerTrace | None = None) -> dict[int, float]:
    """hour start (UTC epoch s) → joules (or relative weight, without a trace).

    With neither a trace nor a positive duration, the whole run sits in the start hour.
    Arithmetic runs in seconds from the start hour (small numbers), not epoch seconds, so
    short runs keep their precision.
    """
    t_start = as_utc(start).timestamp()
    base = int(math.floor(t_start / 3600) * 3600)
    offset = t_start - base  # seconds into the start hour
    out: dict[int, float] = {}

    def add(a: float, energy: float) -> None:
        hour = base + int(math.floor(a / 3600)) * 3600
        out[hour] = out.get(hour, 0.0) + energy

    if power_trace and len(power_trace) >= 2:
        points = sorted((float(t), float(p)) for t, p in power_trace)
        for (ta, pa), (tb, pb) in zip(points, points[1:]):
            if tb <= ta:
                continue
            slope = (pb - pa) / (tb - ta)
            for a, b in _split(offset + ta, offset + tb):
                p_a = pa + slope * (a - offset - ta)
                p_b = pa + slope * (b - offset - ta)
                add(a, (b - a) * (p_a + p_b) / 2)
        if sum(out.values()) > 0:
            return out
        out.clear()
    if duration_s and duration_s > 0:
        for a, b in _split(offset, offset + duration_s):
            add(a, b - a)
        return out
    return {base: 1.0}
