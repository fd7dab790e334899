"""Sensorless CPU power model: CPU time × per-vCPU watts from SPECpower-derived coefficients.

Where a machine has no power sensor (a cloud VM: no RAPL), CPU energy is *modelled* from
how busy the CPUs are and how many watts a busy and an idle vCPU draw. The per-vCPU
coefficients come, in this order, from:

1. **microarchitecture** — the CPU model name (``/proc/cpuinfo``) is mapped by a small
   rule table (:data:`ARCH_RULES`) to a microarchitecture of the Cloud Carbon Footprint
   (CCF) coefficient tables, which give min (idle) and max watts per vCPU derived from
   SPECpower_ssj2008 results. Where an architecture is listed by more than one provider
   table (aws, azure, gcp) the shipped value is the arithmetic mean of the providers'
   values: the tables describe the same silicon and differ only by the vendor's results
   CCF averaged, so no provider is preferred. One row (EPYC 5th Gen, 8.96 W max) disagrees
   more than 2× with the SPECpower results it should summarise and ships re-derived from
   them (``tools/build_data.py``; the source says so).
2. **tdp_exact / tdp_fuzzy** — a TDP looked up by normalised model name (CodeCarbon and
   Green Algorithms TDP lists): max W per vCPU = TDP / logical CPUs of one package, min =
   max × the mean min/max ratio of the CCF architectures (computed from the shipped table,
   not a constant). Logical CPUs per package, in order: ``siblings`` in ``/proc/cpuinfo``
   on bare metal (exact); the SPECpower topology of that CPU (cores per chip × threads
   per core); the table's core count × the threads per core ``/proc/cpuinfo`` shows. In a
   VM with none of these the TDP cannot be shared out and the default is used.
3. **family_average** — a name that names a family but no model (the bare ``AMD EPYC`` of
   many VMs, GCP's ``Intel(R) Xeon(R) CPU @ 2.20GHz``) gets the mean of that family's
   architectures, reported as such.
4. **default** — the mean of all CCF architectures, flagged as a default.

Methods (see :data:`METHODS`): in ``process`` mode a busy vCPU-second of the tracked
process tree costs the per-vCPU *max* draw and the idle baseline of vCPUs the process does
not use is not attributed to it; in ``machine`` mode every vCPU draws min + utilisation ×
(max − min), CCF's formula. Both return cumulative joules, so slow reads lose nothing.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Literal, Mapping

import psutil

from .._proctree import ProcessTree, logical_cpu_count, machine_busy_cpu_s
from ..errors import SensorReadError, UsageError
from .base import Reading, Sensor, now_s

__all__ = [
    "CPUModelSensor",
    "CPUCoefficients",
    "cpu_model_info",
    "match_cpu",
    "microarchitecture_of",
    "normalise_cpu_name",
    "read_cpuinfo",
    "ARCH_RULES",
    "MATCH_METHODS",
    "METHODS",
]

from ._cpu_match import (ARCH_RULES, MATCH_METHODS, METHODS,  # noqa: F401 - re-exported
                         SPECPOWER_SOURCE, CPUCoefficients, CPUInfo, cpu_model_info,
                         match_cpu, microarchitecture_of, normalise_cpu_name, read_cpuinfo)


# --- sensor ----------------------------------------------------------------------------------

class CPUModelSensor(Sensor):
    """Modelled CPU energy of a process tree (``mode="process"``) or the machine.

    Cumulative: ``read()`` returns joules since the sensor was created, monotone. Explicit
    ``min_w_per_vcpu``/``max_w_per_vcpu`` override the looked-up coefficients and are
    reported with source ``"user"``.
    """

    name = "cpu-model"
    domain = "cpu"
    kind = "modelled"
    interval_s = 1.0

    def __init__(self, tree: ProcessTree | None = None, *,
                 mode: Literal["process", "machine"] = "process",
                 cpuinfo_path: str = "/proc/cpuinfo", min_w_per_vcpu: float | None = None,
                 max_w_per_vcpu: float | None = None) -> None:
        if mode not in METHODS:
            raise UsageError(f"mode must be 'process' or 'machine', got {mode!r}")
        for label, value in (("min_w_per_vcpu", min_w_per_vcpu),
                             ("max_w_per_vcpu", max_w_per_vcpu)):
            if value is not None and not value >= 0:
                raise UsageError(f"{label} must be a number of watts >= 0, got {value!r}")
        coeffs = cpu_model_info(cpuinfo_path)
        if min_w_per_vcpu is not None:
            coeffs = replace(coeffs, min_w_per_vcpu=float(min_w_per_vcpu), source_min="user")
        if max_w_per_vcpu is not None:
            coeffs = replace(coeffs, max_w_per_vcpu=float(max_w_per_vcpu), source_max="user")
        if coeffs.min_w_per_vcpu > coeffs.max_w_per_vcpu:
            raise UsageError(f"min_w_per_vcpu ({coeffs.min_w_per_vcpu:g} W) is above "
                             f"max_w_per_vcpu ({coeffs.max_w_per_vcpu:g} W); pass both")
        self.mode = mode
        self.scope = "process" if mode == "process" else "device"
        self.coefficients = coeffs
        self.n_vcpu = logical_cpu_count()
        self.device = f"{coeffs.cpu_name or 'unknown CPU'} ({self.n_vcpu} vCPU, modelled)"
        self._tree = (tree or ProcessTree()) if mode == "process" else None
        self._lock = threading.Lock()
        self._energy_j = 0.0
        self._last_t = now_s()
        self._last_cpu_s = self._cpu_s()

    def _cpu_s(self) -> float:
        try:
            if self._tree is not None:
                return self._tree.cpu_s()
            return machine_busy_cpu_s()
        except psutil.AccessDenied as err:
            raise SensorReadError(f"cannot read CPU times: {err}", source="cpu-model",
                                  reason="permission") from err
        except (psutil.Error, OSError) as err:
            raise SensorReadError(f"cannot read CPU times: {err}", source="cpu-model",
                                  reason="invalid") from err

    def read(self) -> Reading:
        with self._lock:
            t, cpu_s = now_s(), self._cpu_s()
            dt = max(t - self._last_t, 0.0)
            busy_s = max(cpu_s - self._last_cpu_s, 0.0)
            c = self.coefficients
            if self._tree is not None:
                self._energy_j += busy_s * c.max_w_per_vcpu
            else:
                busy_s = min(busy_s, self.n_vcpu * dt)  # tick rounding can overshoot
                self._energy_j += (self.n_vcpu * c.min_w_per_vcpu * dt
                                   + (c.max_w_per_vcpu - c.min_w_per_vcpu) * busy_s)
            self._last_t, self._last_cpu_s = t, max(cpu_s, self._last_cpu_s)
            return Reading(time_s=t, energy_j=self._energy_j)

    def provenance(self) -> Mapping[str, Any]:
        c = self.coefficients
        return {
            "kind": self.kind,
            "model": self.name,
            "method": METHODS[self.mode],
            "mode": self.mode,
            "cpu_name": c.cpu_name,
            "matched_name": c.matched_name,
            "match_method": c.match_method,
            "architecture": c.architecture,
            "n_vcpu": self.n_vcpu,
            "coefficients": {
                "min_w_per_vcpu": {"value": c.min_w_per_vcpu, "source": c.source_min},
                "max_w_per_vcpu": {"value": c.max_w_per_vcpu, "source": c.source_max},
            },
            "tdp_w": c.tdp_w,
            "threads_per_package": c.threads_per_package,
            "uncertainty": c.uncertainty,
            "uncertainty_basis": UNCERTAINTY_BASIS,
            "uncertainty_source": SPECPOWER_SOURCE,
            "note": c.note,
        }


#: Why the uncertainty band is what it is (see tools/build_data.py for the computations).
UNCERTAINTY_BASIS = (
    "Relative band from SPECpower_ssj2008 results: microarchitecture = half the 10-90 % "
    "range of W per thread at 100 % load over the median, across the servers of that "
    "architecture (0.12-0.53; the median band where fewer than 8 results); TDP = the same "
    "spread of SPECpower W per thread over TDP per thread; family average and default = "
    "between-architecture spread and mean within-architecture band in quadrature. Not "
    "included: workload dependence (SPECpower runs a Java server workload; AVX-heavy code "
    "draws more), turbo and SMT effects, and VM overhead.")
