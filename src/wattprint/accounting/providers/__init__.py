"""Live grid-intensity providers, optional plug-ins behind the shipped tables' interface.

    from wattprint.accounting.providers import get_provider
    live = get_provider("electricitymaps")          # token from WATTPRINT_ELECTRICITYMAPS_TOKEN
    account(energy_j, zone="DE", when=start, duration_s=3600, intensity_source=live)

Each provider answers ``intensity(zone, when=, duration_s=, power_trace=) -> Figure``,
with a timeout (3 s default) and an in-memory cache, and falls back to the shipped tables
with a note when it fails. Providers: ``shipped`` (the package tables), ``electricitymaps``
(token), ``watttime`` (username, password, region), ``uk-carbon-intensity`` (GB, no key).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ...errors import ConfigError
from ._base import IntensityProvider, LiveProvider, ShippedTables
from ._http import ProviderError, RecordedTransport, Response, urllib_transport

__all__ = ["IntensityProvider", "LiveProvider", "ShippedTables", "ProviderError",
           "RecordedTransport", "Response", "urllib_transport", "get_provider", "PROVIDERS",
           "ENV_KEYS"]

PROVIDERS = ("shipped", "electricitymaps", "watttime", "uk-carbon-intensity")
#: provider → {argument: environment variable} read when the argument is not given.
ENV_KEYS = {
    "electricitymaps": {"token": "WATTPRINT_ELECTRICITYMAPS_TOKEN"},
    "watttime": {"username": "WATTPRINT_WATTTIME_USERNAME",
                 "password": "WATTPRINT_WATTTIME_PASSWORD",
                 "region": "WATTPRINT_WATTTIME_REGION"},
}


def get_provider(name: str, *, env: Mapping[str, str] | None = None, **options: Any
                 ) -> IntensityProvider:
    """A provider by name, configured from ``options`` then the environment.

    Options for every live provider: ``transport``, ``timeout_s``, ``latest_ttl_s``,
    ``fallback``. Missing keys raise :class:`~wattprint.errors.ConfigError` naming the
    environment variable to set.
    """
    env = os.environ if env is None else env
    key = name.strip().lower().replace("_", "-")
    if key == "shipped":
        return ShippedTables()
    for arg, var in ENV_KEYS.get(key, {}).items():
        if options.get(arg) is None and env.get(var):
            options[arg] = env[var]
    if key == "electricitymaps":
        from ._electricitymaps import ElectricityMaps

        if not options.get("token"):
            raise ConfigError("Electricity Maps needs an API token: set "
                              "WATTPRINT_ELECTRICITYMAPS_TOKEN or pass token=",
                              key="token", allowed="an Electricity Maps API token")
        return ElectricityMaps(**options)
    if key == "watttime":
        from ._watttime import WattTime

        if not (options.get("username") and options.get("password")):
            raise ConfigError("WattTime needs a username and password: set "
                              "WATTPRINT_WATTTIME_USERNAME and WATTPRINT_WATTTIME_PASSWORD",
                              key="username")
        return WattTime(**options)
    if key in ("uk-carbon-intensity", "uk", "carbonintensity"):
        from ._ukgrid import UKCarbonIntensity

        return UKCarbonIntensity(**options)
    raise ConfigError(f"unknown intensity provider {name!r}; use one of {', '.join(PROVIDERS)}",
                      key="provider", value=name, allowed=", ".join(PROVIDERS))
