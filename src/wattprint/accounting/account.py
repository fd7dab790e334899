"""``account()``: everything a run's energy means — facility energy, CO2e (location- and
market-based), cost, water and embodied carbon — each figure with its provenance.

This is the one function the tracker, the reports and the estimator call. It reads only
shipped tables (plus a live intensity provider when one is passed); it never probes the
network itself — resolve the zone first with :func:`~wattprint.accounting.default_zone`
(``detect_cloud=True``) where instance-metadata detection is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from .. import inputs
from .._format import format_money, format_water
from ..errors import UsageError
from ..units import J_PER_KWH, format_energy, format_mass
from . import carbon, facility
from ._timeline import PowerTrace
from .cost import TimeOfUseTariff, cost_figure
from . import _tables
from .provenance import Figure, user_given
from .zones import Zone, default_zone

__all__ = ["Accounting", "account"]


@dataclass
class Accounting:
    """The accounted footprint of one amount of (IT) energy."""

    zone: Zone
    energy_it_kwh: float
    pue: Figure
    facility_energy_kwh: Figure
    intensity_location: Figure
    intensity_market: Figure
    co2e_location_g: Figure
    co2e_market_g: Figure
    cost: Figure
    water_onsite_l: Figure
    water_offsite_l: Figure
    embodied_co2e_g: Figure | None = None
    when: datetime | None = None
    duration_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def water_l(self) -> float | None:
        """On-site + off-site litres (None when on-site is unknown)."""
        if self.water_onsite_l.value is None:
            return None
        return self.water_onsite_l.value + self.water_offsite_l.value

    def to_dict(self) -> dict[str, Any]:
        figures = ("pue", "facility_energy_kwh", "intensity_location", "intensity_market",
                   "co2e_location_g", "co2e_market_g", "cost", "water_onsite_l",
                   "water_offsite_l", "embodied_co2e_g")
        out: dict[str, Any] = {
            "zone": self.zone.to_dict(), "energy_it_kwh": self.energy_it_kwh,
            "when": self.when.isoformat() if self.when else None,
            "duration_s": self.duration_s, "water_l": self.water_l,
        }
        for name in figures:
            fig = getattr(self, name)
            out[name] = fig.to_dict() if fig is not None else None
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """Plain text, one figure a line with its source."""
        def src(f: Figure) -> str:
            return f.provenance.describe()

        lines = [f"zone {self.zone.label} [{self.zone.source}]",
                 f"  IT energy        {format_energy(self.energy_it_kwh * J_PER_KWH)}",
                 f"  PUE              {self.pue.value:.3g}  ({src(self.pue)})",
                 f"  facility energy  {format_energy(self.facility_energy_kwh.value * J_PER_KWH)}",
                 f"  CO2e location    {format_mass(self.co2e_location_g.value)} at "
                 f"{self.intensity_location.value:.0f} g/kWh  ({src(self.intensity_location)})",
                 f"  CO2e market      {format_mass(self.co2e_market_g.value)} at "
                 f"{self.intensity_market.value:.0f} g/kWh  ({src(self.intensity_market)})"]
        if self.cost.value is not None:
            lines.append(f"  cost             {format_money(self.cost.value, self.cost.unit)}")
        on = self.water_onsite_l.value
        lines.append(f"  water on-site    {format_water(on)}"
                     f"  ({src(self.water_onsite_l)})")
        lines.append(f"  water off-site   {format_water(self.water_offsite_l.value)}"
                     f"  ({src(self.water_offsite_l)})")
        if self.embodied_co2e_g is not None:
            lines.append(f"  embodied CO2e    {format_mass(self.embodied_co2e_g.value)}"
                         f"  ({src(self.embodied_co2e_g)})")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _collect_notes(*figures: Figure | None) -> list[str]:
    seen: list[str] = []
    for f in figures:
        if f is None:
            continue
        for n in f.provenance.notes:
            if n not in seen:
                seen.append(n)
    return seen


def account(energy_j: float, *, zone: "str | Zone | None" = None,
            when: datetime | None = None, duration_s: float | None = None,
            pue: float | None = None, provider: str | None = None,
            price_per_kwh: float | None = None, currency: str = "EUR",
            power_trace: PowerTrace | None = None, tariff: TimeOfUseTariff | None = None,
            renewable_share: float | None = None,
            market_factor_g_per_kwh: float | None = None,
            wue_l_per_kwh: float | None = None, water_l_per_kwh: float | None = None,
            devices: Mapping[str, float] | None = None, reserved_s: float | None = None,
            lifetime_years: float | None = None, embodied_kgco2e: float | None = None,
            intensity_source: Any = None) -> Accounting:
    """Account ``energy_j`` joules of IT energy (what the sensors measured).

    zone: anything :func:`resolve_zone` accepts; None → ``WATTPRINT_ZONE`` or the world
    average (with a loud note). when / duration_s / power_trace place the run in time
    (hourly intensity, time-of-use prices, the year of annual figures); power_trace is
    ``[(seconds since when, watts), ...]`` and only weights the hours — ``energy_j`` stays
    the total. provider: data-centre operator for PUE/WUE defaults (aws, gcp, azure, ovh,
    oracle, datacenter; None = not in a data centre). renewable_share (0–1) or
    market_factor_g_per_kwh: the market-based basis. devices + reserved_s (default
    duration_s): embodied carbon; or embodied_kgco2e for one device of known footprint.
    intensity_source: a live provider (:mod:`wattprint.accounting.providers`).
    """
    energy_j = inputs.check("energy_j", "energy_j", energy_j)
    if energy_j is None:
        raise UsageError("energy_j=None: account() needs the IT energy in joules "
                         "(e.g. energy_j=3.6e6)")
    pue = inputs.pue("pue", pue)
    price_per_kwh = inputs.price_per_kwh("price_per_kwh", price_per_kwh, currency)
    renewable_share = inputs.check("renewable_share", "renewable_share", renewable_share)
    market_factor_g_per_kwh = inputs.intensity_g_per_kwh("market_factor_g_per_kwh",
                                                          market_factor_g_per_kwh)
    wue_l_per_kwh = inputs.wue_l_per_kwh("wue_l_per_kwh", wue_l_per_kwh)
    water_l_per_kwh = inputs.check("water_l_per_kwh", "water_l_per_kwh", water_l_per_kwh)
    duration_s = inputs.check("duration_s", "duration_s", duration_s)
    reserved_s = inputs.check("duration_s", "reserved_s", reserved_s)
    lifetime_years = inputs.check("lifetime_years", "lifetime_years", lifetime_years)
    embodied_kgco2e = inputs.check("embodied_kgco2e", "embodied_kgco2e", embodied_kgco2e)
    for kind, n in (devices or {}).items():
        inputs.check("devices", f"devices[{kind!r}]", n)
    z = default_zone(zone, detect_cloud=False)
    it_kwh = energy_j / J_PER_KWH
    pue_fig = facility.pue_figure(pue=pue, provider=provider, zone=z)
    facility_kwh = it_kwh * pue_fig.value
    facility_fig = Figure(facility_kwh, "kWh", pue_fig.provenance,
                          extra={"it_energy_kwh": it_kwh})
    if intensity_source is not None:
        loc = intensity_source.intensity(z, when=when, duration_s=duration_s,
                                         power_trace=power_trace)
    else:
        loc = carbon.location_intensity(z, when, duration_s, power_trace)
    market = carbon.market_intensity(loc, renewable_share=renewable_share,
                                     factor_g_per_kwh=market_factor_g_per_kwh)
    embodied = None
    reserved = reserved_s if reserved_s is not None else duration_s
    if devices or embodied_kgco2e is not None:
        if reserved is None:
            raise ValueError("embodied carbon needs the time reserved: pass reserved_s= "
                             "or duration_s=")
        if devices:
            embodied = facility.embodied_co2e_g(devices, reserved, lifetime_years=lifetime_years)
        if embodied_kgco2e is not None:
            years = lifetime_years or _tables.factor("lifetime_years", "default").value
            own = embodied_kgco2e * 1000 * reserved / (years * facility.SECONDS_PER_YEAR)
            if embodied is None:
                embodied = Figure(own, "gCO2e", user_given("embodied footprint").with_note(
                    f"amortised over {years:g} years"),
                    extra={"reserved_s": reserved, "lifetime_years": years})
            else:
                embodied = Figure(embodied.value + own, "gCO2e", embodied.provenance.with_note(
                    f"plus {embodied_kgco2e:g} kg CO2e given by the user"), extra=embodied.extra)
    result = Accounting(
        zone=z, energy_it_kwh=it_kwh, pue=pue_fig, facility_energy_kwh=facility_fig,
        intensity_location=loc, intensity_market=market,
        co2e_location_g=carbon.co2e_g(facility_kwh, loc),
        co2e_market_g=carbon.co2e_g(facility_kwh, market),
        cost=cost_figure(facility_kwh, price_per_kwh=price_per_kwh, currency=currency,
                         tariff=tariff, when=when, duration_s=duration_s,
                         power_trace=power_trace),
        water_onsite_l=facility.water_onsite_l(it_kwh, wue_l_per_kwh=wue_l_per_kwh,
                                               provider=provider, zone=z),
        water_offsite_l=facility.water_offsite_l(facility_kwh, z,
                                                 water_l_per_kwh=water_l_per_kwh),
        embodied_co2e_g=embodied, when=when, duration_s=duration_s)
    notes = [z.note] if z.source == "default" else []
    result.notes = notes + [n for n in _collect_notes(
        pue_fig, loc, market, result.water_onsite_l, result.water_offsite_l, embodied,
        result.cost) if n not in notes]
    return result

