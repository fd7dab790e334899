"""GB Carbon Intensity API (National Energy System Operator, <https://carbonintensity.org.uk>):
half-hourly CO2 intensity of GB electricity, actual where known, forecast otherwise.
No key needed; zone GB only."""

from __future__ import annotations

from datetime import datetime

from ..zones import Zone
from ._base import LiveProvider, iso_z, parse_time
from ._http import ProviderError, get_json

BASE_URL = "https://api.carbonintensity.org.uk"


class UKCarbonIntensity(LiveProvider):
    name = "uk-carbon-intensity"
    title = "GB Carbon Intensity API (NESO)"
    licence = "CC-BY-4.0 (National Energy System Operator)"
    scope = "direct CO2 (generation and imports)"

    def __init__(self, *, base_url: str = BASE_URL, **kw) -> None:
        super().__init__(**kw)
        self.base_url = base_url.rstrip("/")

    def fetch(self, zone: Zone, start: datetime | None, end: datetime | None
              ) -> list[tuple[datetime, float]]:
        if zone.key != "GB":
            raise ProviderError(f"{self.name} covers Great Britain only, not {zone.key}",
                                provider=self.name, reason="unsupported_zone")
        url = f"{self.base_url}/intensity" if start is None else \
            f"{self.base_url}/intensity/{iso_z(start)}/{iso_z(end)}"
        data = get_json(self.transport, self.name, url, {"Accept": "application/json"},
                        self.timeout_s)
        points = []
        try:
            for r in data["data"]:
                value = r["intensity"].get("actual")
                if value is None:
                    value = r["intensity"].get("forecast")
                t = parse_time(r["from"])
                if value is not None and (start is None or start <= t < end):
                    points.append((t, float(value)))
        except (KeyError, TypeError, ValueError) as err:
            raise ProviderError(f"{self.name}: unexpected answer", provider=self.name,
                                reason="bad_response") from err
        return points

    def fetch_forecast(self, zone: Zone, start: datetime, end: datetime
                       ) -> list[tuple[datetime, float]]:
        if zone.key != "GB":
            raise ProviderError(f"{self.name} covers Great Britain only, not {zone.key}",
                                provider=self.name, reason="unsupported_zone")
        url = f"{self.base_url}/intensity/{iso_z(start)}/fw48h"
        data = get_json(self.transport, self.name, url, {"Accept": "application/json"},
                        self.timeout_s)
        try:
            return [(parse_time(r["from"]), float(r["intensity"]["forecast"]))
                    for r in data["data"] if r["intensity"].get("forecast") is not None]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ProviderError(f"{self.name}: unexpected forecast answer",
                                provider=self.name, reason="bad_response") from err
