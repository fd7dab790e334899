"""Pure arithmetic of a benchmark: when a warm-up has reached its steady state, and the
spread of repeated figures. No I/O, no clock: property-testable.

Steady state (the definition the benchmark uses, docs/bench.md): the warm-up runs batch
after batch; it is over once the last ``window`` batch times all lie within
``tolerance`` (a fraction) of their median — caches filled, kernels chosen, clocks up.
Every batch before that window is warm-up and never measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

__all__ = ["steady_index", "Spread", "spread_of", "percentile", "STEADY_WINDOW",
           "STEADY_TOLERANCE"]

#: Batches whose times must agree before measuring starts.
STEADY_WINDOW = 3
#: How far (a fraction of their median) those batch times may stray.
STEADY_TOLERANCE = 0.15


def steady_index(durations_s: Sequence[float], *, window: int = STEADY_WINDOW,
                 tolerance: float = STEADY_TOLERANCE) -> int | None:
    """The index of the first batch of the first ``window`` consecutive batches whose
    times all lie within ``tolerance`` × their median of that median; None when no such
    window exists yet. ``durations_s`` are the warm-up's batch times in order."""
    if window < 1:
        raise ValueError(f"window={window}: use at least one batch")
    if not (tolerance >= 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance={tolerance}: use a fraction of at least 0")
    for start in range(0, len(durations_s) - window + 1):
        part = sorted(durations_s[start:start + window])
        median = _median(part)
        if median <= 0:
            continue
        if all(abs(x - median) <= tolerance * median for x in part):
            return start
    return None


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    return (sorted_values[mid] if n % 2 else
            0.5 * (sorted_values[mid - 1] + sorted_values[mid]))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between ranks (the
    "linear" method of numpy); ``values`` must not be empty."""
    if not values:
        raise ValueError("percentile of no values")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one figure: mean, extremes, sample standard deviation and
    the relative spread ``(max - min) / mean``."""

    mean: float
    low: float
    high: float
    stdev: float
    n: int

    @property
    def relative(self) -> float:
        return (self.high - self.low) / self.mean if self.mean > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "min": self.low, "max": self.high, "stdev": self.stdev,
                "n": self.n, "relative_spread": self.relative}


def spread_of(values: Sequence[float]) -> Spread:
    """The :class:`Spread` of repeated values (at least one)."""
    if not values:
        raise ValueError("spread of no values")
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return Spread(mean, min(values), max(values), math.sqrt(var), n)
