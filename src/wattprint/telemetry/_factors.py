"""Carbon and cost per joule for the exported counters, from :func:`wattprint.accounting.account`
(the one rule for CO2e and cost), cached per zone, PUE, price and hour.

The exported CO2e and cost counters are energy counters times these factors: linear, so a
counter never goes down, and a run's figures equal what ``account()`` gives for the
run's recorded energy (for zones with an annual intensity; for zones with an hourly
profile the exporter uses the hour the run started, the report weights every hour).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import NamedTuple

__all__ = ["Factors", "factors"]

log = logging.getLogger("wattprint")

J_PER_KWH = 3.6e6
_CACHE: dict[tuple, "Factors"] = {}
_WARNED: set[str] = set()


class Factors(NamedTuple):
    """Grams of CO2e and cost per joule of IT energy, the zone they are for, and the
    currency (``cost_per_j`` is None without a price)."""

    co2e_g_per_j: float
    cost_per_j: float | None
    currency: str
    zone: str


def factors(zone: str | None, *, when: datetime | None = None, pue: float | None = None,
            price_per_kwh: float | None = None, currency: str | None = None) -> Factors:
    """The factors for IT energy spent in ``zone`` at ``when`` (default: now). An unknown
    zone (a run recorded with one this version does not know) falls back to the default
    zone, logged once."""
    from ..accounting import account

    when = when or datetime.now(timezone.utc)
    hour = when.replace(minute=0, second=0, microsecond=0)
    key = (zone, hour, pue, price_per_kwh, currency)
    found = _CACHE.get(key)
    if found is not None:
        return found
    try:
        acc = account(J_PER_KWH, zone=zone, when=hour, pue=pue, price_per_kwh=price_per_kwh,
                      currency=currency or "EUR")
    except ValueError as err:
        if str(zone) not in _WARNED:
            _WARNED.add(str(zone))
            log.warning("wattprint: exporter: zone %r cannot be accounted (%s); using the "
                        "default zone", zone, err)
        acc = account(J_PER_KWH, when=hour, pue=pue, price_per_kwh=price_per_kwh,
                      currency=currency or "EUR")
    cost = acc.cost.value
    found = Factors(acc.co2e_location_g.value / J_PER_KWH,
                    cost / J_PER_KWH if cost is not None else None,
                    acc.cost.unit or (currency or "EUR"), acc.zone.key)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[key] = found
    return found
