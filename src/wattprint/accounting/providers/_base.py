"""The interface every intensity source implements, the shipped tables as one such
source, and the live base class: cache, timeout, and fallback to the shipped tables with
a note when the live source fails."""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta, timezone
from typing import Iterable

from .._timeline import PowerTrace, as_utc, energy_by_hour
from ..carbon import UNIT, location_intensity
from ..provenance import Figure, Provenance
from ..zones import Zone, resolve_zone
from ._http import ProviderError, Transport, urllib_transport

__all__ = ["IntensityProvider", "ShippedTables", "LiveProvider"]

log = logging.getLogger(__name__)


class IntensityProvider:
    """``intensity(zone, when=, duration_s=, power_trace=) -> Figure`` in g CO2e/kWh."""

    name = "abstract"

    def intensity(self, zone: "str | Zone", *, when: datetime | None = None,
                  duration_s: float | None = None,
                  power_trace: PowerTrace | None = None) -> Figure:
        raise NotImplementedError


class ShippedTables(IntensityProvider):
    """The package's own tables (hourly where covered, else annual). Never fails."""

    name = "shipped"

    def intensity(self, zone, *, when=None, duration_s=None, power_trace=None) -> Figure:
        return location_intensity(resolve_zone(zone), when, duration_s, power_trace)


class LiveProvider(IntensityProvider):
    """Base of the HTTP providers. Subclasses implement :meth:`fetch` returning
    ``[(hour start, g CO2e/kWh)]`` for ``[start, end)`` (or the latest value when
    ``start`` is None) and :attr:`title`, :attr:`licence`, :attr:`scope`.

    Answers are cached in memory: past hours for good, the latest value for
    ``latest_ttl_s``. Any :class:`ProviderError` (timeout, network, auth, unsupported zone,
    bad answer) falls back to ``fallback`` (the shipped tables) with a note.
    """

    title = "live provider"
    licence = "see the provider's terms"
    scope = ""
    #: Longest run a provider is asked about; longer runs use the shipped tables.
    max_hours = 240

    def __init__(self, *, transport: Transport | None = None, timeout_s: float = 3.0,
                 latest_ttl_s: float = 300.0, fallback: IntensityProvider | None = None,
                 clock=time.monotonic) -> None:
        self.transport = transport or urllib_transport
        self.timeout_s = timeout_s
        self.latest_ttl_s = latest_ttl_s
        self.fallback = fallback or ShippedTables()
        self._clock = clock
        self._cache: dict[tuple, tuple[float, list[tuple[datetime, float]]]] = {}

    # -- to implement ------------------------------------------------------------------------
    def fetch(self, zone: Zone, start: datetime | None, end: datetime | None
              ) -> list[tuple[datetime, float]]:
        raise NotImplementedError

    def fetch_forecast(self, zone: Zone, start: datetime, end: datetime
                       ) -> list[tuple[datetime, float]]:
        """Forecast points from ``start`` on (as far as the provider forecasts)."""
        raise ProviderError(f"{self.name} has no forecast endpoint", provider=self.name,
                            reason="unsupported_zone")

    # -- shared ------------------------------------------------------------------------------
    def forecast(self, zone: "str | Zone", start: datetime, end: datetime) -> dict[int, float]:
        """Epoch hour (UTC s) → forecast g CO2e/kWh for the hours of ``[start, end)`` the
        provider forecasts (half-hourly or 5-minute points averaged per hour). Raises
        :class:`ProviderError` (no fallback here: the caller says what it used instead).
        Cached for ``latest_ttl_s``."""
        zone = resolve_zone(zone)
        key = ("forecast", zone.key, zone.cloud_region, start, end)
        hit = self._cache.get(key)
        now = self._clock()
        if hit and now - hit[0] < self.latest_ttl_s:
            points = hit[1]
        else:
            points = self.fetch_forecast(zone, as_utc(start), as_utc(end))
            self._cache[key] = (now, points)
        lo, hi = as_utc(start).timestamp() // 3600 * 3600, as_utc(end).timestamp()
        out = {h: v for h, v in _hourly_means(points).items() if lo <= h < hi}
        bad = [v for v in out.values() if not math.isfinite(v) or v < 0]
        if bad:
            raise ProviderError(f"{self.name}: implausible forecast intensity {bad[0]}",
                                provider=self.name, reason="bad_response")
        if not out:
            raise ProviderError(f"{self.name}: no forecast for {zone.key} in the window",
                                provider=self.name, reason="bad_response")
        return out

    def _cached_fetch(self, zone: Zone, start: datetime | None, end: datetime | None
                      ) -> list[tuple[datetime, float]]:
        key = (zone.key, zone.cloud_region, start, end)
        hit = self._cache.get(key)
        now = self._clock()
        if hit and (start is not None or now - hit[0] < self.latest_ttl_s):
            return hit[1]
        points = self.fetch(zone, start, end)
        if not points:
            raise ProviderError(f"{self.name}: no data for {zone.key}", provider=self.name,
                                reason="bad_response")
        self._cache[key] = (now, points)
        return points

    def intensity(self, zone, *, when=None, duration_s=None, power_trace=None) -> Figure:
        zone = resolve_zone(zone)
        try:
            return self._live(zone, when, duration_s, power_trace)
        except ProviderError as err:
            log.info("%s failed, using shipped data: %s", self.name, err)
            shipped = self.fallback.intensity(zone, when=when, duration_s=duration_s,
                                              power_trace=power_trace)
            note = f"live provider {self.name} gave no figure ({err.reason}: {err}); " \
                   "shipped data used"
            return Figure(shipped.value, shipped.unit, shipped.provenance.with_note(note),
                          extra={**shipped.extra, "live_error": err.reason})

    def _live(self, zone: Zone, when: datetime | None, duration_s: float | None,
              power_trace: PowerTrace | None) -> Figure:
        if when is None:
            points = self._cached_fetch(zone, None, None)
            t, value = points[-1]
            return self._figure(zone, value, t, "latest value", hours=1)
        weights = energy_by_hour(when, duration_s, power_trace)
        hours = sorted(weights)
        if len(hours) > self.max_hours:
            raise ProviderError(f"{self.name}: run longer than {self.max_hours} h",
                                provider=self.name, reason="unsupported_zone")
        start = datetime.fromtimestamp(hours[0], timezone.utc)
        end = datetime.fromtimestamp(hours[-1] + 3600, timezone.utc)
        by_hour = _hourly_means(self._cached_fetch(zone, start, end))
        missing = [h for h in hours if h not in by_hour]
        if missing:
            raise ProviderError(f"{self.name}: {len(missing)} of {len(hours)} hours missing",
                                provider=self.name, reason="bad_response")
        total = sum(weights.values())
        value = sum(w * by_hour[h] for h, w in weights.items()) / total
        return self._figure(zone, value, as_utc(when), "energy-weighted over the run",
                            hours=len(hours))

    def _figure(self, zone: Zone, value: float, t: datetime, how: str, hours: int) -> Figure:
        if not math.isfinite(value) or value < 0:
            raise ProviderError(f"{self.name}: implausible intensity {value}",
                                provider=self.name, reason="bad_response")
        prov = Provenance(self.name, self.title, self.licence, zone.key, t.year, "live",
                          self.scope, notes=(f"{how}, fetched from the {self.title} API",))
        return Figure(value, UNIT, prov, extra={"hours": hours, "time": t.isoformat()})


def _hourly_means(points: Iterable[tuple[datetime, float]]) -> dict[int, float]:
    """Epoch hour → mean of the values in it (half-hourly series become hourly)."""
    sums: dict[int, list[float]] = {}
    for t, v in points:
        hour = int(math.floor(as_utc(t).timestamp() / 3600) * 3600)
        sums.setdefault(hour, []).append(v)
    return {h: sum(v) / len(v) for h, v in sums.items()}


def iso_z(t: datetime) -> str:
    return as_utc(t).strftime("%Y-%m-%dT%H:%MZ")


def parse_time(text: str) -> datetime:
    text = text.strip().replace("Z", "+00:00")
    return as_utc(datetime.fromisoformat(text))


def hours_between(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(hours=1))
