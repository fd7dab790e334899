"""What a tracked run measured: energy per device, domain and phase, with provenance.

All energies are in joules (``*_j``), powers in watts (``*_w``), durations in seconds.
``energy_j`` of a run is the energy attributed to the tracked processes (process mode) or
of the whole machine (machine mode), summed over sensors that do not overlap. Every device
entry says whether it was ``measured`` or ``modelled``; a run that used any model carries
an uncertainty range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DeviceEnergy", "PhaseEnergy", "RunResult", "COUNTER_UNITS"]

#: Units ``Tracker.count()`` accepts; energy per unit is reported as ``j_per_<unit>``.
COUNTER_UNITS = ("tokens", "samples", "steps", "requests")


def _per_unit(energy_j: float, counters: dict[str, float]) -> dict[str, float]:
    return {f"j_per_{unit[:-1]}": energy_j / n for unit, n in counters.items() if n > 0}


def _unit_label(key: str) -> str:
    return "J/" + key.removeprefix("j_per_")


@dataclass
class DeviceEnergy:
    name: str
    domain: str
    kind: str  # measured | modelled
    device: str
    energy_j: float  # attributed to the tracked processes (all of it in machine mode)
    device_energy_j: float  # the whole device over the run
    mean_power_w: float
    peak_power_w: float
    samples: int
    counted: bool  # False when nested in another sensor (RAPL core inside package)
    bridged_j: float = 0.0  # energy interpolated across read failures
    gaps: list[list[float | None]] = field(default_factory=list)  # [start, end] s from run start
    errors: int = 0
    last_error: str | None = None
    replaced_by: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class PhaseEnergy:
    name: str  # path of nested phases: "train/eval"
    energy_j: float
    duration_s: float
    entries: int
    by_domain: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)

    @property
    def per_unit(self) -> dict[str, float]:
        return _per_unit(self.energy_j, self.counters)


@dataclass
class RunResult:
    name: str | None
    mode: str  # process | machine
    started_at: str  # ISO 8601, UTC
    duration_s: float
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    by_domain: dict[str, float]
    devices: list[DeviceEnergy]
    phases: list[PhaseEnergy]
    counters: dict[str, float]
    peak_power_w: float
    status: str = "finished"  # finished | failed | interrupted (signal) | stopped (budget)
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None  # the run's id in the ledger, when it was recorded
    cpu_s: float | None = None  # CPU seconds of the tracked process tree (process mode)
    end_reason: str | None = None  # why the run ended so, when wattprint stopped it
    #: CPU seconds of wattprint's own sampler thread over the run (measured with the
    #: thread's CPU clock): what measuring cost, included in a process-mode CPU figure.
    overhead_cpu_s: float | None = None

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / 3.6e6

    @property
    def measured_fraction(self) -> float:
        """Share of the run's energy that comes from measured (not modelled) sensors."""
        measured = sum(d.energy_j for d in self.devices if d.counted and d.kind == "measured")
        return measured / self.energy_j if self.energy_j > 0 else 0.0

    @property
    def basis(self) -> str:
        """``measured``, ``modelled`` or ``mixed``: what the total rests on."""
        kinds = {d.kind for d in self.devices if d.counted}
        return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "none")

    @property
    def per_unit(self) -> dict[str, float]:
        """Energy per counted unit: ``{"j_per_token": …, "j_per_sample": …}``."""
        return _per_unit(self.energy_j, self.counters)

    def phase(self, name: str) -> PhaseEnergy:
        for p in self.phases:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.phases) or "none"
        raise KeyError(f"no phase named {name!r} in this run; phases: {known}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(mean_power_w=self.mean_power_w, energy_kwh=self.energy_kwh,
                    measured_fraction=self.measured_fraction, basis=self.basis,
                    per_unit=self.per_unit)
        for p, obj in zip(data["phases"], self.phases):
            p["per_unit"] = obj.per_unit
        return data

    def summary(self) -> str:
        """A plain-text table for terminals and logs."""
        lines = [
            f"wattprint run{' ' + repr(self.name) if self.name else ''}: "
            f"{self.energy_j:,.1f} J ({self.energy_j / 3600:,.4f} Wh) in {self.duration_s:,.2f} s, "
            f"mean {self.mean_power_w:,.1f} W, peak {self.peak_power_w:,.1f} W [{self.basis}]",
        ]
        if self.basis in ("modelled", "mixed"):
            lines.append(f"  range {self.energy_low_j:,.1f}-{self.energy_high_j:,.1f} J "
                         "(modelled figures carry the model's uncertainty)")
        lines.append(f"  {'device':<16} {'domain':<7} {'kind':<9} {'energy J':>12} {'mean W':>9}")
        for d in self.devices:
            note = "" if d.counted else "  (nested, not summed)"
            lines.append(f"  {d.name:<16} {d.domain:<7} {d.kind:<9} {d.energy_j:>12,.1f} "
                         f"{d.mean_power_w:>9,.2f}{note}")
        for p in self.phases:
            units = "".join(f", {v:,.4g} {_unit_label(k)}" for k, v in p.per_unit.items())
            lines.append(f"  phase {p.name}: {p.energy_j:,.1f} J in {p.duration_s:,.2f} s"
                         f" ({p.entries}x){units}")
        for k, v in self.per_unit.items():
            lines.append(f"  {_unit_label(k)}: {v:,.4g}")
        if self.end_reason:
            lines.append(f"  {self.status}: {self.end_reason}")
        if self.overhead_cpu_s is not None and self.duration_s > 0:
            lines.append(f"  wattprint's own sampling: {self.overhead_cpu_s * 1e3:,.1f} ms CPU "
                         f"({100 * self.overhead_cpu_s / self.duration_s:.3f} % of one core), "
                         "measured")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.run_id:
            lines.append(f"  run id: {self.run_id}  (wattprint show {self.run_id})")
        return "\n".join(lines)
