"""What a benchmark reports per configuration, and how it is printed: every figure with
its unit, basis (measured / modelled / counted / timed / estimated) and the spread of its
repetitions. The same dictionaries are stored in the run's settings (``settings["bench"]``)
so ``wattprint compare`` and the reports read them back from the ledger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from .._format import format_number
from ._stats import Spread

__all__ = ["Figure", "DevicePower", "ConfigResult", "BenchResult", "FIGURES", "figure_table",
           "device_power_rows"]

#: (key, label, unit) of the per-configuration figures, in the order they are printed.
FIGURES = (
    ("j_per_request", "J/request", "J"),
    ("j_per_output_token", "J/output token", "J"),
    ("wh_per_1k_requests", "energy per 1,000 requests", "Wh"),
    ("tokens_per_s", "output tokens/s", "tokens/s"),
    ("requests_per_s", "requests/s", "requests/s"),
    ("latency_p50_s", "latency p50", "s"),
    ("latency_p95_s", "latency p95", "s"),
    ("mean_power_w", "mean power", "W"),
    ("idle_power_w", "idle power (phase idle, --idle-s)", "W"),
)


@dataclass
class Figure:
    """One figure: the mean over repetitions, its unit, its basis and its spread."""

    value: float | None
    unit: str
    basis: str
    spread: Spread | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "basis": self.basis,
                "spread": self.spread.to_dict() if self.spread else None}

    @staticmethod
    def of(values: Sequence[float], unit: str, basis: str) -> "Figure":
        from ._stats import spread_of

        good = [v for v in values if v is not None and math.isfinite(v) and v >= 0]
        if not good:
            return Figure(None, unit, basis)
        s = spread_of(good)
        return Figure(s.mean, unit, basis, s)


@dataclass
class DevicePower:
    """Mean power of one device over the measured repetitions: ``name`` as the run's
    devices are named (``nvml:0``, ``rapl:package-0``, ``cpu-model``…), ``device`` its
    description (a GPU's model, index and UUID), ``domain`` (gpu / cpu / ram) and the
    figure, whose basis is the sensor's own (measured or modelled)."""

    name: str
    device: str
    domain: str
    power: Figure

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "domain": self.domain, **self.power.to_dict()}


@dataclass
class ConfigResult:
    """One configuration (model × precision × batch size): its figures, the estimator's
    prediction beside them, the rating, and the run that recorded it."""

    model: str
    task: str
    engine: str
    precision: str
    batch_size: int
    run_id: str | None
    requests: int  # measured requests over all repetitions
    output_tokens: int  # generated tokens counted over all repetitions
    prompt_tokens: int
    repeat: int
    warmup: dict[str, Any]
    figures: dict[str, Figure]
    power_by_domain_w: dict[str, float]  # the devices' mean powers summed by domain
    power_by_device_w: dict[str, DevicePower]  # by device name (``nvml:0``…)
    energy_basis: str
    prediction: dict[str, Any]
    rating: dict[str, Any] | None
    overhead: dict[str, float]
    notes: list[str] = field(default_factory=list)
    #: the dtype(s) of the model's floating-point weights during the measured passes
    #: (``float32``, ``bfloat16``…; None when the engine loads the model itself)
    dtype: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bench", "model": self.model, "task": self.task,
                "engine": self.engine, "precision": self.precision, "dtype": self.dtype,
                "batch_size": self.batch_size, "run_id": self.run_id,
                "requests": self.requests, "output_tokens": self.output_tokens,
                "prompt_tokens": self.prompt_tokens, "repeat": self.repeat,
                "warmup": self.warmup,
                "figures": {k: f.to_dict() for k, f in self.figures.items()},
                "power_by_domain_w": self.power_by_domain_w,
                "power_by_device_w": {k: d.to_dict()
                                      for k, d in self.power_by_device_w.items()},
                "energy_basis": self.energy_basis, "prediction": self.prediction,
                "rating": self.rating, "overhead": self.overhead, "notes": list(self.notes)}

    def value(self, key: str) -> float | None:
        f = self.figures.get(key)
        return f.value if f else None


@dataclass
class BenchResult:
    """Every configuration of one ``bench`` call (one ledger run each, tagged with the
    session id)."""

    session: str
    configs: list[ConfigResult]
    duration_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def overhead_fraction(self) -> float:
        """What measuring cost the benchmark while it ran: CPU time of the benchmark's
        thread inside wattprint's calls at phase boundaries and counts, plus the CPU
        time of wattprint's own threads, over
        the benchmark's time (warm-up and measured phases of every configuration). Run
        start and stop (sensor detection, ledger) happen outside those windows and are
        reported apart (``overhead["setup_s"]``)."""
        spent = sum(c.overhead["boundary_s"] + c.overhead["sampler_cpu_s"]
                    for c in self.configs)
        total = sum(c.overhead["bench_s"] for c in self.configs)
        return spent / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bench", "session": self.session, "duration_s": self.duration_s,
                "overhead_fraction": self.overhead_fraction,
                "configs": [c.to_dict() for c in self.configs], "notes": list(self.notes)}

    def config(self, batch_size: int, precision: str | None = None) -> ConfigResult:
        for c in self.configs:
            if c.batch_size == batch_size and precision in (None, c.precision):
                return c
        raise KeyError(f"no configuration with batch size {batch_size}")

    def summary(self) -> str:
        return figure_table([c.to_dict() for c in self.configs]) + (
            "".join(f"\nnote: {n}" for n in self.notes))


def _cell(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return "-"
    text = format_number(fig["value"])
    spread = fig.get("spread") or {}
    if spread.get("n", 0) > 1 and fig["value"]:
        text += f" ±{spread['relative_spread'] / 2:.0%}"
    return text


def device_power_rows(configs: Sequence[dict[str, Any]]
                      ) -> list[tuple[str, str, list[dict[str, Any] | None]]]:
    """Mean power per device of stored configurations, one row per device name found in
    any of them: (label, basis, the figure of each configuration or None). The one rule
    for the rows of the text table, ``wattprint compare`` and the HTML report."""
    names: dict[str, dict[str, Any]] = {}
    for c in configs:
        for name, d in (c.get("power_by_device_w") or {}).items():
            names.setdefault(name, d)
    rows = []
    for name, first in names.items():
        figs = [(c.get("power_by_device_w") or {}).get(name) for c in configs]
        basis = "/".join(sorted({f["basis"] for f in figs if f}))
        rows.append((f"mean power {first.get('domain', '?')} {name}", basis, figs))
    return rows


def figure_table(configs: Sequence[dict[str, Any]]) -> str:
    """Configurations side by side (one column each), from their stored dictionaries:
    every figure with its basis, the spread of the repetitions (± half the relative
    range), the estimator's prediction and the gap."""
    from ..cli._common import table

    header = ("figure", "basis", *(f"{c['precision']} b{c['batch_size']}" for c in configs))
    rows = []
    for key, label, unit in FIGURES:
        figs = [c["figures"].get(key) for c in configs]
        if all(not f or f.get("value") is None for f in figs):
            continue
        bases = sorted({f["basis"] for f in figs if f})
        rows.append((f"{label} ({unit})", "/".join(bases), *(_cell(f) for f in figs)))
        if key == "mean_power_w":
            rows += [(f"  {label} (W)", basis, *(_cell(f) for f in figs))
                     for label, basis, figs in device_power_rows(configs)]
    rows.append(("predicted J/output token", "estimated",
                 *(format_number(c["prediction"]["j_per_output_token"])
                   if c["prediction"].get("j_per_output_token") is not None else "-"
                   for c in configs)))
    rows.append(("gap measured vs predicted", "",
                 *(f"{c['prediction']['gap']:+.0%}" if c["prediction"].get("gap") is not None
                   else "-" for c in configs)))
    rows.append(("steady state", "", *("yes" if c["warmup"].get("steady") else "NOT reached"
                                       for c in configs)))
    rows.append(("run", "", *((c.get("run_id") or "-") for c in configs)))
    if any(c.get("rating") for c in configs):
        rows.append(("rating", "indicative" if not all(
            (c.get("rating") or {}).get("comparable") for c in configs) else "",
            *(f"{c['rating']['stars']}/5" if c.get("rating") else "-" for c in configs)))
    return "\n".join(table(header, rows, right=tuple(range(2, 2 + len(configs)))))
