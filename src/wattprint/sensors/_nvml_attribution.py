"""Per-process attribution of one NVIDIA GPU's energy (see :mod:`._nvml` for the rules):
the share of the GPU's work that belongs to the tracked processes, from NVML's
per-process SM utilisation samples, or from who holds a CUDA context when the GPU idled."""

from __future__ import annotations

import logging
from typing import Any, Callable

from ._nvml_errors import _NO_ATTRIBUTION, _error_name

__all__ = ["ATTRIBUTION_INTERVAL_S", "ATTRIBUTION_MAX_FAILURES", "SharedPids"]

log = logging.getLogger("wattprint")

#: Seconds between two per-process utilisation queries (the share is kept in between).
ATTRIBUTION_INTERVAL_S = 1.0
#: Attribution errors in a row after which attribution is turned off (whole device counted).
ATTRIBUTION_MAX_FAILURES = 3


class SharedPids:
    """``pids()`` of the tracked tree, read once for all the GPUs that refresh their share
    in the same sampler tick (a walk of ``/proc`` per GPU per second cost more than the
    GPUs' own reads): a call within ``same_instant_s`` of the last one reuses its set."""

    def __init__(self, pids: Callable[[], set[int]], clock: Callable[[], float],
                 same_instant_s: float = 0.05) -> None:
        self._pids = pids
        self._clock = clock
        self._same_instant_s = same_instant_s
        self._at = float("-inf")
        self._last: set[int] = set()

    def __call__(self) -> set[int]:
        now = self._clock()
        if not 0.0 <= now - self._at < self._same_instant_s:
            self._last = self._pids()
            self._at = now
        return self._last


class _Attribution:
    """Share of one GPU's energy that belongs to the tracked processes (see module doc).

    Attribution never fails a reading: a transient NVML error keeps the last share, and
    after :data:`ATTRIBUTION_MAX_FAILURES` errors in a row (or at once, when the GPU cannot
    attribute) attribution is turned off, the whole device is counted and ``note`` says why.
    """

    def __init__(self, nvml: Any, handle: Any, pids: Callable[[], set[int]],
                 clock: Callable[[], float], interval_s: float) -> None:
        self._nvml = nvml
        self._handle = handle
        self._pids = pids
        self._clock = clock
        self._interval_s = interval_s
        self._next_s = float("-inf")
        self._last_seen_us = 0
        self._share: float | None = None
        self._failures = 0
        self.enabled = True
        self.note = ("NVML per-process SM utilisation of the tracked processes, refreshed "
                     f"every {interval_s:g} s; idle intervals split between the processes "
                     "holding a CUDA context")
        # Prime the timestamp so the first share covers only what happens from now on; a
        # GPU that cannot attribute is found out here.
        samples = self._query(lambda: nvml.nvmlDeviceGetProcessUtilization(handle, 0),
                              probing=True)
        if samples:
            self._last_seen_us = max(s.timeStamp for s in samples)

    def _disable(self, why: str) -> None:
        self.enabled = False
        self._share = None
        self.note = f"{why}: the whole device is counted"
        log.warning("wattprint: GPU attribution off (%s); the whole device is counted", why)

    def _query(self, call: Callable[[], Any], *, probing: bool = False) -> list[Any] | None:
        """The call's result as a list; ``[]`` for "no samples"; ``None`` when it failed."""
        nvml = self._nvml
        try:
            result = list(call())
        except nvml.NVMLError as err:
            name = _error_name(nvml, err)
            # No sample since the timestamp: NOT_FOUND (pynvml may also raise for SUCCESS).
            if name == "NVML_ERROR_NOT_FOUND" or err.value == getattr(nvml, "NVML_SUCCESS", 0):
                return []
            self._failures += 1
            if name in _NO_ATTRIBUTION:
                self._disable(f"not available on this GPU ({name})")
            elif probing or self._failures >= ATTRIBUTION_MAX_FAILURES:
                self._disable(f"turned off after NVML errors ({name}: {err})")
            else:
                log.warning("wattprint: GPU attribution query failed (%s: %s); keeping the "
                            "last share", name, err)
            return None
        self._failures = 0
        return result

    def share(self) -> float | None:
        if not self.enabled:
            return None
        now = self._clock()
        if now < self._next_s:
            return self._share
        self._next_s = now + self._interval_s
        nvml, handle = self._nvml, self._handle
        samples = self._query(
            lambda: nvml.nvmlDeviceGetProcessUtilization(handle, self._last_seen_us))
        if samples is None:
            return self._share
        tracked = self._pids()
        total = mine = 0.0
        for s in samples:
            self._last_seen_us = max(self._last_seen_us, s.timeStamp)
            total += s.smUtil
            if s.pid in tracked:
                mine += s.smUtil
        if total > 0.0:
            self._share = mine / total
            return self._share
        running = self._query(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle))
        if running is None:
            return self._share
        present = {p.pid for p in running}
        self._share = len(present & tracked) / len(present) if present else 0.0
        return self._share
