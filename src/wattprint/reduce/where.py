"""The *where* lever: the cloud regions (or grid zones) a job would emit least in, ranked
by expected CO2e = IT energy × PUE × the mean intensity over the job (hourly where the
region's grid has hourly data or a live forecast, else the annual average), with cost
where a price is known and water (on-site WUE + water of generation).

Regions are chosen by glob patterns over the shipped cloud-region table
(``aws:*``, ``gcp:europe-*``, ``azure:*east*``) or named as grid zones (``DE``, ``FR``).
Each region's figures come from :func:`wattprint.accounting.account`, the intensity
passed in as the window's mean; within a start window (``within_s``) each region gets its
own best start (:func:`wattprint.reduce.when.best_window`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from ..accounting import _tables
from ..accounting.account import account
from ..accounting.carbon import UNIT, annual_intensity
from ..accounting.provenance import Figure, Provenance, from_dataset
from ..accounting.zones import UnknownZoneError, resolve_zone
from ..errors import UsageError
from ._outlook import Outlook, outlook
from ._wait import now as planning_now
from .when import best_window

__all__ = ["RegionOption", "WherePlan", "match_regions", "plan_where", "known_regions"]


def known_regions() -> list[str]:
    """Every shipped cloud region as ``provider:region``."""
    return sorted(f"{p}:{r}" for p, r in _tables.cloud_regions())


def match_regions(patterns: "str | Iterable[str]") -> list[str]:
    """The regions the comma-separated glob ``patterns`` name, in pattern order, each once.
    A pattern without ``:`` is a grid zone (resolved as ``--zone`` is). A pattern that
    matches nothing raises :class:`UsageError` naming it and the providers known."""
    if isinstance(patterns, str):
        patterns = patterns.split(",")
    regions = known_regions()
    out: list[str] = []
    for raw in patterns:
        pattern = raw.strip().lower()
        if not pattern:
            continue
        if ":" in pattern:
            found = [r for r in regions if fnmatch.fnmatchcase(r, pattern)]
            if not found:
                providers = sorted({r.split(":")[0] for r in regions})
                raise UsageError(
                    f"--regions pattern {raw.strip()!r} matches no known cloud region; "
                    f"patterns look like 'aws:*', 'gcp:europe-*' or 'azure:westeurope' "
                    f"(providers: {', '.join(providers)}; `wattprint zones --kind cloud --limit 0` lists "
                    "the regions)")
        else:
            try:
                found = [resolve_zone(raw.strip()).key]
            except UnknownZoneError as err:
                raise UsageError(f"--regions {raw.strip()!r}: {err}") from None
        out.extend(r for r in found if r not in out)
    if not out:
        raise UsageError("--regions is empty; give patterns such as 'aws:*,gcp:europe-*'")
    return out


@dataclass(frozen=True)
class RegionOption:
    """One region's expected footprint for the job; every figure ``estimated``."""

    region: str
    zone: str
    label: str
    start: datetime
    intensity_g_per_kwh: float
    intensity_source: str  # live / shipped-profile / annual
    pue: float
    co2e_g: float
    cost: float | None
    currency: str | None
    water_l: float | None
    facility_energy_kwh: float
    provenance: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "zone": self.zone, "label": self.label,
                "start": self.start.isoformat(), "intensity_g_per_kwh":
                self.intensity_g_per_kwh, "intensity_source": self.intensity_source,
                "pue": self.pue, "co2e_g": self.co2e_g, "cost": self.cost,
                "currency": self.currency, "water_l": self.water_l,
                "facility_energy_kwh": self.facility_energy_kwh,
                "provenance": self.provenance, "notes": list(self.notes),
                "basis": "estimated"}


@dataclass(frozen=True)
class WherePlan:
    options: list[RegionOption]  # ranked, cleanest first
    excluded: list[RegionOption] = field(default_factory=list)  # above max_intensity
    energy_j: float = 0.0
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"energy_j": self.energy_j, "duration_s": self.duration_s,
                "ranked": [o.to_dict() for o in self.options],
                "excluded": [o.to_dict() for o in self.excluded], "basis": "estimated"}


class _Given:
    """An intensity source answering one precomputed figure (the window's mean)."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure

    def intensity(self, zone, *, when=None, duration_s=None, power_trace=None) -> Figure:
        return self.figure


def _figure(series: Outlook, mean: float, zone, year: int) -> Figure:
    if series.source == "annual":
        annual = annual_intensity(zone, year)
        return Figure(mean, UNIT, annual.provenance)
    if series.source == "live":
        return Figure(mean, UNIT, Provenance(series.dataset, series.dataset,
                                             "the provider's terms", zone.key, year, "live",
                                             notes=series.notes))
    return Figure(mean, UNIT, from_dataset(series.dataset, zone=zone.key,
                                           year=_tables.HOURLY_YEAR, resolution="hourly",
                                           notes=series.notes))


def plan_where(regions: Iterable[str], duration_s: float, energy_j: float, *,
               now: datetime | None = None, within_s: float | None = None,
               max_intensity_g_per_kwh: float | None = None,
               price_per_kwh: float | None = None,
               prices: Mapping[str, float] | None = None, currency: str = "EUR",
               provider: Any = None) -> WherePlan:
    """Rank ``regions`` by the CO2e of ``energy_j`` joules of IT energy run for
    ``duration_s`` starting now (or at each region's best start within ``within_s``).
    ``prices``: region → price per kWh (beats ``price_per_kwh``)."""
    now = now or planning_now()
    if duration_s <= 0:
        raise UsageError("--duration must be above 0; write e.g. --duration 6h")
    latest_end = now + timedelta(seconds=(within_s or 0.0) + duration_s)
    by_region = {k.strip().lower(): v for k, v in (prices or {}).items()}
    options = []
    for region in regions:
        zone = resolve_zone(region)
        series = outlook(zone, now, latest_end, provider=provider, flat_ok=True)
        best, *_ = best_window(series, now, duration_s, latest_end)
        fig = _figure(series, best.mean_g_per_kwh, zone, best.start.year)
        price = by_region.get(region.lower(), price_per_kwh)
        acc = account(energy_j, zone=zone, when=best.start, duration_s=duration_s,
                      provider=(zone.cloud_region or "").split(":")[0] or None,
                      price_per_kwh=price, currency=currency, intensity_source=_Given(fig))
        options.append(RegionOption(
            region=region, zone=zone.key, label=zone.label, start=best.start,
            intensity_g_per_kwh=best.mean_g_per_kwh, intensity_source=series.source,
            pue=acc.pue.value, co2e_g=acc.co2e_location_g.value, cost=acc.cost.value,
            currency=currency if acc.cost.value is not None else None,
            water_l=acc.water_l, facility_energy_kwh=acc.facility_energy_kwh.value,
            provenance=fig.provenance.describe(), notes=tuple(acc.notes)))
    options.sort(key=lambda o: (o.co2e_g, o.region))
    excluded = []
    if max_intensity_g_per_kwh is not None:
        excluded = [o for o in options if o.intensity_g_per_kwh > max_intensity_g_per_kwh]
        options = [o for o in options if o.intensity_g_per_kwh <= max_intensity_g_per_kwh]
    return WherePlan(options, excluded, energy_j, duration_s)
