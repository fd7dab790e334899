"""The hourly carbon-intensity outlook of a zone for the hours ahead: what the *when* and
*where* levers choose from.

Two sources, in this order:

- a **live forecast** from a configured provider (Electricity Maps, WattTime, the GB
  Carbon Intensity API: :meth:`~wattprint.accounting.providers.LiveProvider.forecast`);
  hours past the provider's horizon come from the shipped profile where the zone has one,
  and the outlook says so;
- the **shipped typical week**: the mean intensity of each local clock hour for each
  (month, day of week) over the shipped hourly year (Electricity Maps 2023, ODbL),
  mapped onto the coming hours in the zone's own time zone (so a DST change shifts the
  profile with the clocks, as the grid's daily cycle does).

A zone without hourly data gets an annual (flat) outlook only on request
(``flat_ok=True``, for *where*); *when* refuses it with :class:`NoHourlyData`, since a
flat line has no better hour.
"""

from __future__ import annotations

import functools
import math
from array import array
from dataclasses import dataclass
from datetime import datetime, timezone

from ..accounting import _tables
from ..accounting.zones import Zone, resolve_zone
from ..errors import UsageError

__all__ = ["Outlook", "NoHourlyData", "outlook", "typical_week", "SOURCES"]

#: How an outlook's values were obtained.
SOURCES = ("live", "shipped-profile", "annual")
_HOURS_PER_WEEK = 168


class NoHourlyData(UsageError):
    """The zone has neither a live forecast nor shipped hourly data."""


@dataclass(frozen=True)
class Outlook:
    """Intensity (g CO2e/kWh) of each hour from ``start_hour`` (UTC epoch seconds, a
    multiple of 3600). ``source`` is one of :data:`SOURCES` (``live`` when any hour came
    from the live forecast; ``live_hours`` says how many); ``dataset`` names the data."""

    zone: str
    start_hour: int
    values: tuple[float, ...]
    source: str
    dataset: str
    notes: tuple[str, ...] = ()
    live_hours: int = 0

    @property
    def end_hour(self) -> int:
        return self.start_hour + 3600 * len(self.values)

    def at(self, epoch_hour: int) -> float:
        return self.values[(epoch_hour - self.start_hour) // 3600]

    def to_dict(self) -> dict:
        return {"zone": self.zone, "source": self.source, "dataset": self.dataset,
                "start": datetime.fromtimestamp(self.start_hour, timezone.utc).isoformat(),
                "hours": len(self.values), "live_hours": self.live_hours,
                "intensity_g_per_kwh": list(self.values), "notes": list(self.notes)}


def _tz(name: str):
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # no tz database: UTC, and the profile says so through its zone name
        return timezone.utc


def _week_cells(tz, first_hour: int, hours: int) -> list[int]:
    """For each UTC hour from ``first_hour`` (epoch s), its cell ``(month - 1) * 168 +
    weekday * 24 + local hour`` in ``tz``. The UTC offset is looked up once a day (hour
    by hour only on days it changes: DST), and hours run in local-day segments."""
    cells: list[int] = []
    month_of: dict[int, int] = {}
    t, end = first_hour, first_hour + 3600 * hours

    def offset(ts: int) -> int:
        return int(datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())

    while t < end:
        span = min(24, (end - t) // 3600)
        off = offset(t)
        if span > 1 and offset(t + 3600 * (span - 1)) != off:
            span = 1  # the clocks change today: hour by hour
        local_hour = (t + off) // 3600
        left = span
        while left:
            day, hod = divmod(local_hour, 24)
            n = min(left, 24 - hod)
            month = month_of.get(day)
            if month is None:
                month = month_of[day] = datetime.fromtimestamp(day * 86400, timezone.utc).month
            base = (month - 1) * _HOURS_PER_WEEK + ((day + 3) % 7) * 24  # 1970-01-01: Thu
            cells.extend(range(base + hod, base + hod + n))
            local_hour += n
            left -= n
        t += 3600 * span
    return cells


@functools.lru_cache(maxsize=64)
def typical_week(zone_key: str) -> tuple[array, str] | None:
    """(means, time zone) for a zone with shipped hourly data, else None. ``means`` has
    12 × 7 × 24 values: index ``(month - 1) * 168 + weekday * 24 + local hour``; a cell
    the year never visits (a local hour skipped by DST in every week of a month) takes the
    mean of its month's same clock hour."""
    series = _tables.hourly_zone(zone_key)
    if series is None:
        return None
    tz = _tz(series.timezone)
    sums = [0.0] * (12 * _HOURS_PER_WEEK)
    counts = [0] * (12 * _HOURS_PER_WEEK)
    t0 = int(datetime(series.year, 1, 1, tzinfo=timezone.utc).timestamp())
    for k, value in zip(_week_cells(tz, t0, series.hours), series.intensity_g_per_kwh):
        sums[k] += value
        counts[k] += 1
    means = array("d", [0.0] * len(sums))
    for k in range(len(sums)):
        if counts[k]:
            means[k] = sums[k] / counts[k]
        else:
            base, hour = k - k % _HOURS_PER_WEEK, k % 24
            same = [sums[base + d * 24 + hour] / counts[base + d * 24 + hour]
                    for d in range(7) if counts[base + d * 24 + hour]]
            means[k] = sum(same) / len(same) if same else series.intensity_g_per_kwh[0]
    return means, series.timezone


@functools.lru_cache(maxsize=4096)
def _profile_values(zone_key: str, start_hour: int, hours: int) -> tuple[float, ...] | None:
    week = typical_week(zone_key)
    if week is None:
        return None
    means, tz_name = week
    return tuple(means[k] for k in _week_cells(_tz(tz_name), start_hour, hours))


def _hour_floor(t: datetime) -> int:
    return int(math.floor(t.timestamp() / 3600) * 3600)


def outlook(zone: "str | Zone", start: datetime, end: datetime, *, provider=None,
            flat_ok: bool = False) -> Outlook:
    """The hourly outlook covering ``[start, end)`` (whole hours around it).

    ``provider``: a live provider with a ``forecast(zone, start, end)`` method (None: the
    shipped profile). ``flat_ok``: a zone without hourly data gets its annual intensity
    for every hour (else :class:`NoHourlyData`).
    """
    zone = resolve_zone(zone)
    first = _hour_floor(start)
    hours = max(1, math.ceil((end.timestamp() - first) / 3600))
    profile = _profile_values(zone.key, first, hours)
    notes: list[str] = []
    live: dict[int, float] = {}
    if provider is not None:
        live, note = _live_hours(provider, zone, first, hours)
        if note:
            notes.append(note)
    if live:
        values, from_live = [], 0
        for i in range(hours):
            h = first + 3600 * i
            if h in live:
                values.append(live[h])
                from_live += 1
            elif profile is not None:
                values.append(profile[i])
            else:
                break  # past the forecast with nothing to fill: the outlook ends here
        if from_live < hours:
            notes.append(f"the live forecast covers {from_live} of {hours} h; "
                         + ("the rest from the shipped typical week" if profile is not None
                            else "no shipped hourly data to go further"))
        return Outlook(zone.key, first, tuple(values), "live",
                       f"{provider.name} forecast", tuple(notes), live_hours=from_live)
    if profile is not None:
        notes.append(f"typical {_tables.HOURLY_YEAR} week for the month (Electricity Maps "
                     "hourly, ODbL): a forecast of the usual daily cycle, not of this "
                     "week's weather")
        return Outlook(zone.key, first, profile, "shipped-profile",
                       "electricitymaps-hourly-2023", tuple(notes))
    if not flat_ok:
        raise NoHourlyData(
            f"zone {zone.key} has no hourly intensity data (shipped hourly zones: "
            f"{', '.join(_tables.hourly_zones())}), so no hour is known to be cleaner; "
            "configure a live provider (setting intensity_provider, e.g. "
            "WATTPRINT_INTENSITY_PROVIDER=electricitymaps with WATTPRINT_ELECTRICITYMAPS_TOKEN)"
            " or pick a zone with hourly data")
    from ..accounting.carbon import annual_intensity

    annual = annual_intensity(zone, datetime.fromtimestamp(first, timezone.utc).year)
    notes.append(f"no hourly data for {zone.key}: annual average "
                 f"({annual.provenance.describe()}) for every hour")
    return Outlook(zone.key, first, (annual.value,) * hours, "annual",
                   annual.provenance.dataset, tuple(notes))


def _live_hours(provider, zone: Zone, first: int, hours: int) -> tuple[dict[int, float], str]:
    from ..accounting.providers import ProviderError

    start = datetime.fromtimestamp(first, timezone.utc)
    end = datetime.fromtimestamp(first + 3600 * hours, timezone.utc)
    try:
        return provider.forecast(zone, start, end), ""
    except ProviderError as err:
        return {}, (f"live provider {provider.name} gave no forecast ({err.reason}: {err}); "
                    "shipped data used")
