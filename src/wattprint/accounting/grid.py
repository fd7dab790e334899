"""What the shipped tables say about one zone's grid: annual intensity by year and dataset,
renewable and carbon-free shares, and — for hourly zones — the typical day in local time
(mean intensity per clock hour over the year, best and worst hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import _tables
from .zones import Zone, resolve_zone

__all__ = ["AnnualRow", "DailyProfile", "annual_table", "daily_profile"]


@dataclass(frozen=True)
class AnnualRow:
    year: int
    dataset: str
    zone: str
    intensity_g_per_kwh: float
    renewable_pct: float | None = None
    carbon_free_pct: float | None = None  # Electricity Maps; Google CFE for gcp regions


def annual_table(zone: "str | Zone") -> list[AnnualRow]:
    """Every annual figure shipped for the zone (and its cloud region), by year then dataset."""
    zone = resolve_zone(zone)
    rows = []
    if zone.cloud_region and zone.cloud_region.startswith("gcp:"):
        for year, (ci, cfe, _scope) in _tables.gcp_region_series(zone.cloud_region[4:]).items():
            rows.append(AnnualRow(year, "gcp-region-carbon", zone.cloud_region, ci, None, cfe))
    for dataset, series in _tables.annual_series(zone.key):
        for year, (ci, ren) in series.items():
            cfe = _tables.carbon_free_pct(zone.key, year) \
                if dataset == "electricitymaps-yearly" else None
            rows.append(AnnualRow(year, dataset, zone.key, ci, ren, cfe))
    return sorted(rows, key=lambda r: (r.year, r.dataset))


@dataclass(frozen=True)
class DailyProfile:
    zone: str
    year: int
    timezone: str
    mean_by_hour: tuple[float, ...]  # index = local clock hour 0..23
    estimated_hours: int

    def ranked(self) -> list[int]:
        """Local hours from cleanest to dirtiest."""
        return sorted(range(24), key=lambda h: (self.mean_by_hour[h], h))

    @property
    def best_hours(self) -> list[int]:
        return self.ranked()[:3]

    @property
    def worst_hours(self) -> list[int]:
        return self.ranked()[-3:][::-1]

    @property
    def spread_pct(self) -> float:
        """How much cleaner the best hour is than the worst, in percent."""
        lo, hi = min(self.mean_by_hour), max(self.mean_by_hour)
        return (hi - lo) / hi * 100 if hi else 0.0


def daily_profile(zone: "str | Zone") -> DailyProfile | None:
    """Mean intensity per local clock hour over the shipped hourly year, or None."""
    zone = resolve_zone(zone)
    series = _tables.hourly_zone(zone.key)
    if series is None:
        return None
    try:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(series.timezone)
        tz_name = series.timezone
    except Exception:  # no tz database on this system: profile in UTC, and say so
        tz, tz_name = timezone.utc, "UTC"
    start = datetime(series.year, 1, 1, tzinfo=timezone.utc)
    sums, counts = [0.0] * 24, [0] * 24
    for i, value in enumerate(series.intensity_g_per_kwh):
        hour = (start + timedelta(hours=i)).astimezone(tz).hour
        sums[hour] += value
        counts[hour] += 1
    return DailyProfile(zone.key, series.year, tz_name,
                        tuple(s / c for s, c in zip(sums, counts)), series.estimated_hours)
