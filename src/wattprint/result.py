"""What a tracked run measured: energy per device, domain and phase, with provenance.

All energies are in joules (``*_j``), powers in watts (``*_w``), durations in seconds.
``energy_j`` of a run is the energy attributed to the tracked processes (process mode) or
of the whole machine (machine mode), summed over sensors that do not overlap. Every device
entry says whether it was ``measured`` or ``modelled``; a run that used any model carries
an uncertainty range.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable, Mapping

from ._format import format_duration, format_energy, format_number, format_power

__all__ = ["DeviceEnergy", "PhaseEnergy", "RunResult", "Totals", "aggregate", "basis_of",
           "uncertainty_of", "COUNTER_UNITS"]

#: Units ``Tracker.count()`` accepts; energy per unit is reported as ``j_per_<unit>``.
COUNTER_UNITS = ("tokens", "samples", "steps", "requests")


def _per_unit(energy_j: float, counters: Mapping[str, float]) -> dict[str, float]:
    """Energy per counted unit, ``{"j_per_token": …}``: the one rule for every per-unit
    figure. A unit whose quotient is not a finite number (a count so small that the
    division overflows) is left out rather than reported as infinity."""
    out = {}
    for unit, n in counters.items():
        if n > 0:
            value = energy_j / n
            if math.isfinite(value):
                out[f"j_per_{unit[:-1]}"] = value
    return out


def _unit_label(key: str) -> str:
    return "J/" + key.removeprefix("j_per_")


def uncertainty_of(provenance: Any) -> float:
    """The relative uncertainty a sensor's provenance declares (``{"uncertainty": 0.3}``,
    as a dict or its JSON text), clamped to [0, 1]; 0 when absent or unreadable."""
    if isinstance(provenance, (str, bytes)):
        import json  # only for provenance stored as text: `import wattprint` stays light

        try:
            provenance = json.loads(provenance or "{}")
        except ValueError:
            return 0.0
    if not isinstance(provenance, dict):
        return 0.0
    try:
        u = float(provenance.get("uncertainty") or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return min(max(u, 0.0), 1.0) if math.isfinite(u) else 0.0


def basis_of(kinds: Iterable[str]) -> str:
    """``measured``, ``modelled``, ``mixed`` or ``none``: what a total over sensors of
    these kinds rests on."""
    found = set(kinds)
    return found.pop() if len(found) == 1 else ("mixed" if found else "none")


@dataclass(frozen=True)
class Totals:
    """A run's totals over its counted devices (see :func:`aggregate`)."""

    energy_j: float
    energy_low_j: float
    energy_high_j: float
    by_domain: dict[str, float]
    basis: str  # measured | modelled | mixed | none
    measured_j: float  # the part of energy_j from measured (not modelled) sensors

    @property
    def measured_fraction(self) -> float:
        return self.measured_j / self.energy_j if self.energy_j > 0 else 0.0


def aggregate(devices: Iterable[Any]) -> Totals:
    """THE rule for a run's totals, used by the tracker, ledger recovery, reports and job
    merges: the sum of the devices that are ``counted`` (a sensor nested in another, such
    as RAPL core inside package, is not), the range from each device's own uncertainty
    (``provenance["uncertainty"]``), energy by domain and the basis. Devices are anything
    with ``counted``, ``kind``, ``domain``, ``energy_j`` and ``provenance`` (a
    :class:`DeviceEnergy`). Unknown, negative or non-finite energies count as 0."""
    total = low = high = measured = 0.0
    by_domain: dict[str, float] = {}
    kinds: list[str] = []
    for d in devices:
        if not d.counted:
            continue
        e = d.energy_j
        e = float(e) if isinstance(e, (int, float)) and math.isfinite(e) and e > 0 else 0.0
        u = uncertainty_of(d.provenance)
        kinds.append(d.kind)
        total += e
        low += e * (1 - u)
        high += e * (1 + u)
        if d.kind == "measured":
            measured += e
        by_domain[d.domain] = by_domain.get(d.domain, 0.0) + e
    return Totals(energy_j=total, energy_low_j=low, energy_high_j=high, by_domain=by_domain,
                  basis=basis_of(kinds), measured_j=measured)


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
    #: the ledger file it was recorded in (for its samples; not part of to_dict())
    ledger_path: str | None = field(default=None, repr=False, compare=False)
    cpu_s: float | None = None  # CPU seconds of the tracked process tree (process mode)
    end_reason: str | None = None  # why the run ended so, when wattprint stopped it
    #: CPU seconds of wattprint's own threads over the run (sampler, ledger writer,
    #: budget check; each measured with its thread's CPU clock): what measuring cost,
    #: included in a process-mode CPU figure.
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
        return aggregate(self.devices).measured_fraction

    @property
    def basis(self) -> str:
        """``measured``, ``modelled`` or ``mixed``: what the total rests on."""
        return basis_of(d.kind for d in self.devices if d.counted)

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
        del data["ledger_path"]  # where this machine keeps it: not part of the result
        data.update(mean_power_w=self.mean_power_w, energy_kwh=self.energy_kwh,
                    measured_fraction=self.measured_fraction, basis=self.basis,
                    per_unit=self.per_unit)
        for p, obj in zip(data["phases"], self.phases):
            p["per_unit"] = obj.per_unit
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        """The result :meth:`to_dict` (or ``dataclasses.asdict``) described; figures
        derived from the others (``mean_power_w``, ``basis``, ``per_unit``…) are ignored."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        dev_names = {f.name for f in fields(DeviceEnergy)}
        phase_names = {f.name for f in fields(PhaseEnergy)}
        kw["devices"] = [DeviceEnergy(**{k: v for k, v in d.items() if k in dev_names})
                         for d in data.get("devices", [])]
        kw["phases"] = [PhaseEnergy(**{k: v for k, v in p.items() if k in phase_names})
                        for p in data.get("phases", [])]
        return cls(**kw)

    # -- notebooks and DataFrames (wattprint.notebook, wattprint.frames) -----------------
    def _repr_html_(self) -> str:
        """The summary card Jupyter shows: figures, phases, devices, a power chart."""
        from .notebook import result_html

        return result_html(self)

    def phases_frame(self, library: str = "pandas") -> Any:
        """One row per phase, as a pandas (or ``library="polars"``) DataFrame."""
        from .frames import PHASE_COLUMNS, frame, phase_rows

        return frame(phase_rows(self.phases, self.run_id), ("run_id", *PHASE_COLUMNS),
                     library)

    def samples_frame(self, library: str = "pandas", *, every_s: float | None = None,
                      ledger: Any = None) -> Any:
        """The run's samples (``t_s``, device, ``power_w``, cumulative ``energy_j``) from
        the ledger it was recorded in (``ledger``: a path, when not this process's), as a
        pandas (or ``library="polars"``) DataFrame; ``every_s`` downsamples."""
        from .errors import UsageError
        from .frames import SAMPLE_COLUMNS, frame, sample_rows

        path = ledger if ledger is not None else self.ledger_path
        if not self.run_id or path is None:
            raise UsageError("samples_frame(): this run was not recorded in a ledger, and "
                             "its samples are kept only there; track it with ledger=True "
                             "(or pass ledger=PATH)")
        return frame(sample_rows(str(path), self.run_id, every_s=every_s), SAMPLE_COLUMNS,
                     library)

    def summary(self) -> str:
        """A plain-text table for terminals and logs."""
        lines = [
            f"wattprint run{' ' + repr(self.name) if self.name else ''}: "
            f"{format_energy(self.energy_j, digits=4)} in {format_duration(self.duration_s)}, "
            f"mean {format_power(self.mean_power_w)}, peak {format_power(self.peak_power_w)} "
            f"[{self.basis}]",
        ]
        if self.basis in ("modelled", "mixed"):
            lines.append(f"  range {format_energy(self.energy_low_j)} to "
                         f"{format_energy(self.energy_high_j)} "
                         "(modelled figures carry the model's uncertainty)")
        lines.append(f"  {'device':<16} {'domain':<7} {'kind':<9} {'energy':>11} "
                     f"{'mean power':>11}")
        for d in self.devices:
            note = "" if d.counted else "  (nested, not summed)"
            lines.append(f"  {d.name:<16} {d.domain:<7} {d.kind:<9} "
                         f"{format_energy(d.energy_j, digits=4):>11} "
                         f"{format_power(d.mean_power_w):>11}{note}")
        for p in self.phases:
            units = "".join(f", {format_number(v, digits=4)} {_unit_label(k)}"
                            for k, v in p.per_unit.items())
            lines.append(f"  phase {p.name}: {format_energy(p.energy_j, digits=4)} in "
                         f"{format_duration(p.duration_s)} ({p.entries}x){units}")
        for k, v in self.per_unit.items():
            lines.append(f"  {_unit_label(k)}: {format_number(v, digits=4)}")
        if self.end_reason:
            lines.append(f"  {self.status}: {self.end_reason}")
        if self.overhead_cpu_s is not None and self.duration_s > 0:
            lines.append(f"  wattprint's own threads: {self.overhead_cpu_s * 1e3:,.1f} ms CPU "
                         f"({100 * self.overhead_cpu_s / self.duration_s:.3f} % of one core), "
                         "measured")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.run_id:
            lines.append(f"  run id: {self.run_id}  (wattprint show {self.run_id})")
        return "\n".join(lines)
