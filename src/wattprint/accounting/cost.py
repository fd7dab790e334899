"""Electricity cost: facility energy × the user's price per kWh, optionally by time of use.

wattprint ships no prices (they vary by contract far more than by country). A flat price,
or a :class:`TimeOfUseTariff` whose periods are local clock hours in an IANA time zone;
the run's energy is spread over clock hours as for hourly carbon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from ._timeline import PowerTrace, energy_by_hour
from .provenance import Figure, Provenance

__all__ = ["TimeOfUseTariff", "cost_figure"]


@dataclass(frozen=True)
class TimeOfUseTariff:
    """``periods``: ``[(from_hour, to_hour, price_per_kwh), ...]`` covering 0–24 local
    hours (``to_hour`` exclusive; ``(23, 7, p)`` wraps past midnight)."""

    periods: Sequence[tuple[float, float, float]]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        for h in range(24):
            if self._find(h + 0.5) is None:
                raise ValueError(f"tariff periods leave hour {h}:00 uncovered")

    def _find(self, hour: float) -> float | None:
        for a, b, price in self.periods:
            if (a <= hour < b) if a < b else (hour >= a or hour < b):
                return float(price)
        return None

    def price_at(self, when_utc: datetime) -> float:
        from zoneinfo import ZoneInfo

        local = when_utc.astimezone(ZoneInfo(self.timezone))
        return self._find(local.hour + local.minute / 60)  # type: ignore[return-value]


def cost_figure(facility_energy_kwh: float, *, price_per_kwh: float | None = None,
                currency: str = "EUR", tariff: TimeOfUseTariff | None = None,
                when: datetime | None = None, duration_s: float | None = None,
                power_trace: PowerTrace | None = None) -> Figure:
    """The cost, or a ``None`` figure saying to pass a price."""
    if tariff is not None:
        if when is None:
            raise ValueError("a time-of-use tariff needs the run's start time (when=)")
        weights = energy_by_hour(when, duration_s, power_trace)
        total = sum(weights.values())
        mean_price = sum(w * tariff.price_at(datetime.fromtimestamp(h, timezone.utc))
                         for h, w in weights.items()) / total
        return Figure(facility_energy_kwh * mean_price, currency,
                      Provenance("user", "time-of-use tariff given by the user", "n/a",
                                 resolution="hourly"),
                      extra={"price_per_kwh": mean_price, "currency": currency})
    if price_per_kwh is None:
        return Figure(None, currency, Provenance(
            "none", "no electricity price given", "n/a", resolution="none",
            notes=("pass price_per_kwh= (and currency=) to get a cost",)),
            extra={"currency": currency})
    if price_per_kwh < 0:
        raise ValueError("price_per_kwh cannot be negative")
    return Figure(facility_energy_kwh * price_per_kwh, currency,
                  Provenance("user", "price per kWh given by the user", "n/a",
                             resolution="user"),
                  extra={"price_per_kwh": price_per_kwh, "currency": currency})
