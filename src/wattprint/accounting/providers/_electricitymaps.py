"""Electricity Maps API v3 (<https://api.electricitymap.org>): life-cycle carbon intensity
of a zone, latest or past hours. Needs an API token (``auth-token`` header)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from ..zones import Zone
from ._base import LiveProvider, iso_z, parse_time
from ._http import ProviderError, get_json

BASE_URL = "https://api.electricitymap.org/v3"


class ElectricityMaps(LiveProvider):
    name = "electricitymaps"
    title = "Electricity Maps API"
    licence = "Electricity Maps API terms (data ODbL for open use)"
    scope = "life-cycle"

    def __init__(self, token: str, *, base_url: str = BASE_URL, **kw) -> None:
        super().__init__(**kw)
        if not token:
            raise ProviderError("electricitymaps: no API token", provider=self.name,
                                reason="no_key")
        self.token, self.base_url = token, base_url.rstrip("/")

    def fetch(self, zone: Zone, start: datetime | None, end: datetime | None
              ) -> list[tuple[datetime, float]]:
        headers = {"auth-token": self.token}
        if start is None:
            url = f"{self.base_url}/carbon-intensity/latest?{urlencode({'zone': zone.key})}"
            data = get_json(self.transport, self.name, url, headers, self.timeout_s)
            rows = [data]
        else:
            query = urlencode({"zone": zone.key, "start": iso_z(start), "end": iso_z(end)})
            url = f"{self.base_url}/carbon-intensity/past-range?{query}"
            data = get_json(self.transport, self.name, url, headers, self.timeout_s)
            rows = data.get("data", []) if isinstance(data, dict) else []
        try:
            return [(parse_time(r["datetime"]), float(r["carbonIntensity"])) for r in rows
                    if r.get("carbonIntensity") is not None]
        except (KeyError, TypeError, ValueError) as err:
            raise ProviderError("electricitymaps: unexpected answer", provider=self.name,
                                reason="bad_response") from err

    def fetch_forecast(self, zone: Zone, start: datetime, end: datetime
                       ) -> list[tuple[datetime, float]]:
        url = f"{self.base_url}/carbon-intensity/forecast?{urlencode({'zone': zone.key})}"
        data = get_json(self.transport, self.name, url, {"auth-token": self.token},
                        self.timeout_s)
        rows = data.get("forecast", []) if isinstance(data, dict) else []
        try:
            return [(parse_time(r["datetime"]), float(r["carbonIntensity"])) for r in rows
                    if r.get("carbonIntensity") is not None]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ProviderError("electricitymaps: unexpected forecast answer",
                                provider=self.name, reason="bad_response") from err
