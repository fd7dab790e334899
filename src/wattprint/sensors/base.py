"""The one interface every power/energy source implements, and the values it returns.

A :class:`Sensor` stands for one device or one domain (one GPU, one RAPL package, the
modelled CPU of a process tree). ``read()`` returns a :class:`Reading` holding either a
cumulative energy counter (``energy_j``, joules since the sensor was opened, already
corrected for wrap-around), an instantaneous power (``power_w``), or both. The sampler
differences counters and integrates power; a sensor never integrates for the caller
except when the model itself is defined over an interval (the CPU-time model).

Every sensor says whether its figures are ``measured`` (read from hardware) or
``modelled`` (computed from utilisation and reference data), and carries a provenance
mapping naming the method and the source (with year) of every factor it uses.
"""

from __future__ import annotations

import functools

import abc
import time
from dataclasses import dataclass
from typing import Any, Literal, Mapping, NamedTuple

__all__ = ["Reading", "Sensor", "Unavailable", "DOMAINS", "KINDS", "now_s"]

#: Domains a sensor can cover. ``system`` is a whole-platform reading (RAPL psys).
DOMAINS = ("gpu", "cpu", "dram", "ram", "system")
#: ``measured`` from hardware counters/power meters; ``modelled`` from a model.
KINDS = ("measured", "modelled")

Domain = Literal["gpu", "cpu", "dram", "ram", "system"]
Kind = Literal["measured", "modelled"]

now_s = time.monotonic


class Reading(NamedTuple):
    """One observation of a sensor.

    ``time_s`` is ``time.monotonic()`` at the read. ``energy_j`` is a cumulative counter in
    joules since the sensor was opened (monotone non-decreasing, wrap-around already
    handled), or ``None`` when the source has no counter. ``power_w`` is the instantaneous
    (or short-window average) power, or ``None``. At least one of them is set.
    ``share`` lets a shared device be attributed to the tracked processes. A named tuple:
    immutable and about three times cheaper to make than a frozen dataclass, which
    matters at 10 reads a second per sensor.
    """

    time_s: float
    energy_j: float | None = None
    power_w: float | None = None
    #: Fraction (0..1) of the device's energy since the previous reading that belongs to
    #: the tracked process tree (NVML per-process utilisation, CPU-time share), or None
    #: when the source cannot attribute (the whole device is then counted).
    share: float | None = None


#: ``new_reading((time_s, energy_j, power_w, share))``: a :class:`Reading` built without
#: the named tuple's Python-level ``__new__`` (a C call): sensors read ten times a second
#: with cold caches use it, where every Python frame shows.
new_reading = functools.partial(tuple.__new__, Reading)


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A source that :func:`wattprint.sensors.detect` could not use, and why."""

    source: str
    reason: str
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, "message": self.message,
                "fix": self.fix}


class Sensor(abc.ABC):
    """A source of power or energy for one device or domain.

    Subclasses set the class or instance attributes below and implement :meth:`read`.
    ``name`` is unique within a run (``"nvml:0"``, ``"rapl:package-0"``, ``"cpu-model"``);
    ``device`` is a human label (``"NVIDIA H100 80GB HBM3 (GPU 0)"``).
    """

    name: str = "sensor"
    domain: Domain = "system"
    kind: Kind = "measured"
    device: str = ""
    #: ``"device"``: readings cover the whole device (a GPU, a CPU package), which the
    #: tracker may attribute to the tracked processes by ``Reading.share`` or by CPU-time
    #: share; ``"process"``: readings already cover only the tracked processes (the models).
    scope: Literal["device", "process"] = "device"
    #: Seconds between reads; ``None`` means the sampler's rate. Cumulative sources that
    #: are costly to read (the CPU-time model) use a longer interval without losing energy.
    interval_s: float | None = None
    #: The ``name`` of the sensor whose energy already includes this one's (a RAPL core or
    #: uncore sub-domain inside its package, ``"rapl:package-0"``), or ``None`` for a
    #: sensor counted on its own. Nested sensors are recorded and shown but never summed
    #: into run totals, so nothing is counted twice.
    nested_in: str | None = None

    @abc.abstractmethod
    def read(self) -> Reading:
        """Return a new reading. Raise :class:`wattprint.errors.SensorReadError` on failure."""

    def close(self) -> None:
        """Release vendor handles. Safe to call more than once."""

    @property
    def released(self) -> bool:
        """True once :meth:`close` released the vendor handles this sensor reads through
        (NVML's, AMD SMI's): it reads nothing more, so a new run needs new sensors.
        Sensors without handles are never released."""
        return bool(getattr(self, "_closed", False))

    def provenance(self) -> Mapping[str, Any]:
        """Where this sensor's figures come from: kind, method and factor sources."""
        return {"kind": self.kind, "method": type(self).__name__}

    def fallback(self) -> "Sensor | None":
        """A replacement to use when this sensor keeps failing (e.g. power polling for a
        broken energy counter), or ``None``."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "domain": self.domain, "kind": self.kind,
                "device": self.device, "provenance": dict(self.provenance())}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.domain} {self.kind}>"
