"""Sensorless RAM power model: memory in use × watts per GiB (Green Algorithms' 0.3725).

Power is proportional to the memory the tracked processes really hold (``mode="process"``:
resident set size of the process tree) or the machine uses (``mode="machine"``:
``psutil.virtual_memory().used``, which excludes page cache and buffers), not to the
installed DIMMs. Guessing DIMMs from the machine's total memory is what made RAM 86 % of a
2-vCPU VM's total in CodeCarbon: a small VM on a large host does not own the host's DIMMs,
and memory a process does not touch is not its electricity.

The factor 0.3725 W per GB is Green Algorithms' reference value (Lannelongue, Grealey and
Inouye, Adv. Sci. 2021; CC-BY-4.0), which cites Karyakin & Salem, "An analysis of memory
power consumption in database systems", DaMoN 2017 (doi:10.1145/3076113.3076117) and Tom's
Hardware's review of the Intel Core i7-5960X (Haswell-E, DDR4). It is applied **per GiB**
(2**30 bytes): the measurements are per DIMM, and DIMM capacities sold as "GB" are binary
(an "8 GB" DIMM holds 8 GiB); the difference from decimal GB is 7.4 %.

Limits: one DDR4-era figure for every memory generation and density, and for memory that
is idle (refresh) as for memory being read and written; RSS counts pages shared between
processes of the tree once per process, and misses memory the kernel holds for them (page
cache, GPU pinned buffers). Readings are power (``power_w``); the sampler integrates them.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

import psutil

from .._proctree import ProcessTree
from ..errors import SensorReadError, UsageError
from .base import Reading, Sensor, now_s

__all__ = ["RAMModelSensor", "W_PER_GIB", "GIB", "RAM_SOURCE"]

#: Bytes in a GiB: the unit the per-GB factor is applied to (see the module docstring).
GIB = 2**30
#: Green Algorithms reference value ``memoryPower`` (W per GB of memory).
W_PER_GIB = 0.3725
RAM_SOURCE = ("Green Algorithms reference value memoryPower = 0.3725 W/GB (Lannelongue et "
              "al., 2021), CC-BY-4.0, citing Karyakin & Salem, DaMoN 2017, "
              "doi:10.1145/3076113.3076117, and Tom's Hardware, Intel Core i7-5960X "
              "Haswell-E review (DDR4); applied per GiB")
#: Relative band (±50 %). No dataset here gives a spread to compute, so this is a
#: documented conservative figure: a single DDR4 reference value stands for all memory
#: generations, densities and access patterns (idle refresh vs active traffic).
UNCERTAINTY = 0.5

METHODS = {
    "process": "resident set size of the tracked process tree (GiB) × W per GiB",
    "machine": "memory used by the machine, psutil virtual_memory().used (GiB) × W per GiB",
}


class RAMModelSensor(Sensor):
    """Modelled RAM power of a process tree (``mode="process"``) or of the machine.

    ``w_per_gb`` overrides the reference factor (watts per GiB, see the module docstring)
    and is reported with source ``"user"``.
    """

    name = "ram-model"
    domain = "ram"
    kind = "modelled"
    interval_s = 1.0

    def __init__(self, tree: ProcessTree | None = None, *,
                 mode: Literal["process", "machine"] = "process",
                 w_per_gb: float | None = None) -> None:
        if mode not in METHODS:
            raise UsageError(f"mode must be 'process' or 'machine', got {mode!r}")
        if w_per_gb is not None and not w_per_gb >= 0:
            raise UsageError(f"w_per_gb must be a number of watts >= 0, got {w_per_gb!r}")
        self.mode = mode
        self.scope = "process" if mode == "process" else "device"
        self.w_per_gb = W_PER_GIB if w_per_gb is None else float(w_per_gb)
        self.source = RAM_SOURCE if w_per_gb is None else "user"
        self.device = "memory in use (modelled)"
        self._tree = (tree or ProcessTree()) if mode == "process" else None

    def memory_bytes(self) -> int:
        """The memory the model charges for: RSS of the tree, or the machine's used memory."""
        try:
            if self._tree is not None:
                return self._tree.rss_bytes()
            return int(psutil.virtual_memory().used)
        except psutil.AccessDenied as err:
            raise SensorReadError(f"cannot read memory use: {err}", source="ram-model",
                                  reason="permission") from err
        except (psutil.Error, OSError) as err:
            raise SensorReadError(f"cannot read memory use: {err}", source="ram-model",
                                  reason="invalid") from err

    def read(self) -> Reading:
        used = self.memory_bytes()
        return Reading(time_s=now_s(), power_w=used / GIB * self.w_per_gb)

    def provenance(self) -> Mapping[str, Any]:
        return {
            "kind": self.kind,
            "model": self.name,
            "method": METHODS[self.mode],
            "mode": self.mode,
            "coefficients": {"w_per_gb": {"value": self.w_per_gb, "unit": "W per GiB",
                                          "source": self.source}},
            "uncertainty": UNCERTAINTY,
            "uncertainty_basis": ("documented conservative figure: one DDR4 reference value "
                                  "for all memory generations, densities and access "
                                  "patterns; no spread computable from the reference data"),
        }
