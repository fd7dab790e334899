"""Two or more runs side by side (before/after pruning, fp16 vs int8, two GPUs): the
figures of each, and each run's difference from the first (the baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ._data import SCHEMA_VERSION, ReportData
from .._format import format_power
from ._fmt import fmt_hours, fmt_kwh, fmt_mass, fmt_num, md_cell

__all__ = ["Comparison", "compare_reports", "comparison_md"]


@dataclass
class Comparison:
    """``runs[0]`` is the baseline; ``rows`` hold one figure each: ``figure``, ``unit``,
    ``kind`` (energy | time | power | mass | per_unit | count), ``values`` (one per run,
    None where a run lacks it) and ``changes`` (relative to the baseline)."""

    runs: list[ReportData]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "comparison",
                "baseline": self.runs[0].run["id"], "rows": self.rows,
                "runs": [r.to_dict() for r in self.runs]}


def _change(base: float | None, value: float | None) -> float | None:
    if base is None or value is None or base == 0:
        return None
    return (value - base) / abs(base)


def compare_reports(reports: Sequence[ReportData]) -> Comparison:
    if len(reports) < 2:
        raise ValueError("a comparison needs at least two runs")
    runs = list(reports)
    rows: list[dict[str, Any]] = []

    def add(figure: str, unit: str, kind: str, values: list[float | None]) -> None:
        if all(v is None for v in values):
            return
        rows.append(dict(figure=figure, unit=unit, kind=kind, values=values,
                         changes=[_change(values[0], v) for v in values]))

    add("IT energy", "J", "energy", [r.energy["energy_j"] for r in runs])
    add("facility energy", "J", "energy", [r.energy["facility_energy_j"] for r in runs])
    add("duration", "s", "time", [r.run["duration_s"] for r in runs])
    add("mean power", "W", "power", [r.energy["mean_power_w"] for r in runs])
    add("peak power", "W", "power", [r.energy["peak_power_w"] for r in runs])
    add("CO2e, location-based", "gCO2e", "mass", [r.carbon["co2e_location_g"] for r in runs])
    add("CO2e, market-based", "gCO2e", "mass", [r.carbon["co2e_market_g"] for r in runs])
    units = sorted({k for r in runs for k in r.work["per_unit"]})
    for key in units:
        add(key, key, "per_unit", [r.work["per_unit"].get(key) for r in runs])
    counters = sorted({k for r in runs for k in r.work["counters"]})
    for unit in counters:
        add(unit, unit, "count", [r.work["counters"].get(unit) for r in runs])
    for domain in sorted({k for r in runs for k in r.energy["by_domain"]}):
        add(f"energy, {domain}", "J", "energy",
            [r.energy["by_domain"].get(domain) for r in runs])
    names: list[str] = []
    for r in runs:
        names += [p["name"] for p in r.phases if p["name"] not in names]
    for name in names:
        values = [next((p["energy_j"] for p in r.phases if p["name"] == name), None)
                  for r in runs]
        add(f"phase {name}", "J", "energy", values)
    return Comparison(runs, rows)


def format_value(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kind == "energy":
        return fmt_kwh(value)
    if kind == "time":
        return fmt_hours(value)
    if kind == "power":
        return format_power(value)
    if kind == "mass":
        return fmt_mass(value)
    return fmt_num(value)


def format_change(change: float | None) -> str:
    return "-" if change is None else f"{change:+.1%}"


def comparison_md(c: Comparison) -> str:
    runs = c.runs
    head = ["figure"] + [f"{md_cell(r.run['name'] or r.run['id'])} (`{r.run['id']}`)"
                         + (" — baseline" if i == 0 else "") for i, r in enumerate(runs)]
    lines = [f"### Comparison of {len(runs)} runs", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| basis | " + " | ".join(r.basis for r in runs) + " |")
    lines.append("| zone | " + " | ".join(r.carbon["zone_label"] for r in runs) + " |")
    for row in c.rows:
        cells = []
        for i, (v, ch) in enumerate(zip(row["values"], row["changes"])):
            text = format_value(row["kind"], v)
            if i and ch is not None:
                text += f" ({format_change(ch)})"
            cells.append(text)
        lines.append(f"| {row['figure']} | " + " | ".join(cells) + " |")
    lines += ["", "Changes are relative to the first run (the baseline)."]
    if any(r.basis in ("modelled", "mixed") for r in runs):
        lines.append("Modelled figures carry the model's uncertainty: small differences "
                     "between modelled runs may not be real.")
    return "\n".join(lines) + "\n"
