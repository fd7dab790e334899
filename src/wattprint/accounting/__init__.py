"""Accounting: what an amount of electricity means in carbon, money and water.

    from wattprint.accounting import account
    acc = account(3.6e9, zone="aws:us-east-1", when=start, duration_s=7200,
                  provider="aws", price_per_kwh=0.12, currency="USD")
    acc.co2e_location_g.value, acc.co2e_location_g.provenance.describe()

Pure functions over shipped reference tables (``wattprint/data``, loaded on first use):
zones (:mod:`.zones`), grid intensity and CO2e (:mod:`.carbon`), PUE / water / embodied
(:mod:`.facility`), cost (:mod:`.cost`), equivalents (:mod:`.equivalents`); live
intensity providers are optional plug-ins (:mod:`.providers`). Methods, formulas and
defaults: docs/accounting.md.
"""

from .account import Accounting, account
from .carbon import annual_intensity, hourly_intensity, location_intensity, market_intensity
from .cost import TimeOfUseTariff
from .facility import embodied_co2e_g, pue_figure
from .provenance import Figure, Provenance
from .zones import UnknownZoneError, Zone, default_zone, resolve_zone, search_zones

__all__ = [
    "account", "Accounting", "Figure", "Provenance",
    "Zone", "UnknownZoneError", "resolve_zone", "search_zones", "default_zone",
    "annual_intensity", "hourly_intensity", "location_intensity", "market_intensity",
    "pue_figure", "embodied_co2e_g", "TimeOfUseTariff",
]
