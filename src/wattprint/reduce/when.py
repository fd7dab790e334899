"""The *when* lever: the start, inside a window, at which a job of known length meets
the cleanest electricity (lowest mean intensity over the job, constant power assumed).

Candidates are *now* and every whole hour after it whose job still ends by the latest
end; each candidate's mean is the time-weighted mean of the hourly outlook over the job
(the weights of :func:`wattprint.accounting._timeline.energy_by_hour`), computed from
prefix sums so a 7-day horizon costs one pass. Ties go to the earliest start (no wait
for nothing). Pure: the caller passes ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..accounting._timeline import as_utc, energy_by_hour
from ..errors import UsageError
from ._outlook import Outlook, outlook
from ._wait import now as planning_now

__all__ = ["Window", "WhenPlan", "best_window", "plan_when", "window_mean", "day_savings",
           "days_compared"]

#: Below this relative gap two means are a tie (float noise, not a cleaner hour).
_TIE = 1e-9


@dataclass(frozen=True)
class Window:
    start: datetime
    mean_g_per_kwh: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "mean_g_per_kwh": self.mean_g_per_kwh}


@dataclass(frozen=True)
class WhenPlan:
    """The best start and what it saves against starting now. ``co2e_*`` are grams for
    ``energy_j`` of facility energy (None without an energy); all figures ``estimated``
    from the outlook's ``source``."""

    zone: str
    duration_s: float
    now: datetime
    latest_end: datetime
    best: Window
    now_window: Window
    worst: Window
    candidates: int
    outlook: Outlook
    energy_j: float | None = None
    pue: float = 1.0
    basis: str = "estimated"
    notes: tuple[str, ...] = field(default=())

    @property
    def wait_s(self) -> float:
        return max(0.0, (self.best.start - self.now).total_seconds())

    @property
    def saving_pct(self) -> float:
        now = self.now_window.mean_g_per_kwh
        return (now - self.best.mean_g_per_kwh) / now * 100 if now > 0 else 0.0

    def co2e_g(self, window: Window) -> float | None:
        if self.energy_j is None:
            return None
        return self.energy_j / 3.6e6 * self.pue * window.mean_g_per_kwh

    @property
    def co2e_saved_g(self) -> float | None:
        now, best = self.co2e_g(self.now_window), self.co2e_g(self.best)
        return None if now is None or best is None else max(0.0, now - best)

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone, "duration_s": self.duration_s, "now": self.now.isoformat(),
            "latest_end": self.latest_end.isoformat(), "best": self.best.to_dict(),
            "start_now": self.now_window.to_dict(), "worst": self.worst.to_dict(),
            "wait_s": self.wait_s, "saving_pct": self.saving_pct,
            "candidates": self.candidates, "energy_j": self.energy_j, "pue": self.pue,
            "co2e_now_g": self.co2e_g(self.now_window), "co2e_best_g": self.co2e_g(self.best),
            "co2e_saved_g": self.co2e_saved_g, "source": self.outlook.source,
            "dataset": self.outlook.dataset, "live_hours": self.outlook.live_hours,
            "basis": self.basis, "notes": [*self.outlook.notes, *self.notes],
        }


def window_mean(series: Outlook, start: datetime, duration_s: float) -> float:
    """Time-weighted mean intensity of ``series`` over ``[start, start + duration_s)`` —
    the reference the fast search is checked against."""
    weights = energy_by_hour(start, duration_s)
    total = sum(weights.values())
    return sum(w * series.at(h) for h, w in weights.items()) / total


def best_window(series: Outlook, now: datetime, duration_s: float, latest_end: datetime
                ) -> tuple[Window, Window, Window, int]:
    """(best, start-now, worst, number of candidates) over the candidate starts."""
    now = as_utc(now)
    latest_end = as_utc(latest_end)
    if duration_s <= 0:
        raise UsageError(f"--duration {duration_s:g} s: a job lasts more than 0 s; write "
                         "e.g. --duration 6h")
    end_limit = min(latest_end.timestamp(), series.end_hour)
    if now.timestamp() + duration_s > end_limit + 1e-6:
        room_h = max(0.0, (end_limit - now.timestamp()) / 3600)
        why = "the deadline" if latest_end.timestamp() <= series.end_hour else \
            "the end of the forecast"
        raise UsageError(f"a {duration_s / 3600:g} h job does not fit before {why} "
                         f"({room_h:.1f} h from now); widen --within/--deadline or shorten "
                         "--duration")
    values = series.values
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    full, frac = divmod(duration_s, 3600.0)
    full = int(full)
    frac_h = frac / 3600.0
    hours_total = duration_s / 3600.0
    now_w = Window(now, window_mean(series, now, duration_s))
    best = worst = now_w
    count = 1
    first = math.floor(now.timestamp() / 3600) * 3600 + 3600
    k = (first - series.start_hour) // 3600
    while True:
        start_s = series.start_hour + 3600 * k
        if start_s + duration_s > end_limit + 1e-6:
            break
        total = prefix[k + full] - prefix[k]
        if frac_h:
            total += frac_h * values[k + full]
        mean = total / hours_total
        count += 1
        if mean < best.mean_g_per_kwh * (1 - _TIE):
            best = Window(datetime.fromtimestamp(start_s, timezone.utc), mean)
        if mean > worst.mean_g_per_kwh * (1 + _TIE):
            worst = Window(datetime.fromtimestamp(start_s, timezone.utc), mean)
        k += 1
    return best, now_w, worst, count


def plan_when(zone: Any, duration_s: float, *, now: datetime | None = None,
              within_s: float | None = None, deadline: datetime | None = None,
              energy_j: float | None = None, pue: float = 1.0, provider: Any = None
              ) -> WhenPlan:
    """The best start for a ``duration_s`` job in ``zone``: starting by ``now +
    within_s`` (default 24 h), or ending by ``deadline``. ``provider``: a live provider
    (its forecast first, the shipped profile after its horizon)."""
    now = as_utc(now or planning_now())
    if deadline is not None and within_s is not None:
        raise UsageError("give --within or --deadline, not both")
    if deadline is not None:
        latest_end = as_utc(deadline)
        if latest_end <= now:
            raise UsageError(f"--deadline {latest_end.isoformat()} is in the past; give a "
                             "later time")
    else:
        within_s = 86400.0 if within_s is None else within_s
        latest_end = now + timedelta(seconds=within_s + duration_s)
    series = outlook(zone, now, latest_end, provider=provider)
    best, now_w, worst, count = best_window(series, now, duration_s, latest_end)
    return WhenPlan(series.zone, duration_s, now, latest_end, best, now_w, worst, count,
                    series, energy_j=energy_j, pue=pue)


def day_savings(zone: Any, start: datetime, delay: timedelta,
                duration_s: float) -> list[float]:
    """The share of CO2e a start ``delay`` later saved on each day of the shipped hourly
    year (Electricity Maps 2023) with the month and weekday of ``start``, same time of day,
    on the actual hours (negative: that day it was dirtier). Empty without hourly data."""
    from ..accounting import _tables
    from ..accounting.carbon import hourly_intensity

    out = []
    for k in range(520):  # the same month and weekday in the shipped year, week by week
        t = start - timedelta(weeks=k)
        if t.year < _tables.HOURLY_YEAR:
            break
        if t.year != _tables.HOURLY_YEAR or t.month != start.month:
            continue
        now_f = hourly_intensity(zone, t, duration_s)
        later_f = hourly_intensity(zone, t + delay, duration_s)
        if now_f is not None and later_f is not None and now_f.value > 0:
            out.append(1 - later_f.value / now_f.value)
    return out


def days_compared(start: datetime) -> str:
    """The days :func:`day_savings` compares, in words: ``"Mondays of December 2023"``."""
    from ..accounting import _tables

    return f"{start:%A}s of {start:%B} {_tables.HOURLY_YEAR}"
