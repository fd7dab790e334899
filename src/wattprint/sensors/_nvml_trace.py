"""The power trace an NVIDIA driver keeps for each GPU: ``nvmlDeviceGetSamples(handle,
NVML_TOTAL_POWER_SAMPLES, lastSeenTimeStamp)`` returns the power samples (mW) taken since
a timestamp, from a buffer of a few seconds. One call a second gives the trace at the
driver's own resolution, so the GPU's energy counter can be read once a second (the
counter gives the energy, the trace when it was spent) instead of ten times.

Timestamps are the CPU's wall clock in microseconds; they are moved onto the sensors'
clock (``time.monotonic``) with the offset between the two clocks at each fetch. The
trace never fails a reading: no new sample is an empty trace, and repeated errors turn
the trace off (energy stays exact, from the counter; the trace then has one point per
counter read).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ._nvml_errors import _error_name

__all__ = ["PowerTrace", "TRACE_MAX_FAILURES"]

log = logging.getLogger("wattprint")

#: Errors in a row after which a GPU's trace is turned off.
TRACE_MAX_FAILURES = 3
#: ``nvmlValueType_t`` -> the member of the sample's value union that holds it.
_VALUE_FIELDS = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal",
                 6: "usVal"}


class PowerTrace:
    """``trace()`` -> ``[(time_s, power_w), …]`` taken since the previous call (see the
    module doc). Made by :meth:`open`, which returns None where the GPU has no trace."""

    def __init__(self, nvml: Any, handle: Any, clock: Callable[[], float],
                 wall_clock: Callable[[], float], last_seen_us: int) -> None:
        self._nvml = nvml
        self._handle = handle
        self._get = nvml.nvmlDeviceGetSamples
        self._kind = getattr(nvml, "NVML_TOTAL_POWER_SAMPLES", 0)
        self._clock = clock
        self._wall_clock = wall_clock
        self._last_seen_us = last_seen_us
        self._failures = 0
        self.enabled = True

    @classmethod
    def open(cls, nvml: Any, handle: Any, clock: Callable[[], float],
             wall_clock: Callable[[], float]) -> "PowerTrace | None":
        """The GPU's trace, primed so that it starts now; None when NVML cannot sample
        this GPU's power (old binding, NOT_SUPPORTED, any error while probing)."""
        get = getattr(nvml, "nvmlDeviceGetSamples", None)
        if get is None:
            return None
        try:
            _, samples = get(handle, getattr(nvml, "NVML_TOTAL_POWER_SAMPLES", 0), 0)
            last = max((s.timeStamp for s in samples), default=None)
        except nvml.NVMLError as err:
            if not cls._empty(nvml, err):
                return None
            last = None
        if last is None:
            last = int(wall_clock() * 1e6)
        return cls(nvml, handle, clock, wall_clock, int(last))

    @staticmethod
    def _empty(nvml: Any, err: Any) -> bool:
        # No sample since the timestamp: NOT_FOUND (pynvml may also raise for SUCCESS).
        return (_error_name(nvml, err) == "NVML_ERROR_NOT_FOUND"
                or getattr(err, "value", None) == getattr(nvml, "NVML_SUCCESS", 0))

    def __call__(self) -> list[tuple[float, float]]:
        if not self.enabled:
            return []
        nvml = self._nvml
        try:
            value_type, samples = self._get(self._handle, self._kind, self._last_seen_us)
        except nvml.NVMLError as err:
            if self._empty(nvml, err):
                return []
            self._failures += 1
            if self._failures >= TRACE_MAX_FAILURES:
                self.enabled = False
                log.warning("wattprint: GPU power trace off after NVML errors (%s: %s); "
                            "energy stays exact (the counter), the trace keeps one point "
                            "per counter read", _error_name(nvml, err), err)
            return []
        self._failures = 0
        offset_s = self._wall_clock() - self._clock()
        field = _VALUE_FIELDS.get(value_type, "uiVal")
        last = self._last_seen_us
        out = []
        for s in samples:
            stamp = s.timeStamp
            if stamp > last:
                last = stamp
            out.append((stamp / 1e6 - offset_s, getattr(s.sampleValue, field) / 1000.0))
        self._last_seen_us = last
        return out
