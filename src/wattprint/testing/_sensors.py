"""Sensors with no hardware behind them: a scripted fake and a replay of a recorded trace."""

from __future__ import annotations

import csv
import math
import os
import time
from bisect import bisect_right
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import SensorReadError, UsageError
from ..sensors.base import Reading, Sensor, new_reading

__all__ = ["FakeSensor", "ReplaySensor"]


class FakeSensor(Sensor):
    """A sensor whose power you choose.

    ``power_w`` is a number or a function of the seconds since the sensor was opened.
    With ``counter=True`` readings carry a cumulative ``energy_j`` (the exact integral of a
    constant power, or the trapezoid of the function between reads), otherwise ``power_w``.
    ``fail_at`` is a set of read numbers (1-based) that raise :class:`SensorReadError`, or
    ``fail_after=N`` makes every read after the N-th fail (a sensor that dies mid-run).
    ``fallback_sensor`` is returned by :meth:`fallback`. ``share`` is put in every reading.
    """

    def __init__(self, power_w: float | Callable[[float], float] = 100.0, *,
                 name: str = "fake:0", domain: str = "gpu", kind: str = "measured",
                 device: str = "Fake device", counter: bool = True, scope: str = "device",
                 interval_s: float | None = None, fail_at: Iterable[int] = (),
                 fail_after: int | None = None, fallback_sensor: Sensor | None = None,
                 share: float | None = None, clock: Callable[[], float] = time.monotonic,
                 provenance: Mapping[str, Any] | None = None) -> None:
        self.name, self.domain, self.kind, self.device = name, domain, kind, device
        self.scope, self.interval_s = scope, interval_s
        self._power = power_w if callable(power_w) else (lambda _t, p=float(power_w): p)
        self._constant = not callable(power_w)
        self._counter = counter
        self._fail_at = set(fail_at)
        self._fail_after = fail_after
        self._fallback = fallback_sensor
        self._share = share
        self._clock = clock
        self._t0 = clock()
        self._last_t = 0.0
        self._last_p = self._power(0.0)
        self._energy_j = 0.0
        self._provenance = dict(provenance or {})
        self.reads = 0
        self.closed = False

    def read(self) -> Reading:
        self.reads += 1
        if self.reads in self._fail_at or (
                self._fail_after is not None and self.reads > self._fail_after):
            raise SensorReadError(f"{self.name}: injected failure on read {self.reads}",
                                  source="fake", reason="driver")
        now = self._clock()
        t = now - self._t0
        p = self._last_p if self._constant else self._power(t)
        dt = t - self._last_t
        self._energy_j += p * dt if self._constant else 0.5 * (p + self._last_p) * dt
        self._last_t, self._last_p = t, p
        if self._counter:
            return new_reading((now, self._energy_j, None, self._share))
        return new_reading((now, None, p, self._share))

    def fallback(self) -> Sensor | None:
        return self._fallback

    def close(self) -> None:
        self.closed = True

    def provenance(self) -> Mapping[str, Any]:
        return {"kind": self.kind, "method": "FakeSensor (test helper)", **self._provenance}


class ReplaySensor(Sensor):
    """Plays back a recorded power trace.

    ``trace`` is a sequence of ``(time_s, power_w)`` pairs with increasing times (seconds
    from the start of the recording). Reads map the seconds since the sensor was opened,
    multiplied by ``speed``, onto the trace and return the exact integral of the
    piecewise-linear trace as a cumulative counter (``counter=True``) or the interpolated
    power. ``speed=60`` plays an hour's trace in a minute; energies are then those of the
    trace time: readings are stamped on the trace's time axis (``speed`` times faster than
the wall clock), so energies and powers match the recording. After the
    trace ends, power stays at its last value (``loop=True`` repeats the trace instead).
    """

    def __init__(self, trace: Sequence[tuple[float, float]], *, name: str = "replay:0",
                 domain: str = "gpu", kind: str = "measured", device: str = "Replayed trace",
                 speed: float = 1.0, counter: bool = True, loop: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if len(trace) < 2:
            raise UsageError("a replay trace needs at least two (time_s, power_w) points")
        times = [float(t) for t, _ in trace]
        if any(b <= a for a, b in zip(times, times[1:])):
            raise UsageError("replay trace times must be strictly increasing")
        if speed <= 0:
            raise UsageError(f"speed={speed!r}: use a positive playback speed")
        self.name, self.domain, self.kind, self.device = name, domain, kind, device
        self._t = [t - times[0] for t in times]
        self._p = [float(p) for _, p in trace]
        # cumulative energy at each trace point (trapezoid = exact for piecewise linear)
        self._e = [0.0]
        for i in range(1, len(self._t)):
            self._e.append(self._e[-1] + 0.5 * (self._p[i] + self._p[i - 1])
                           * (self._t[i] - self._t[i - 1]))
        self._speed, self._counter, self._loop = float(speed), counter, loop
        self._clock = clock
        self._t0 = clock()
        self.duration_s = self._t[-1]

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], **kwargs: Any) -> "ReplaySensor":
        """Load a trace from a CSV file with ``time_s`` and ``power_w`` columns."""
        with open(path, newline="") as fh:
            rows = csv.DictReader(fh)
            missing = {"time_s", "power_w"} - set(rows.fieldnames or ())
            if missing:
                raise UsageError(f"{path}: the trace CSV needs columns time_s and power_w "
                                 f"(missing: {', '.join(sorted(missing))})")
            trace = [(float(r["time_s"]), float(r["power_w"])) for r in rows]
        return cls(trace, **kwargs)

    def energy_at(self, t: float) -> float:
        """Exact energy of the trace from its start to trace time ``t``."""
        if self._loop and t > self.duration_s:
            loops = math.floor(t / self.duration_s)
            return loops * self._e[-1] + self.energy_at(t - loops * self.duration_s)
        if t >= self.duration_s:
            return self._e[-1] + self._p[-1] * (t - self.duration_s)
        i = max(bisect_right(self._t, t) - 1, 0)
        p = self.power_at(t)
        return self._e[i] + 0.5 * (self._p[i] + p) * (t - self._t[i])

    def power_at(self, t: float) -> float:
        if self._loop and t > self.duration_s:
            t = t % self.duration_s
        if t >= self.duration_s:
            return self._p[-1]
        i = max(bisect_right(self._t, t) - 1, 0)
        span = self._t[i + 1] - self._t[i]
        return self._p[i] + (self._p[i + 1] - self._p[i]) * (t - self._t[i]) / span

    def read(self) -> Reading:
        t = (self._clock() - self._t0) * self._speed
        stamp = self._t0 + t  # readings run on trace time, so powers are the trace's
        if self._counter:
            return Reading(stamp, energy_j=self.energy_at(t))
        return Reading(stamp, power_w=self.power_at(t))

    def provenance(self) -> Mapping[str, Any]:
        return {"kind": self.kind, "method": "ReplaySensor (recorded trace)",
                "speed": self._speed}
