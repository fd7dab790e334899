"""Forecast a run at completion: energy, duration, CO2e and cost, with an interval that
narrows as the run goes.

Pure functions over observations ``(time_s, energy_j, work)`` — cumulative energy and
cumulative work (steps, samples or tokens) at a moment — plus the kind of phase that
follows each observation. The tracker records them at ``count()``, ``progress()`` and
phase boundaries (:class:`ProgressLog`, bounded memory); :func:`forecast` reads them.

Why not ``first epoch × epochs`` (carbontracker): the first epoch carries the warm-up
(compilation, caches, data loading) and its evaluation may not recur at the same rate.
Here the run is split into

- **warm-up**: the slow start, until throughput first holds at 85 % of the recent rate,
  or named by a phase (``warmup``, ``compile``…); it does not recur and is left out of
  the rates;
- **pauses**: stretches with no or little work progress (evaluation, checkpointing),
  found from throughput (< 30 % of the rate around them) or named by a phase (``eval``,
  ``val``, ``test``…). They recur with the work: their time per unit of work and their
  power are measured from the pauses seen so far;
- **steady work**: throughput and power over the recent window of working time.

Remaining time = remaining work ÷ throughput + pause seconds per unit × remaining work;
remaining energy = the same times their powers. The interval combines the spread of
recent rates (chunks of the window), their drift (first vs second half of the window),
the number of pauses seen, and a floor; it applies to the *remaining* part only, so it
narrows as the run goes. It is a heuristic interval, not a calibrated confidence
interval: the tests check that after 10 % of varied recorded traces it contains the final
value and the central error is within 10 %. Forecasts are labelled ``estimated``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from ._format import format_duration, format_energy, format_mass, format_money

__all__ = ["Observation", "Range", "Forecast", "ProgressLog", "forecast", "phase_kind",
           "report_progress", "PAUSE_NAMES", "WARMUP_NAMES"]

#: Phase names (any component of a nested path, case-insensitive) taken as pauses.
PAUSE_NAMES = frozenset({"eval", "evaluate", "evaluation", "val", "valid", "validate",
                         "validation", "test", "testing", "checkpoint", "save"})
#: Phase names taken as warm-up (a one-off slow start).
WARMUP_NAMES = frozenset({"warmup", "warm-up", "warm_up", "compile", "setup", "load",
                          "loading", "init"})

#: Below this share of the work done there is nothing to extrapolate from (a forecast from
#: 1e-300 of the work would multiply the energy so far by 1e300).
MIN_PROGRESS = 1e-7
_PAUSE_RATE = 0.3  # an interval below this fraction of the steady rate is a pause
_WARMUP_RATE = 0.85  # the start runs below this fraction of it until warm-up ends
_Z = 1.96  # spread multiplier for the statistical part of the interval
_FLOOR = 0.03  # relative allowance on the remaining part for what a window cannot show


def phase_kind(path: str | None) -> str:
    """``"pause"``, ``"warmup"`` or ``""`` for a phase path such as ``train/eval``."""
    if not path:
        return ""
    parts = {p.strip().lower() for p in path.split("/")}
    if parts & PAUSE_NAMES:
        return "pause"
    if parts & WARMUP_NAMES:
        return "warmup"
    return ""


@dataclass(frozen=True, slots=True)
class Observation:
    """Cumulative energy (J) and work at ``t_s``; ``kind`` is the phase kind from here
    to the next observation (``""``, ``"pause"`` or ``"warmup"``)."""

    t_s: float
    energy_j: float
    work: float
    kind: str = ""


@dataclass(frozen=True)
class Range:
    """A forecast figure: ``low`` ≤ ``central`` ≤ ``high``."""

    low: float
    central: float
    high: float

    def scaled(self, factor: float) -> "Range":
        return Range(self.low * factor, self.central * factor, self.high * factor)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, float]:
        return {"low": self.low, "central": self.central, "high": self.high}


@dataclass(frozen=True)
class Forecast:
    """A run at completion, as predicted now. Every figure is ``estimated``.

    ``energy_j`` is IT energy (what the sensors measure); ``co2e_g`` and ``cost`` apply
    the PUE and the intensity / price given (None when not given). ``phase`` is what the
    run is doing now: ``warm-up``, ``steady``, ``pause`` or ``done``; ``quality`` is
    ``rough`` (little data: wide interval) or ``ok``.
    """

    unit: str
    done: float
    total: float
    progress: float  # done / total, 0..1
    elapsed_s: float
    energy_so_far_j: float
    energy_j: Range
    duration_s: Range
    remaining_s: Range
    co2e_g: Range | None = None
    cost: Range | None = None
    currency: str | None = None
    throughput_per_s: float = 0.0  # steady work rate (units per second)
    power_w: float = 0.0  # steady power while working
    pause_s_per_unit: float = 0.0  # pause seconds per unit of work
    pause_power_w: float | None = None
    pauses_seen: int = 0
    warmup_s: float = 0.0
    phase: str = "steady"
    quality: str = "ok"
    method: str = "recent throughput and power, warm-up and pauses separated"
    basis: str = "estimated"
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data

    def short(self) -> str:
        """One line for a live display: ``→ 1.23 kWh (1.1 kWh–1.4 kWh) at 40%, 2.05 h
        left, 512 g CO2e``."""
        e = self.energy_j
        text = (f"→ {format_energy(e.central)} ({format_energy(e.low)}–"
                f"{format_energy(e.high)}) at {self.progress:.0%}")
        text += f", {format_duration(max(self.remaining_s.central, 0.0))} left"
        if self.co2e_g is not None:
            text += f", {format_mass(self.co2e_g.central, co2e=True)}"
        if self.cost is not None:
            text += f", {format_money(self.cost.central, self.currency)}"
        return text


class ProgressLog:
    """Observations of one run in bounded memory.

    :meth:`add` keeps at most one observation per ``min_interval_s`` (unless the phase
    kind changes or ``force``), and thins the older three quarters when ``capacity`` is
    reached — keeping the observations around pauses and phase changes, so pauses stay
    visible. The cost per call is a comparison and, now and then, an append.
    """

    def __init__(self, *, capacity: int = 4096, min_interval_s: float = 0.2) -> None:
        if capacity < 16:
            raise ValueError("capacity must be at least 16")
        self.capacity = capacity
        self.min_interval_s = float(min_interval_s)
        self._obs: list[Observation] = []

    def __len__(self) -> int:
        return len(self._obs)

    @property
    def observations(self) -> list[Observation]:
        return list(self._obs)

    @property
    def last(self) -> Observation | None:
        return self._obs[-1] if self._obs else None

    def add(self, t_s: float, energy_j: float, work: float, kind: str = "", *,
            force: bool = False) -> bool:
        """Record an observation; False when it was skipped (too soon after the last)."""
        last = self._obs[-1] if self._obs else None
        if last is not None and not force and kind == last.kind \
                and t_s - last.t_s < self.min_interval_s:
            return False
        if last is not None and t_s < last.t_s:
            return False
        self._obs.append(Observation(t_s, energy_j, work, kind))
        if len(self._obs) >= self.capacity:
            self._thin()
        return True

    def _thin(self) -> None:
        obs = self._obs
        cut = len(obs) * 3 // 4
        dts = sorted(b.t_s - a.t_s for a, b in zip(obs, obs[1:cut]))
        slow = 4 * dts[len(dts) // 2] if dts else math.inf
        keep = [obs[0]]
        for i in range(1, cut):
            o = obs[i]
            special = (o.kind != obs[i - 1].kind or o.t_s - obs[i - 1].t_s > slow
                       or (i + 1 < len(obs) and obs[i + 1].t_s - o.t_s > slow))
            if special or i % 2 == 0:
                keep.append(o)
        keep.extend(obs[cut:])
        self._obs = keep
        self.min_interval_s *= 2


@dataclass
class _Interval:
    t0: float
    dt: float
    de: float
    dw: float
    w0: float
    kind: str

    @property
    def rate(self) -> float:
        return self.dw / self.dt if self.dt > 0 else 0.0


@dataclass
class _Pause:
    w_start: float
    duration_s: float = 0.0
    energy_j: float = 0.0
    ongoing: bool = False
    intervals: list[int] = field(default_factory=list)


def _chunks(items: list[_Interval], k: int) -> list[list[_Interval]]:
    """``items`` cut into ``k`` consecutive groups of about equal time."""
    total = sum(i.dt for i in items)
    out: list[list[_Interval]] = [[]]
    acc = 0.0
    for it in items:
        if acc >= total * len(out) / k and len(out) < k and out[-1]:
            out.append([])
        out[-1].append(it)
        acc += it.dt
    return [c for c in out if c]


def _rel_spread(values: list[float]) -> float:
    """Standard error of the mean of ``values``, relative to the mean."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if n < 2 or mean <= 0:
        return 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(var / n) / mean


def forecast(observations: Iterable[Observation], total_work: float, *,
             unit: str = "steps", now: Observation | None = None,
             co2e_g_per_kwh: float | None = None, pue: float = 1.0,
             price_per_kwh: float | None = None, currency: str | None = None
             ) -> Forecast | None:
    """The run at completion of ``total_work`` units, from its observations so far.

    ``now`` (optional) is the state at this moment, added when later than the last
    observation (a forecast asked during an evaluation sees the pause growing).
    ``co2e_g_per_kwh`` (facility energy) with ``pue``, and ``price_per_kwh``, add CO2e and
    cost. Returns None until there is progress to extrapolate (some work done, time
    passed)."""
    obs = sorted(observations, key=lambda o: o.t_s)
    if now is not None and (not obs or now.t_s > obs[-1].t_s):
        obs.append(now)
    if total_work <= 0 or len(obs) < 2:
        return None
    first, last = obs[0], obs[-1]
    elapsed = last.t_s - first.t_s
    done = last.work - first.work
    if elapsed <= 0 or done <= 0 or last.work < MIN_PROGRESS * total_work:
        return None
    so_far = last.energy_j - first.energy_j
    progress = min(last.work / total_work, 1.0)
    extras = dict(unit=unit, done=last.work, total=float(total_work), progress=progress,
                  elapsed_s=elapsed, energy_so_far_j=so_far)
    if last.work >= total_work:
        zero = Range(0.0, 0.0, 0.0)
        return _finish(Forecast(energy_j=Range(so_far, so_far, so_far),
                                duration_s=Range(elapsed, elapsed, elapsed),
                                remaining_s=zero, phase="done", **extras),
                       co2e_g_per_kwh, pue, price_per_kwh, currency)
    intervals = [_Interval(a.t_s, b.t_s - a.t_s, max(b.energy_j - a.energy_j, 0.0),
                           max(b.work - a.work, 0.0), a.work, a.kind)
                 for a, b in zip(obs, obs[1:]) if b.t_s > a.t_s]
    return _finish(_estimate(intervals, obs, total_work, extras),
                   co2e_g_per_kwh, pue, price_per_kwh, currency)


def _estimate(intervals: list[_Interval], obs: list[Observation], total_work: float,
              extras: dict[str, Any]) -> Forecast:
    first, last = obs[0], obs[-1]
    elapsed, so_far = extras["elapsed_s"], extras["energy_so_far_j"]
    remaining_work = total_work - last.work
    notes: list[str] = []

    # 1. a provisional steady rate: the median interval rate over the recent half of the
    #    run (by count, so a few long pauses cannot pull it), named phases left out
    half = first.t_s + elapsed / 2
    work_like = [i for i in intervals if i.kind == "" and i.dw > 0]
    recent = [i for i in work_like if i.t0 >= half] or work_like or \
        [i for i in intervals if i.dw > 0]
    r0 = sorted(i.rate for i in recent)[len(recent) // 2]

    # 2. warm-up: named, or the start until throughput first holds at steady level
    #    (the median of the next few intervals at >= 85 % of the steady rate)
    warm_end = first.t_s
    named = [i for i in intervals if i.kind == "warmup"]
    if named:
        warm_end = max(i.t0 + i.dt for i in named)
    for j, i in enumerate(intervals):
        if i.t0 < warm_end - 1e-9 or i.kind:
            continue
        ahead = sorted(x.rate for x in intervals[j:j + 5] if not x.kind)
        if i.rate >= _WARMUP_RATE * r0 and ahead[len(ahead) // 2] >= _WARMUP_RATE * r0:
            warm_end = i.t0
            break
    else:
        warm_end = last.t_s

    # 3. pauses: named, or (after the first work) progressing at < 30 % of the rate
    #    around them — the local median, so slow warm-up steps are not pauses but an
    #    evaluation during the warm-up is
    rates_all = [i.rate for i in intervals]
    local = []
    for j in range(len(intervals)):
        near = sorted(rates_all[max(j - 10, 0):j + 11])
        local.append(min(near[len(near) // 2], r0))

    pause_flags = [i.kind == "pause" or (i.kind != "warmup" and i.w0 > first.work
                                         and i.rate < _PAUSE_RATE * local[j])
                   for j, i in enumerate(intervals)]
    working = [i for i, paused in zip(intervals, pause_flags) if not paused]
    steady = [i for i in working if i.t0 >= warm_end - 1e-9 and i.kind != "warmup"]
    if not steady:
        steady = [i for i in working if i.dw > 0] or working or intervals
        notes.append("still warming up: rates so far include the slow start")

    # 4. the recent window of steady work
    steady_time = sum(i.dt for i in steady)
    window = steady
    if len(steady) >= 60:
        cutoff = last.t_s - max(0.5 * (last.t_s - warm_end), 0.0)
        window = [i for i in steady if i.t0 >= cutoff] or steady
    w_time = sum(i.dt for i in window)
    w_work = sum(i.dw for i in window)
    w_energy = sum(i.de for i in window)
    rate = w_work / w_time if w_time > 0 else r0
    if rate <= 0:
        rate = extras["done"] / elapsed
    power = w_energy / w_time if w_time > 0 else so_far / elapsed
    e_per_unit = power / rate

    # 5. pauses as events: time not explained by work at the steady rate
    pauses: list[_Pause] = []
    prev_pause = False
    for idx, (i, paused) in enumerate(zip(intervals, pause_flags)):
        if paused:
            work_s = min(i.dw / rate, i.dt)
            if not prev_pause:
                pauses.append(_Pause(i.w0))
            p = pauses[-1]
            p.duration_s += i.dt - work_s
            p.energy_j += max(i.de - work_s * power, 0.0)
            p.intervals.append(idx)
            prev_pause = True
        else:
            prev_pause = False
    if pauses and pauses[-1].intervals[-1] == len(intervals) - 1:
        pauses[-1].ongoing = True
    completed = [p for p in pauses if not p.ongoing and p.w_start > first.work]
    pause_s_per_unit = pause_power = 0.0
    pause_rel = 0.0
    current_left = mean_d = 0.0
    if completed:
        # periodic model: a pause of mean length every `gap` units of work; with one pause
        # seen, the gap is the work since the start
        total_pause = sum(p.duration_s for p in completed)
        mean_d = total_pause / len(completed)
        if len(completed) >= 2:
            gap = (completed[-1].w_start - completed[0].w_start) / (len(completed) - 1)
        else:
            gap = completed[0].w_start - first.work
        pause_s_per_unit = mean_d / gap if gap > 0 else 0.0
        pause_power = sum(p.energy_j for p in completed) / total_pause if total_pause else 0.0
        durations = [p.duration_s for p in completed]
        cv = (math.sqrt(sum((d - mean_d) ** 2 for d in durations) / len(durations)) / mean_d
              if mean_d > 0 and len(durations) > 1 else 0.25)
        pause_rel = max(cv, 0.1) / math.sqrt(len(completed)) + 0.2 / len(completed)
        if pauses[-1].ongoing:
            current_left = max(mean_d - pauses[-1].duration_s, 0.0)
    elif pauses and pauses[-1].ongoing:
        notes.append("in the first pause of the run: its length is not known yet")
    if not completed and extras["progress"] < 0.5:
        notes.append("no evaluation or other pause seen yet; if the run has them later, "
                     "this forecast is low")
    if pauses and pauses[-1].ongoing and not pause_power:
        pause_power = pauses[-1].energy_j / pauses[-1].duration_s \
            if pauses[-1].duration_s > 0 else power

    # 6. central forecast of the remaining part
    work_s = remaining_work / rate
    pause_s = remaining_work * pause_s_per_unit + current_left
    rem_e_work = remaining_work * e_per_unit
    rem_e_pause = pause_s * pause_power

    # 7. the interval: spread and drift of the window's rates, pauses seen, a floor
    chunks = _chunks(window, min(10, max(len(window) // 3, 1)))
    rates = [sum(i.dw for i in c) / sum(i.dt for i in c) for c in chunks
             if sum(i.dt for i in c) > 0]
    epus = [sum(i.de for i in c) / sum(i.dw for i in c) for c in chunks
            if sum(i.dw for i in c) > 0]
    halves = _chunks(window, 2)
    drift_r = drift_e = 0.0
    if len(halves) == 2:
        def r_of(c: list[_Interval]) -> float:
            return sum(i.dw for i in c) / max(sum(i.dt for i in c), 1e-12)

        def e_of(c: list[_Interval]) -> float:
            return sum(i.de for i in c) / max(sum(i.dw for i in c), 1e-12)
        drift_r = abs(r_of(halves[1]) - r_of(halves[0])) / rate
        drift_e = abs(e_of(halves[1]) - e_of(halves[0])) / e_per_unit if e_per_unit else 0.0
    quality = "ok"
    floor = _FLOOR
    if len(rates) < 3 or steady_time < 0.02 * elapsed or extras["done"] < 3:
        quality, floor = "rough", 0.25
        notes.append("little steady work observed yet: wide interval")
    elif warm_end > last.t_s - 0.1 * elapsed and warm_end > first.t_s:
        floor = 0.10
        notes.append("warm-up ended recently: rates may still be settling")
    rel_t = _Z * _rel_spread(rates) + drift_r / 2 + floor
    rel_e = _Z * _rel_spread(epus) + drift_e / 2 + floor
    pause_rel = _Z * pause_rel if completed else 0.0
    # ± one pause: whether the run pauses once more at its very end is not knowable
    half_t = work_s * rel_t + pause_s * pause_rel + mean_d
    half_e = rem_e_work * rel_e + rem_e_pause * pause_rel + mean_d * pause_power
    rem_t = work_s + pause_s
    rem_e = rem_e_work + rem_e_pause
    phase = "pause" if pauses and pauses[-1].ongoing else \
        ("warm-up" if warm_end >= last.t_s - 1e-9 or not steady else "steady")
    return Forecast(
        energy_j=Range(so_far + max(rem_e - half_e, 0.0), so_far + rem_e, so_far + rem_e + half_e),
        duration_s=Range(elapsed + max(rem_t - half_t, 0.0), elapsed + rem_t,
                         elapsed + rem_t + half_t),
        remaining_s=Range(max(rem_t - half_t, 0.0), rem_t, rem_t + half_t),
        throughput_per_s=rate, power_w=power, pause_s_per_unit=pause_s_per_unit,
        pause_power_w=pause_power if pauses else None, pauses_seen=len(completed),
        warmup_s=max(warm_end - first.t_s, 0.0), phase=phase, quality=quality,
        notes=tuple(notes), **extras)


def _finish(f: Forecast, co2e_g_per_kwh: float | None, pue: float,
            price_per_kwh: float | None, currency: str | None) -> Forecast:
    from dataclasses import replace

    kwh = f.energy_j.scaled(pue / 3.6e6)
    co2e = kwh.scaled(co2e_g_per_kwh) if co2e_g_per_kwh is not None else None
    cost = kwh.scaled(price_per_kwh) if price_per_kwh is not None else None
    return replace(f, co2e_g=co2e, cost=cost,
                   currency=currency if price_per_kwh is not None else None)


_last_report = [0.0]


def report_progress(done: float, total: float, unit: str = "steps", *,
                    min_interval_s: float = 0.5) -> bool:
    """Tell ``wattprint run`` (the parent process) how far the command is: ``done`` of
    ``total`` units. It forecasts from it (live line, forecast budgets). A no-op returning
    False outside ``wattprint run``, and when called again within ``min_interval_s``
    (call it every step; it writes twice a second at most). Never raises."""
    import os
    import time

    import math

    path = os.environ.get("WATTPRINT_PROGRESS_FILE")
    if not path:
        return False
    try:
        done, total = float(done), float(total)
    except (TypeError, ValueError, OverflowError):
        return False
    if not (math.isfinite(done) and math.isfinite(total) and 0 <= done and 0 < total):
        return False  # nothing the forecast could use (the tracker would refuse it)
    now = time.monotonic()
    if now - _last_report[0] < min_interval_s and done < total:
        return False
    _last_report[0] = now
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{unit} {float(done)!r} {float(total)!r}\n")
        os.replace(tmp, path)
    except OSError:
        return False
    return True
