"""Fleet projection: requests per day × energy per request × PUE → MWh per year, CO2e,
water and household equivalents, over years under growth scenarios.

    from wattprint.estimate import estimate_inference, project_fleet
    per_request = estimate_inference(params="70B", accelerator="H100", batch_size=64)
    fleet = project_fleet(requests_per_day="100M", per_request=per_request, zone="US")
    fleet.summary()

The energy per request is IT energy (accelerators with their host share); the facility
overhead (PUE) and the grid come from :mod:`wattprint.accounting`. Default scenarios: flat;
the IEA's base-case pace for data-centre electricity (~15 %/yr, 2024–2030); the IEA's pace
for accelerated servers (~30 %/yr) — IEA (2025), "Energy and AI".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .. import inputs
from ..errors import UsageError
from .._format import format_number
from ..units import J_PER_KWH, J_PER_WH, format_count, format_energy, parse_energy
from ._result import (PROVENANCE, Assumption, Range, footprint, fmt_range, fmt_range_energy,
                      fmt_range_mass, fmt_range_water)
from .inference import InferenceEstimate

__all__ = ["FleetProjection", "FleetYear", "project_fleet", "DEFAULT_SCENARIOS",
           "parse_growth"]

DAYS_PER_YEAR = 365.25
#: (name, growth per year, source)
DEFAULT_SCENARIOS: tuple[tuple[str, float, str], ...] = (
    ("flat", 0.0, "no growth"),
    ("IEA data-centre pace", 0.15, "IEA (2025) Energy and AI, base case: data-centre "
     "electricity 415 TWh (2024) → 945 TWh (2030), ~15 %/yr"),
    ("IEA accelerated-server pace", 0.30, "IEA (2025) Energy and AI, base case: electricity "
     "of accelerated servers growing ~30 %/yr"),
)
HOUSEHOLD_REGIONS = ("CN", "US", "EU")


@dataclass
class FleetYear:
    year_index: int  # 1 = the first year
    requests_per_day: float
    energy_facility_mwh: Range
    co2e_location_t: Range
    water_m3: Range | None

    def to_dict(self) -> dict[str, Any]:
        return {"year_index": self.year_index, "requests_per_day": self.requests_per_day,
                "energy_facility_mwh": self.energy_facility_mwh.to_dict(),
                "co2e_location_t": self.co2e_location_t.to_dict(),
                "water_m3": self.water_m3.to_dict() if self.water_m3 else None}


@dataclass
class FleetProjection:
    """A year of serving at the given volume, and scenarios over ``years``."""

    requests_per_day: float
    energy_request_it_wh: Range
    pue: Range
    energy_facility_mwh_per_year: Range
    co2e_location_t_per_year: Range
    co2e_market_t_per_year: Range
    water_m3_per_year: Range | None
    households: dict[str, Range]  # region → households' annual electricity equivalent
    zone: str
    scenarios: dict[str, list[FleetYear]]
    scenario_growth: dict[str, float]
    assumptions: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: str = PROVENANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "fleet", "provenance": self.provenance,
            "requests_per_day": self.requests_per_day,
            "energy_request_it_wh": self.energy_request_it_wh.to_dict(),
            "pue": self.pue.to_dict(),
            "energy_facility_mwh_per_year": self.energy_facility_mwh_per_year.to_dict(),
            "co2e_location_t_per_year": self.co2e_location_t_per_year.to_dict(),
            "co2e_market_t_per_year": self.co2e_market_t_per_year.to_dict(),
            "water_m3_per_year": (self.water_m3_per_year.to_dict()
                                  if self.water_m3_per_year else None),
            "households": {k: v.to_dict() for k, v in self.households.items()},
            "zone": self.zone, "scenario_growth": dict(self.scenario_growth),
            "scenarios": {k: [y.to_dict() for y in v] for k, v in self.scenarios.items()},
            "assumptions": [a.to_dict() for a in self.assumptions], "notes": list(self.notes)}

    def summary(self) -> str:
        e = self.energy_facility_mwh_per_year
        lines = [
            "ESTIMATED fleet electricity — a model, not a measurement",
            f"  volume           {format_count(self.requests_per_day)} requests per day",
            f"  per request      "
            f"{fmt_range(self.energy_request_it_wh, lambda wh: format_energy(wh * J_PER_WH))}"
            f" IT, PUE {format_number(self.pue.central)}",
            f"  per year         {fmt_range_energy(e.scale(1000, 'kWh'))} facility",
            f"  CO2e per year    {fmt_range_mass(self.co2e_location_t_per_year.scale(1000, 'kg'))}"
            f" location-based ({self.zone})"]
        if self.water_m3_per_year:
            w = self.water_m3_per_year
            lines.append(f"  water per year   {fmt_range_water(w, 1000.0)}")
        for region, h in self.households.items():
            lines.append(f"  ≈ households     {format_count(h.central)} households' electricity "
                         f"in {region} ({format_count(h.low)} – {format_count(h.high)})")
        if self.scenarios:
            years = max(len(v) for v in self.scenarios.values())
            lines.append(f"  scenarios        facility MWh per year, year 1 … {years}:")
            for name, rows in self.scenarios.items():
                values = ", ".join(format_count(y.energy_facility_mwh.central, 3) for y in rows)
                lines.append(f"    {name} ({self.scenario_growth[name]:+.0%}/yr): {values}")
        lines.append("  assumptions:")
        lines += [f"    - {a.name}: {a.value} [{a.source}]" for a in self.assumptions]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def parse_growth(text: "str | float | Sequence[str | float]", *,
                 name: str = "growth") -> list[tuple[str, float]]:
    """Growth scenarios from ``"30%"``, ``0.3``, ``"0,15%,30%"`` → [(name, rate)];
    ``name`` is how the value was given (``"--growth"``), for errors."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",") \
        if isinstance(text, str) else [text]
    out = []
    for item in items:
        t = str(item).strip()
        try:
            rate = float(t[:-1]) / 100 if t.endswith("%") else float(t)
        except ValueError:
            raise UsageError(f"cannot read growth {t!r}; write e.g. '30%' or 0.3") from None
        # a string is named back as typed ("30 %"), a number as people read it (10³⁰⁰)
        rate = inputs.check("growth", name, rate, shown_as=t if isinstance(item, str) else None)
        out.append((f"{rate:+.0%}/yr", rate))
    return out


def project_fleet(*, requests_per_day: "str | float",
                  per_request: "InferenceEstimate | str | float",
                  years: int = 5, growth: "str | float | Sequence | None" = None,
                  pue: float | None = None, provider: str | None = "datacenter",
                  zone: str | None = None, year: int | None = None,
                  intensity_g_per_kwh: float | None = None,
                  renewable_share: float | None = None,
                  wue_l_per_kwh: float | None = None) -> FleetProjection:
    """Project a serving fleet. ``per_request``: an :class:`InferenceEstimate` (its IT energy
    per request and range) or an IT energy per request (``"0.3Wh"``, or a number of Wh)."""
    from ..accounting.equivalents import household_months

    years = inputs.check("years", "years", 5 if years is None else years)
    rpd = inputs.count("requests_per_day", requests_per_day, "requests_per_day")
    if rpd is None:
        raise UsageError("requests_per_day=None: give the volume, e.g. requests_per_day='1B'")
    assumptions: list[Assumption] = []
    if isinstance(per_request, InferenceEstimate):
        e_req = per_request.energy_request_it_wh
        assumptions.append(Assumption(
            "IT energy per request", f"{format_number(e_req.central)} Wh "
            f"({format_number(e_req.low)}–{format_number(e_req.high)})",
            f"estimated: {format_number(per_request.params / 1e9)}B on "
            f"{per_request.n_accelerators} × {per_request.accelerator}, batch "
            f"{per_request.batch_size}"))
    else:
        wh = (per_request if isinstance(per_request, (int, float))
              else parse_energy(per_request, default_unit="Wh") / J_PER_WH)
        wh = inputs.check("energy_per_request_wh", "per_request", wh, shown_as=per_request)
        e_req = Range.exact(wh, "Wh")
        assumptions.append(Assumption("IT energy per request", f"{format_number(wh)} Wh",
                                      "given"))
    assumptions.append(Assumption("volume", f"{rpd:,.0f} requests per day × "
                                  f"{DAYS_PER_YEAR} days", "given"))
    it_kwh_year = e_req.scale(rpd * DAYS_PER_YEAR / 1000, "kWh")
    fp = footprint(it_kwh_year, zone=zone, year=year, pue=pue, provider=provider,
                   intensity_g_per_kwh=intensity_g_per_kwh, renewable_share=renewable_share,
                   wue_l_per_kwh=wue_l_per_kwh)
    facility_mwh = fp.energy_facility_kwh.scale(1 / 1000, "MWh")
    co2_t = fp.co2e_location_kg.scale(1 / 1000, "t")
    water_m3 = fp.water_l.scale(1 / 1000, "m³") if fp.water_l else None
    households = {}
    for region in HOUSEHOLD_REGIONS:
        per = household_months(fp.energy_facility_kwh.central * J_PER_KWH, region)
        factor = per.value / 12 / fp.energy_facility_kwh.central  # households per kWh-year
        households[region] = fp.energy_facility_kwh.scale(factor, "households")
        assumptions.append(Assumption(f"household electricity ({region})",
                                      f"{format_number(per.factor)} {per.factor_unit}",
                                      per.provenance.describe()))
    scenarios = ([(n, r) for n, r, _ in DEFAULT_SCENARIOS] if growth is None
                 else parse_growth(growth))
    if growth is None:
        assumptions += [Assumption(f"scenario '{n}'", f"{r:+.0%} per year", s)
                        for n, r, s in DEFAULT_SCENARIOS]
    table: dict[str, list[FleetYear]] = {}
    for name, rate in scenarios:
        rows = []
        for i in range(1, years + 1):
            k = (1 + rate) ** (i - 1)
            rows.append(FleetYear(i, rpd * k, facility_mwh.scale(k), co2_t.scale(k),
                                  water_m3.scale(k) if water_m3 else None))
        table[name] = rows
    return FleetProjection(
        requests_per_day=rpd, energy_request_it_wh=e_req, pue=fp.pue,
        energy_facility_mwh_per_year=facility_mwh, co2e_location_t_per_year=co2_t,
        co2e_market_t_per_year=fp.co2e_market_kg.scale(1 / 1000, "t"),
        water_m3_per_year=water_m3, households=households, zone=fp.zone, scenarios=table,
        scenario_growth=dict(scenarios), assumptions=assumptions + fp.assumptions,
        notes=fp.notes)
