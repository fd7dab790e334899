"""Grid carbon intensity and CO2e: location-based (annual or hourly) and market-based.

Location-based: the zone's average intensity for the run's year (the nearest year a
dataset holds otherwise), or, where shipped hourly data covers the zone and the whole run,
the energy-weighted mean of the hourly intensities (power × intensity integrated over
time). Market-based (GHG Protocol Scope 2): a supplier/contract factor given by the user,
or the location-based intensity applied to the share of the energy not covered by
renewable / carbon-free contracts; with neither, it equals the location-based figure (no
residual-mix data is shipped) and says so.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .. import inputs
from . import _tables
from ._timeline import PowerTrace, as_utc, energy_by_hour
from .provenance import Figure, from_dataset, user_given
from .zones import WORLD, Zone, resolve_zone

__all__ = ["annual_intensity", "hourly_intensity", "location_intensity", "market_intensity",
           "co2e_g", "UNIT"]

UNIT = "gCO2e/kWh"


def _candidates(zone: Zone) -> tuple[list[tuple[str, str, dict]], str]:
    """[(dataset, zone label, {year: (g/kWh, renewable %)})], note on any fallback."""
    out: list[tuple[str, str, dict]] = []
    if zone.cloud_region and zone.cloud_region.startswith("gcp:"):
        series = _tables.gcp_region_series(zone.cloud_region[4:])
        if series:
            out.append(("gcp-region-carbon", zone.cloud_region,
                        {y: (v[0], None) for y, v in series.items()}))
    out += [(d, zone.key, s) for d, s in _tables.annual_series(zone.key)]
    note = ""
    if not out and zone.country and zone.country != zone.key:
        out = [(d, zone.country, s) for d, s in _tables.annual_series(zone.country)]
        note = f"no annual figure for {zone.key}; its country {zone.country} used"
    if not out:
        out = [(d, WORLD, s) for d, s in _tables.annual_series(WORLD)]
        note = f"no annual figure for {zone.key}; world average used"
    return out, note


def annual_intensity(zone: "str | Zone", year: int | None = None) -> Figure:
    """The zone's annual location-based intensity (g CO2e/kWh) for ``year`` (default: this
    year): the year closest to it that any dataset for the zone holds (the exact year when
    there is one), preferring Electricity Maps, then OWID, eGRID, China MEE on a tie."""
    zone = resolve_zone(zone)
    candidates, note = _candidates(zone)
    if year is None and candidates and candidates[0][0] == "gcp-region-carbon":
        # A Google Cloud region with no date: Google's own latest figure, not another
        # dataset's later year.
        year = max(candidates[0][2])
    year = year or datetime.now(timezone.utc).year
    # The closest year any dataset holds; on a tie, the preferred dataset, then the later year.
    rank = [(abs(y - year), i, -y) for i, (_, _, s) in enumerate(candidates) for y in s]
    distance, best, neg_year = min(rank)
    chosen, used = candidates[best], -neg_year
    notes = [note, zone.note if zone.source == "default" else ""]
    if distance:
        notes.append(f"no {year} figure; nearest year {used} used")
    dataset, label, series = chosen
    value, renewable = series[used]
    extra = {"renewable_pct": renewable} if renewable is not None else {}
    cfe = _tables.carbon_free_pct(label, used) if dataset == "electricitymaps-yearly" else None
    if cfe is not None:
        extra["carbon_free_pct"] = cfe
    if dataset == "gcp-region-carbon":
        extra["google_cfe_pct"] = _tables.gcp_region_series(label[4:])[used][1]
    return Figure(value, UNIT, from_dataset(dataset, zone=label, year=used, resolution="annual",
                                            notes=tuple(n for n in notes if n)), extra=extra)


def hourly_intensity(zone: "str | Zone", start: datetime, duration_s: float | None = None,
                     power_trace: PowerTrace | None = None) -> Figure | None:
    """Energy-weighted mean of the shipped hourly intensities over the run, or None when the
    zone has no hourly data or the run is not entirely inside the hourly year."""
    zone = resolve_zone(zone)
    series = _tables.hourly_zone(zone.key)
    if series is None:
        return None
    weights = energy_by_hour(start, duration_s, power_trace)
    year_start = int(datetime(series.year, 1, 1, tzinfo=timezone.utc).timestamp())
    total = weighted = 0.0
    for hour, w in weights.items():
        index = (hour - year_start) // 3600
        if not 0 <= index < series.hours:
            return None
        total += w
        weighted += w * series.intensity_g_per_kwh[index]
    if total <= 0:
        return None
    notes = []
    if series.estimated_hours > series.hours / 10:
        notes.append(f"{series.estimated_hours} of {series.hours} hours of {zone.key} in "
                     f"{series.year} are Electricity Maps estimates, not measured mixes")
    return Figure(weighted / total, UNIT,
                  from_dataset("electricitymaps-hourly-2023", zone=zone.key, year=series.year,
                               resolution="hourly", notes=tuple(notes)),
                  extra={"hours": len(weights)})


def location_intensity(zone: "str | Zone", when: datetime | None = None,
                       duration_s: float | None = None,
                       power_trace: PowerTrace | None = None) -> Figure:
    """Hourly where the shipped hourly data covers the zone and the run, else annual."""
    zone = resolve_zone(zone)
    if when is not None and not (zone.cloud_region or "").startswith("gcp:"):
        hourly = hourly_intensity(zone, when, duration_s, power_trace)
        if hourly is not None:
            return hourly
    return annual_intensity(zone, as_utc(when).year if when else None)


def market_intensity(location: Figure, *, renewable_share: float | None = None,
                     factor_g_per_kwh: float | None = None) -> Figure:
    """Market-based intensity from a contracted factor or a covered renewable share."""
    if factor_g_per_kwh is not None:
        inputs.intensity_g_per_kwh("factor_g_per_kwh", factor_g_per_kwh)
        return Figure(float(factor_g_per_kwh), UNIT,
                      user_given("contracted / supplier emission factor",
                                 zone=location.provenance.zone))
    if renewable_share is not None:
        inputs.check("renewable_share", "renewable_share", renewable_share)
        prov = location.provenance.with_note(
            f"{renewable_share:.0%} of the energy covered by renewable / carbon-free "
            "contracts (given by the user) counted at 0 g; the rest at the location-based "
            "intensity (residual mix not shipped)")
        return Figure(location.value * (1 - renewable_share), UNIT, prov,
                      extra={"renewable_share": renewable_share})
    prov = location.provenance.with_note(
        "no contractual instruments given: market-based equals location-based (no residual "
        "mix shipped); pass renewable_share or market_factor_g_per_kwh")
    return Figure(location.value, UNIT, prov)


def co2e_g(energy_kwh: float, intensity: Figure) -> Figure:
    """grams CO2e of ``energy_kwh`` at ``intensity``, with the intensity's provenance."""
    return Figure(energy_kwh * intensity.value, "gCO2e", intensity.provenance,
                  extra={"intensity_g_per_kwh": intensity.value})
