"""Shared pieces of every estimate: a :class:`Range` (central / low / high with its unit),
an :class:`Assumption` (name, value, source), the one-at-a-time spread of a model over its
priors, and the accounting adapter that turns an IT-energy range into facility energy,
CO2e, water and cost ranges (through :func:`wattprint.accounting.account`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from .._format import format_money, format_number, format_water
from ..units import J_PER_KWH, format_energy, format_mass
from ._priors import WUE_UNKNOWN_DC, Prior, pue_range

__all__ = ["Range", "Assumption", "spread", "Footprint", "footprint", "fmt_range_energy"]

#: Every estimate says so: a model, not a measurement.
PROVENANCE = "estimated"


@dataclass(frozen=True)
class Range:
    """An estimated quantity: ``central`` with the ``low``–``high`` range of its priors."""

    central: float
    low: float
    high: float
    unit: str

    def __post_init__(self) -> None:
        lo, hi = min(self.low, self.central), max(self.high, self.central)
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    @classmethod
    def exact(cls, value: float, unit: str) -> "Range":
        return cls(value, value, value, unit)

    def scale(self, factor: float, unit: str | None = None) -> "Range":
        values = sorted((self.low * factor, self.high * factor))
        return Range(self.central * factor, values[0], values[1], unit or self.unit)

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        return {"central": self.central, "low": self.low, "high": self.high,
                "unit": self.unit}


class Assumption(NamedTuple):
    name: str
    value: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "source": self.source}


def spread(model: Callable[[Mapping[str, float]], float],
           priors: Mapping[str, Prior]) -> tuple[float, float, float]:
    """(central, low, high) of ``model`` over independent priors.

    The model is evaluated with every prior at its central value, then with each prior at
    its low and at its high end in turn (the others central). The log-deviations on each
    side are added in quadrature — the ranges of independent factors do not all line up.
    """
    centrals = {k: p.central for k, p in priors.items()}
    c = model(centrals)
    down = up = 0.0
    for k, p in priors.items():
        for end in (p.low, p.high):
            if end == p.central:
                continue
            v = model({**centrals, k: end})
            if v <= 0 or c <= 0:
                continue
            d = math.log(v / c)
            if d < 0:
                down += d * d
            else:
                up += d * d
    return c, c * math.exp(-math.sqrt(down)), c * math.exp(math.sqrt(up))


def fmt_range(r: Range, fmt: Callable[[float], str] = format_number) -> str:
    """``"1.29 GWh (980 MWh – 1.6 GWh)"``: central, low and high of ``r`` through ``fmt``
    (a formatter of :mod:`wattprint._format`; plain figures by default)."""
    return f"{fmt(r.central)} ({fmt(r.low)} – {fmt(r.high)})"


def fmt_range_energy(r: Range) -> str:
    """``"1.29 GWh (980 MWh – 1.6 GWh)"`` for a Range in kWh."""
    return fmt_range(r, lambda kwh: format_energy(kwh * J_PER_KWH))


def fmt_range_mass(r: Range) -> str:
    """``"552 t (420 t – 700 t)"`` for a Range in kg."""
    return fmt_range(r, lambda kg: format_mass(kg * 1000))


def fmt_range_water(r: Range, litres_per_unit: float = 1.0) -> str:
    """``"2.5 m³ (1.2 m³ – 4 m³)"`` for a Range in litres (or ``litres_per_unit``)."""
    return fmt_range(r, lambda v: format_water(v * litres_per_unit))


@dataclass
class Footprint:
    """Facility energy, CO2e, water and cost of an IT-energy range."""

    pue: Range
    energy_facility_kwh: Range
    co2e_location_kg: Range
    co2e_market_kg: Range
    water_l: Range | None
    cost: Range | None
    currency: str | None
    zone: str
    intensity_location_g_per_kwh: float
    intensity_market_g_per_kwh: float
    assumptions: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def footprint(energy_it_kwh: Range, *, zone: str | None = None, year: int | None = None,
              pue: float | None = None, provider: str | None = "datacenter",
              intensity_g_per_kwh: float | None = None,
              renewable_share: float | None = None,
              market_factor_g_per_kwh: float | None = None,
              price_per_kwh: float | None = None, currency: str = "EUR",
              wue_l_per_kwh: float | None = None,
              water_l_per_kwh: float | None = None) -> Footprint:
    """Account an IT-energy range: PUE (range when not given), facility energy, CO2e
    location- and market-based, water (on-site + off-site), cost. Uses
    :func:`wattprint.accounting.account` for the factors and their provenance."""
    from .. import inputs
    from ..accounting import account

    intensity_g_per_kwh = inputs.intensity_g_per_kwh("intensity_g_per_kwh",
                                                     intensity_g_per_kwh)
    year = inputs.check("year", "year", year)
    # A year is the whole year: hourly data (where shipped) is averaged over all its hours,
    # annual data is that year's figure.
    when = datetime(year, 1, 1, tzinfo=timezone.utc) if year else None
    year_s = ((datetime(year + 1, 1, 1, tzinfo=timezone.utc) - when).total_seconds()
              if when else None)
    acc = account(max(energy_it_kwh.central, 1e-12) * J_PER_KWH, zone=zone, when=when,
                  duration_s=year_s,
                  pue=pue, provider=provider, price_per_kwh=price_per_kwh, currency=currency,
                  renewable_share=renewable_share,
                  market_factor_g_per_kwh=market_factor_g_per_kwh,
                  wue_l_per_kwh=wue_l_per_kwh, water_l_per_kwh=water_l_per_kwh)
    assumptions: list[Assumption] = []
    pue_c = float(acc.pue.value or 1.0)
    if pue is not None:
        pue_r = Range.exact(pue_c, "ratio")
        assumptions.append(Assumption("PUE", format_number(pue_c), "given"))
    else:
        from ..accounting.facility import normalise_provider
        lo, hi, why = pue_range(normalise_provider(provider, acc.zone))
        pue_r = Range(pue_c, min(lo, pue_c), max(hi, pue_c), "ratio")
        assumptions.append(Assumption(
            "PUE", f"{format_number(pue_c)} (range {format_number(pue_r.low)}–"
            f"{format_number(pue_r.high)})",
            f"{acc.pue.provenance.describe()}; range: {why}"))
    from ._priors import combine
    fac_lo, fac_hi = combine(energy_it_kwh.central * pue_c,
                             [(energy_it_kwh.central, energy_it_kwh.low, energy_it_kwh.high),
                              (pue_r.central, pue_r.low, pue_r.high)])
    facility = Range(energy_it_kwh.central * pue_c, fac_lo, fac_hi, "kWh")
    loc = acc.intensity_location
    if intensity_g_per_kwh is not None:
        ci_loc = float(intensity_g_per_kwh)
        assumptions.append(Assumption("grid intensity (location)",
                                      f"{format_number(ci_loc)} gCO2e/kWh",
                                      "given"))
        if renewable_share is not None:
            ci_mkt = ci_loc * (1 - renewable_share)
        elif market_factor_g_per_kwh is not None:
            ci_mkt = float(market_factor_g_per_kwh)
        else:
            ci_mkt = ci_loc
    else:
        ci_loc = float(loc.value or 0.0)
        ci_mkt = float(acc.intensity_market.value or 0.0)
        assumptions.append(Assumption("grid intensity (location)",
                                      f"{format_number(ci_loc)} gCO2e/kWh "
                                      f"({acc.zone.label})", loc.provenance.describe()))
    if ci_mkt != ci_loc:
        assumptions.append(Assumption("grid intensity (market)",
                                      f"{format_number(ci_mkt)} gCO2e/kWh",
                                      acc.intensity_market.provenance.describe()
                                      if intensity_g_per_kwh is None else "given"))
    co2_loc = facility.scale(ci_loc / 1000, "kg")
    co2_mkt = facility.scale(ci_mkt / 1000, "kg")
    it_c = max(energy_it_kwh.central, 1e-12)
    water = None
    off_per_fac = float(acc.water_offsite_l.value or 0.0) / max(
        float(acc.facility_energy_kwh.value or 0.0), 1e-12)
    on = acc.water_onsite_l.value
    notes = []
    if on is not None:
        on_per_it = on / it_c
        lo_w = hi_w = on_per_it
        wue_text = f"{format_number(on_per_it)} L/kWh IT"
        source = acc.water_onsite_l.provenance.describe()
        if acc.water_onsite_l.extra.get("industry_average"):
            # an unknown data centre: the industry average with the operators' spread
            lo_w = on_per_it * WUE_UNKNOWN_DC.low / WUE_UNKNOWN_DC.central
            hi_w = on_per_it * WUE_UNKNOWN_DC.high / WUE_UNKNOWN_DC.central
            wue_text += (f" (range {format_number(lo_w)}–{format_number(hi_w)}, industry "
                         "average)")
            source += f"; range: {WUE_UNKNOWN_DC.source}"
        water = Range(on_per_it * energy_it_kwh.central + off_per_fac * facility.central,
                      lo_w * energy_it_kwh.low + off_per_fac * facility.low,
                      hi_w * energy_it_kwh.high + off_per_fac * facility.high, "L")
        assumptions.append(Assumption("water on-site (WUE)", wue_text, source))
    else:
        water = facility.scale(off_per_fac, "L")
        notes.append("water: on-site cooling water unknown (no WUE for this data centre); "
                     "the figure is the water of electricity generation only — pass "
                     "wue_l_per_kwh= or provider=")
    assumptions.append(Assumption("water of generation", f"{format_number(off_per_fac)} L/kWh",
                                  acc.water_offsite_l.provenance.describe()))
    cost = None
    if price_per_kwh is not None:
        cost = facility.scale(price_per_kwh, currency)
        assumptions.append(Assumption("electricity price",
                                      f"{format_money(price_per_kwh, currency)}/kWh", "given"))
    notes.extend(n for n in acc.notes if "price_per_kwh" not in n
                 and not (on is None and "WUE" in n))
    return Footprint(pue=pue_r, energy_facility_kwh=facility, co2e_location_kg=co2_loc,
                     co2e_market_kg=co2_mkt, water_l=water, cost=cost,
                     currency=currency if cost else None,
                     zone=("given intensity" if intensity_g_per_kwh is not None
                           else acc.zone.label),
                     intensity_location_g_per_kwh=ci_loc, intensity_market_g_per_kwh=ci_mkt,
                     assumptions=assumptions, notes=notes)


def ranges_dict(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in names:
        v = getattr(obj, n)
        out[n] = v.to_dict() if isinstance(v, Range) else v
    return out
