"""Everyday equivalents a journalist can quote: household electricity-months by country,
smartphone charges, km driven — each with its source and year.

Energy equivalents use the energy as given; the driving equivalent needs CO2e (grams).
Counts are rounded to two significant figures in ``text``: the factors are averages, so
more digits would be false precision. :func:`unit_check` spells the energy in the
neighbouring units, because a 1,000× slip (GWh written as TWh) is the commonest error in
published AI-energy figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._format import format_number
from ..units import J_PER_KWH, energy_ladder, format_count, format_energy
from . import _tables
from .provenance import Provenance, from_dataset

__all__ = ["Equivalent", "household_months", "smartphone_charges", "km_driven",
           "equivalents", "unit_check", "HOUSEHOLD_REGIONS", "EU27"]

#: EU member states (ISO 3166-1 alpha-2), for which the EU average household figure is used.
EU27 = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES "
                 "SE HU".split())
#: household figure key → how to name it.
HOUSEHOLD_REGIONS = {"CN": "China", "US": "the US", "EU": "the EU"}


@dataclass(frozen=True)
class Equivalent:
    key: str  # household_months | smartphone_charges | km_driven
    value: float
    text: str  # "≈ 6,400 household-months of electricity in China"
    factor: float
    factor_unit: str
    provenance: Provenance
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value, "text": self.text, "factor": self.factor,
                "factor_unit": self.factor_unit, "low": self.low, "high": self.high,
                "provenance": self.provenance.to_dict()}


def _household_key(country: str) -> tuple[str, str]:
    """(figure key, note) for a country or zone text; raises ValueError if none applies."""
    from .zones import UnknownZoneError, resolve_zone

    text = country.strip()
    if text.upper() in HOUSEHOLD_REGIONS:
        return text.upper(), ""
    try:
        zone = resolve_zone(text)
    except UnknownZoneError:
        zone = None
    code = zone.country or zone.key if zone else ""
    if code in HOUSEHOLD_REGIONS:
        return code, ""
    if code in EU27:
        return "EU", f"EU average used for {code}"
    raise ValueError(f"no household electricity figure for {country!r}; available: "
                     f"{', '.join(HOUSEHOLD_REGIONS)} (EU members use the EU figure)")


def household_months(energy_j: float, country: str) -> Equivalent:
    """How many months of an average household's electricity ``energy_j`` is."""
    key, note = _household_key(country)
    f = _tables.factor("household_kwh_per_month", key)
    kwh = energy_j / J_PER_KWH
    value = kwh / f.value
    low = high = None
    bounds = dict(p.split("=") for p in f.note.split(";") if "=" in p)
    if bounds:
        low, high = kwh / float(bounds["high"]), kwh / float(bounds["low"])
    where = HOUSEHOLD_REGIONS[key]
    text = (f"≈ {format_count(value)} household-months of electricity in {where} "
            f"(at {f.value:g} kWh per household per month, {f.year})")
    if low is not None:
        text += f"; {format_count(low)}–{format_count(high)} with the {bounds['low']}–" \
                f"{bounds['high']} kWh range"
    prov = from_dataset(f.dataset, zone=key, year=f.year, confidence=f.confidence,
                        notes=(note,) if note else ())
    return Equivalent("household_months", value, text, f.value, "kWh per household-month",
                      prov, low, high)


def smartphone_charges(energy_j: float) -> Equivalent:
    f = _tables.factor("smartphone_charge_kwh", "US")
    value = energy_j / J_PER_KWH / f.value
    return Equivalent("smartphone_charges", value,
                      f"≈ {format_count(value)} smartphone charges (US EPA: {f.value:g} kWh each)",
                      f.value, "kWh per charge", from_dataset(f.dataset, year=f.year))


def km_driven(co2e_g: float) -> Equivalent:
    f = _tables.factor("car_g_co2_per_km", "US")
    value = co2e_g / f.value
    return Equivalent("km_driven", value,
                      f"≈ {format_count(value)} km driven by an average petrol car "
                      f"(US EPA: {f.value:.0f} g CO2 per km)",
                      f.value, "g CO2 per km", from_dataset(f.dataset, year=f.year))


def equivalents(energy_j: float, *, country: str | None = None,
                co2e_g: float | None = None) -> list[Equivalent]:
    """Household-months (``country``'s, or each region's when None), smartphone charges,
    and km driven when ``co2e_g`` is given."""
    from .. import inputs

    energy_j = inputs.check("energy_j", "energy_j", energy_j)
    co2e_g = inputs.finite("co2e_g", co2e_g, min=0.0, max=1e22, what="a mass of CO2e",
                           example="5e5")
    regions = [country] if country else list(HOUSEHOLD_REGIONS)
    out = [household_months(energy_j, r) for r in regions]
    out.append(smartphone_charges(energy_j))
    if co2e_g is not None:
        out.append(km_driven(co2e_g))
    return out


def unit_check(energy_j: float, country: str | None = None) -> str:
    """The energy in neighbouring units and what a 1,000× slip either way would mean:
    ``"1,287 MWh = 1.287 GWh = 0.001287 TWh. 1.287 TWh would be 1,000 × more (...)"``."""
    value, unit = energy_ladder(energy_j)
    units = ("Wh", "kWh", "MWh", "GWh", "TWh", "PWh")
    i = units.index(unit)
    parts = [format_energy(energy_j, digits=4)]
    if i > 0:
        parts.insert(0, f"{format_number(value * 1000, digits=6)} {units[i - 1]}")
    if i + 1 < len(units):
        parts.append(f"{format_number(value / 1000, digits=6)} {units[i + 1]}")
    text = " = ".join(parts) + "."
    if i + 1 < len(units):
        text += f" {format_number(value, digits=4)} {units[i + 1]} would be 1,000 × more"
        if country:
            text += f" ({household_months(energy_j * 1000, country).text.split(' (')[0]})"
        text += ";"
    if i > 0:
        text += f" {format_number(value, digits=4)} {units[i - 1]} would be 1,000 × less."
    return text.rstrip(";") + ("" if text.endswith(".") else ".")
