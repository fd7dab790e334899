"""The exporter's own measurement of this host: every device, whole (machine mode), read by
one :class:`~wattprint.sampler.Sampler` thread, and turned into node series (no run label)
whose counters continue across exporter restarts (:mod:`._state`).

Devices are named by what identifies them across reboots and tools: a GPU by its UUID
(as DCGM's ``UUID`` label), other sensors by their wattprint name (``rapl:package-0``,
``cpu-model``). Sensors nested in another (a RAPL core domain inside its package) are left
out, so that summing the series never counts a joule twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

from ..sampler import Sampler
from ..sensors.base import Sensor
from ._factors import factors
from ._metrics import Series
from ._state import CounterState, advance

__all__ = ["NodeDevices", "device_id"]


def device_id(sensor: Any, provenance: Any = None) -> str:
    """The ``device`` label: a GPU's UUID, else the sensor's name."""
    if provenance is None:
        try:
            provenance = sensor.provenance()
        except Exception:  # noqa: BLE001 - a label must not fail
            provenance = {}
    uuid = provenance.get("uuid") if isinstance(provenance, dict) else None
    return str(uuid) if uuid else str(getattr(sensor, "name", sensor))


class NodeDevices:
    """Whole-device series of this host. ``state`` keeps the counters across restarts;
    ``zone``/``pue``/``price_per_kwh``/``currency`` price the node's energy."""

    def __init__(self, sensors: Sequence[Sensor], *, host: str, rate_hz: float,
                 state: CounterState, zone: str | None = None, pue: float | None = None,
                 price_per_kwh: float | None = None, currency: str | None = None,
                 wall_clock: Callable[[], float] = time.time,
                 clock: Callable[[], float] = time.monotonic,
                 factors: Callable[..., Any] = factors) -> None:
        self._sensors = [s for s in sensors if getattr(s, "nested_in", None) is None]
        self.host = host
        self._state = state
        self._account = dict(zone=zone, pue=pue, price_per_kwh=price_per_kwh,
                             currency=currency)
        self._wall = wall_clock
        self._factors = factors  # None while pending (IsolatedFactors)
        self._ids = [device_id(s) for s in self._sensors]
        self._models = [str(getattr(s, "device", "") or "") for s in self._sensors]
        self._last_read = [0.0] * len(self._sensors)
        self._clock = clock  # the sensors' time base (time.monotonic for real ones)
        self._sampler = Sampler(self._sensors, rate_hz=rate_hz, sink=self._sink, clock=clock)
        self._lock = threading.Lock()
        # energy exposed at the previous scrape, per device (for CO2e/cost increments)
        self._prev_j: dict[str, float] = {}
        self._base: dict[str, tuple[float, float]] = {}
        self._seen_errors: dict[str, int] = {}  # sampler errors already counted

    def _sink(self, index: int, time_s: float, power_w: float, energy_j: float) -> None:
        self._last_read[index] = time_s  # monotonic; converted at scrape

    def start(self, background: bool = True) -> None:
        now = self._wall()
        for key in self._ids:
            for what in ("energy", "bridged", "errors", "co2e", "cost"):
                self._state.get(f"{key}|{what}", now)
        self._factors(**self._account)  # asks early: the answer is there by the first scrape
        self._sampler.start(background=background)
        mono = self._clock()
        self._last_read = [mono] * len(self._sensors)

    def step(self, now: float | None = None) -> None:
        """One sampler tick (tests driving the sampler by hand, ``start(background=False)``)."""
        self._sampler.step(now)

    def stop(self) -> None:
        self._sampler.stop()
        self._state.save()

    @property
    def sampler(self) -> Sampler:
        return self._sampler

    def series(self) -> list[Series]:
        """The node series now; the counters are persisted before they are returned."""
        with self._lock:
            return self._series()

    def _series(self) -> list[Series]:
        out: list[Series] = []
        state, host = self._state, self.host
        now = self._wall()
        offset = now - self._clock()
        f = self._factors(**self._account)
        sensors, totals = self._sampler.sensors, self._sampler.totals
        for i, key in enumerate(self._ids):
            sensor, t = sensors[i], totals[i]
            domain, basis = str(sensor.domain), str(sensor.kind)
            labels = (host, key, domain, basis, "", "", "", "")
            base = self._base.get(key)
            if base is None:  # first scrape of this exporter: continue from the state
                base = self._base[key] = (state.values[f"{key}|energy"]["value"],
                                          state.values[f"{key}|bridged"]["value"])
            energy = advance(base[0], 0.0, t.energy_j)
            bridged = advance(base[1], 0.0, t.bridged_j)
            values = {"energy": energy, "bridged": bridged,
                      "errors": state.values[f"{key}|errors"]["value"]
                      + t.errors - self._seen_errors.get(key, 0)}
            if f is not None:  # else the increment waits for the factors (IsolatedFactors)
                prev = self._prev_j.get(key, base[0])
                grown = energy - prev if energy > prev else 0.0
                self._prev_j[key] = energy
                values["co2e"] = state.values[f"{key}|co2e"]["value"] + grown * f.co2e_g_per_j
                if f.cost_per_j is not None:
                    values["cost"] = (state.values[f"{key}|cost"]["value"]
                                      + grown * f.cost_per_j)
            self._seen_errors[key] = t.errors
            for what, value in values.items():
                state.set(f"{key}|{what}", value)
            created = {w: state.values[f"{key}|{w}"]["created"] for w in values}
            out.append(Series("wattprint_energy_joules_total", labels,
                              state.values[f"{key}|energy"]["value"], created["energy"]))
            out.append(Series("wattprint_power_watts", labels, t.device_power_w))
            out.append(Series("wattprint_energy_bridged_joules_total", labels,
                              state.values[f"{key}|bridged"]["value"], created["bridged"]))
            if "co2e" in values:
                out.append(Series("wattprint_co2e_grams_total", labels + (f.zone,),
                                  state.values[f"{key}|co2e"]["value"], created["co2e"]))
            if "cost" in values:
                out.append(Series("wattprint_cost_total", labels + (f.currency,),
                                  state.values[f"{key}|cost"]["value"], created["cost"]))
            short = (host, key, domain, basis)
            out.append(Series("wattprint_sensor_read_errors_total", short,
                              state.values[f"{key}|errors"]["value"], created["errors"]))
            out.append(Series("wattprint_sensor_last_read_timestamp_seconds", short,
                              self._last_read[i] + offset))
            out.append(Series("wattprint_device_info",
                              (host, key, domain, basis, str(sensor.name), self._models[i]),
                              1.0))
        state.save()
        return out
