"""The device model shared by the vendor fakes (:class:`~wattprint.testing.fake_nvml.FakeNVML`,
:class:`~wattprint.testing.fake_amdsmi.FakeAMDSMI`): fake time, a power trace per device and
the true energy it integrates to, the processes holding the device, call counting and
failure injection by function name and call number.

Each fake subclasses :class:`FakeDeviceLibrary` and adds only what its real library has of
its own: function names, units, return shapes, error classes and counter encodings. The
scripting methods here (:meth:`~FakeDeviceLibrary.advance`, :meth:`~FakeDeviceLibrary.fail`,
:meth:`~FakeDeviceLibrary.rewind_counter`...) never clash with the vendor API, whose names
all start with the library's prefix (``nvml``, ``amdsmi_``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, NoReturn, Sequence, TypeVar

__all__ = ["FakeDevice", "FakeDeviceLibrary", "PowerTrace", "power_at", "energy_between"]

#: Watts: a constant, a list (one value per ``trace_step_s`` seconds, the last one held),
#: or a function of fake time in seconds.
PowerTrace = float | Sequence[float] | Callable[[float], float]


def power_at(trace: PowerTrace, step_s: float, t_s: float) -> float:
    """The power of ``trace`` at fake time ``t_s``, in watts."""
    if callable(trace):
        return float(trace(t_s))
    if isinstance(trace, (int, float)):
        return float(trace)
    return float(trace[max(min(int(t_s // step_s), len(trace) - 1), 0)])


def energy_between(trace: PowerTrace, step_s: float, t0_s: float, t1_s: float) -> float:
    """Joules ``trace`` draws from ``t0_s`` to ``t1_s``: exact for constants and step
    lists, the midpoint rule on steps of at most 10 ms for functions."""
    if isinstance(trace, (int, float)):
        return float(trace) * (t1_s - t0_s)
    if callable(trace):
        n = max(1, math.ceil((t1_s - t0_s) / 0.01))
        dt = (t1_s - t0_s) / n
        return sum(float(trace(t0_s + (k + 0.5) * dt)) for k in range(n)) * dt
    total, t = 0.0, t0_s
    while t < t1_s:
        edge = (math.floor(t / step_s + 1e-9) + 1) * step_s
        nxt = min(edge, t1_s)
        total += power_at(trace, step_s, t) * (nxt - t)
        t = nxt
    return total


@dataclass(kw_only=True)
class FakeDevice:
    """What every fake accelerator has: its power trace (``power_w``, ``trace_step_s``),
    whether it has a cumulative energy counter (``energy_counter=False``: the energy call
    fails with the library's NOT_SUPPORTED), and the PIDs holding it (``processes``)."""

    power_w: PowerTrace = 100.0
    trace_step_s: float = 1.0
    energy_counter: bool = True
    processes: Sequence[int] = field(default_factory=tuple)


@dataclass
class _Failure:
    function: str
    code: int
    skip: int  # matching calls to let through first
    times: int | None  # None: forever
    gpu: int | None


D = TypeVar("D", bound=FakeDevice)


class FakeDeviceLibrary(Generic[D]):
    """Fake time, true energy, call counts and injected failures for ``gpus``.

    Subclasses set ``PREFIX`` (the vendor functions' common prefix), implement
    :meth:`_raise` (raise the library's exception for a status code) and :meth:`_not_init`
    (raise its "not initialised" error), and call :meth:`_enter` first in every vendor
    function. :meth:`_advanced` lets a subclass update its own counters or samples.
    """

    PREFIX = ""

    def __init__(self, gpus: Sequence[D]) -> None:
        self.gpus: list[D] = list(gpus)
        self.now_s = 0.0
        self.init_count = 0
        self.calls: Counter[str] = Counter()
        self._drawn_j = [0.0 for _ in self.gpus]
        self._failures: list[_Failure] = []

    # -- scripting ------------------------------------------------------------------------
    def time(self) -> float:
        """Fake seconds since the fake was created (pass as ``clock=`` to the sensors)."""
        return self.now_s

    def power_w(self, gpu: int, t_s: float | None = None) -> float:
        """The power of GPU ``gpu`` at fake time ``t_s`` (default: now), in watts."""
        g = self.gpus[gpu]
        return power_at(g.power_w, g.trace_step_s, self.now_s if t_s is None else t_s)

    def advance(self, seconds: float) -> None:
        """Move fake time forward: each device draws the energy of its power trace."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        t0, t1 = self.now_s, self.now_s + seconds
        for i, g in enumerate(self.gpus):
            joules = energy_between(g.power_w, g.trace_step_s, t0, t1)
            self._drawn_j[i] += joules
            self._advanced(i, joules, t0, t1)
        self.now_s = t1

    def drawn_j(self, gpu: int) -> float:
        """The true energy ``gpu`` drew since the fake was created, in joules."""
        return self._drawn_j[gpu]

    def fail(self, function: str, code: int, *, call: int = 1, times: int | None = 1,
             gpu: int | None = None) -> None:
        """Make the ``call``-th next call of ``function`` (on GPU ``gpu``, or any) fail with
        status ``code``, and the following ``times - 1`` calls too (``None``: forever)."""
        if not function.startswith(self.PREFIX) or not hasattr(self, function):
            raise ValueError(f"{type(self).__name__} has no function {function!r}")
        self._failures.append(_Failure(function, code, call - 1, times, gpu))

    # -- plumbing -------------------------------------------------------------------------
    def _advanced(self, gpu: int, joules: float, t0_s: float, t1_s: float) -> None:
        """Hook: ``gpu`` drew ``joules`` between the two fake times."""

    def _raise(self, code: int) -> NoReturn:
        raise NotImplementedError

    def _not_init(self) -> NoReturn:
        raise NotImplementedError

    def _enter(self, function: str, handle: Any = None, *, needs_init: bool = True) -> None:
        """Count the call, raise an injected failure if one is due, then the library's
        error when it is not initialised."""
        self.calls[function] += 1
        for f in self._failures:
            if f.function != function or (f.gpu is not None and
                                          getattr(handle, "gpu", None) != f.gpu):
                continue
            if f.skip > 0:
                f.skip -= 1
                continue
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self._failures.remove(f)
            self._raise(f.code)
        if needs_init and self.init_count <= 0:
            self._not_init()
