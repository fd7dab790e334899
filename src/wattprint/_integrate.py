"""Energy arithmetic of the sampler, pure (no I/O, no clock) so it can be property-tested:
differencing a cumulative counter, integrating power with the trapezoid rule, and
spreading a counter's increment over a buffered power trace."""

from __future__ import annotations

from typing import Sequence

__all__ = ["counter_energy_j", "trapezoid_energy_j", "spread_counter_j"]

_INF = float("inf")


def counter_energy_j(prev_j: float, cur_j: float) -> float:
    """Energy between two cumulative counter values; a counter that went back (reset by a
    driver reload) contributes nothing rather than a negative amount."""
    return cur_j - prev_j if cur_j >= prev_j else 0.0


def trapezoid_energy_j(prev_w: float, cur_w: float, dt_s: float) -> float:
    """Energy of a linear power ramp from ``prev_w`` to ``cur_w`` over ``dt_s`` seconds."""
    if dt_s <= 0.0:
        return 0.0
    return 0.5 * (prev_w + cur_w) * dt_s


def spread_counter_j(t0_s: float, t1_s: float, delta_j: float,
                     trace: Sequence[tuple[float, float]], min_dt_s: float
                     ) -> list[tuple[float, float]]:
    """Where a counter's increment ``delta_j`` over ``[t0_s, t1_s]`` was spent, from a power
    trace ``(time_s, power_w)`` sampled inside it: ``(time_s, energy_j since t0_s)`` at the
    trace's points, about ``min_dt_s`` apart from each other and from both ends (at least
    90 % of it: a driver's sample period jitters). Energies
    follow the trace's trapezoid integral (power held flat before its first point and after
    its last) scaled to the counter, so they rise monotonically towards ``delta_j``, which
    the end of the interval itself (not listed) reaches exactly. Points out of the
    interval, out of order or not finite are ignored; a trace with no energy spreads the
    increment evenly over time."""
    if not delta_j > 0.0 or not t1_s > t0_s:
        return []
    points: list[tuple[float, float]] = []
    last_t = t0_s
    for t, p in trace:
        if last_t < t < t1_s and 0.0 <= p < _INF:
            points.append((t, p))
            last_t = t
    if not points:
        return []
    cumulative = []
    energy, prev_t, prev_p = 0.0, t0_s, points[0][1]
    for t, p in points:
        energy += 0.5 * (prev_p + p) * (t - prev_t)
        cumulative.append((t, energy))
        prev_t, prev_p = t, p
    total = energy + prev_p * (t1_s - prev_t)
    out: list[tuple[float, float]] = []
    emitted_t = t0_s
    min_dt_s *= 0.9
    for t, e in cumulative:
        if t - emitted_t >= min_dt_s and t1_s - t >= min_dt_s:
            fraction = e / total if total > 0.0 else (t - t0_s) / (t1_s - t0_s)
            out.append((t, delta_j * fraction))
            emitted_t = t
    return out
