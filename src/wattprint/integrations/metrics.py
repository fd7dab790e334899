"""The energy metrics every integration logs, under one set of names.

The same keys go to Lightning's loggers, the Hugging Face ``state.log_history``, MLflow and
Weights & Biases (docs/integrations.md lists them):

=================================  ============================================================
``energy/total_j``                 energy of the run so far (attributed to the tracked processes)
``energy/low_j``, ``energy/high_j``  the range when any figure is modelled (final record only)
``energy/<domain>_j``              per domain: ``cpu_j``, ``gpu_j``, ``dram_j``, ``ram_j`` (final)
``energy/j_per_<unit>``            run energy per sample / token / step / request
``energy/step_j``                  energy of one training step, over the steps since the
                                   previous log (live only)
``energy/<phase>/total_j``         energy of a phase (train, validation, test, prefill…)
``energy/<phase>/j_per_<unit>``    a phase's energy per sample / token / step / request
``count/<unit>``                   samples, tokens, steps, requests counted in the run
``count/<phase>/<unit>``           the same, per phase
``power/mean_w``                   mean power of the run so far
``power/w``                        mean power since the previous log (live only; the
                                   last estimate when no sampler update came in)
``power/carried``                  1 when ``power/w`` is that carried estimate, else 0
``power/peak_w``                   peak power (final record only)
``carbon/co2e_g``                  location-based CO2e, facility energy × grid intensity
``carbon/intensity_g_per_kwh``     the grid intensity used (zone and source in the report)
``forecast/energy_j``              forecast energy of the run at completion (central; live
                                   only, when the total work is known)
``forecast/energy_low_j``,         its interval
``forecast/energy_high_j``
``forecast/remaining_s``           forecast time left (central)
``forecast/progress``              share of the work done, 0..1
=================================  ============================================================

Pure functions over numbers and :class:`~wattprint.result.RunResult`: no I/O, no imports of
any framework.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..result import COUNTER_UNITS, RunResult, _per_unit

__all__ = ["run_metrics", "phase_metrics", "per_unit", "forecast_metrics", "PREFIXES"]

#: Top-level namespaces of the metric names (W&B shows each as a section).
PREFIXES = ("energy", "power", "count", "carbon", "forecast")


def per_unit(energy_j: float, counters: Mapping[str, float]) -> dict[str, float]:
    """``{"j_per_sample": …}`` for each known counted unit with a positive count (the
    rule is :func:`wattprint.result._per_unit`)."""
    return _per_unit(energy_j, {u: n for u, n in counters.items() if u in COUNTER_UNITS})


def phase_metrics(phase: str, energy_j: float, counters: Mapping[str, float]) -> dict[str, float]:
    """``energy/<phase>/total_j``, ``energy/<phase>/j_per_<unit>`` and
    ``count/<phase>/<unit>`` of one phase."""
    out = {f"energy/{phase}/total_j": float(energy_j)}
    out.update({f"energy/{phase}/{k}": v for k, v in per_unit(energy_j, counters).items()})
    out.update({f"count/{phase}/{u}": float(n) for u, n in counters.items() if n > 0})
    return out


def run_metrics(result: RunResult, accounting: Any = None) -> dict[str, float]:
    """The final record of a finished run (and its carbon, when ``accounting`` — a
    :class:`wattprint.accounting.Accounting` — is given)."""
    out: dict[str, float] = {
        "energy/total_j": result.energy_j,
        "power/mean_w": result.mean_power_w,
        "power/peak_w": result.peak_power_w,
    }
    if result.basis in ("modelled", "mixed"):
        out["energy/low_j"] = result.energy_low_j
        out["energy/high_j"] = result.energy_high_j
    for domain, energy_j in result.by_domain.items():
        out[f"energy/{domain}_j"] = energy_j
    out.update({f"energy/{k}": v for k, v in per_unit(result.energy_j, result.counters).items()})
    out.update({f"count/{u}": float(n) for u, n in result.counters.items() if n > 0})
    for p in result.phases:
        if p.entries:
            out.update(phase_metrics(p.name, p.energy_j, p.counters))
    if accounting is not None:
        out["carbon/co2e_g"] = accounting.co2e_location_g.value
        out["carbon/intensity_g_per_kwh"] = accounting.intensity_location.value
    return out


def forecast_metrics(forecast: Any) -> dict[str, float]:
    """``forecast/…`` of a :class:`wattprint.forecast.Forecast` ({} for None): energy at
    completion (central, low, high), seconds left (central) and progress (0..1)."""
    if forecast is None:
        return {}
    return {"forecast/energy_j": float(forecast.energy_j.central),
            "forecast/energy_low_j": float(forecast.energy_j.low),
            "forecast/energy_high_j": float(forecast.energy_j.high),
            "forecast/remaining_s": float(forecast.remaining_s.central),
            "forecast/progress": float(forecast.progress)}
