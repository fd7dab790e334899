"""WattTime API v3 (<https://api.watttime.org>): marginal operating emissions rate (MOER)
of a WattTime region, in lb CO2/MWh, converted to g/kWh. Username and password give a
token (``/login``); the region (e.g. ``CAISO_NORTH``) is configured, since WattTime
regions are not Electricity Maps zones.

A marginal rate answers "what does one more kWh now emit" — right for scheduling, not an
average for GHG-Protocol location-based reports; figures say so.
"""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import urlencode

from ...units import lb_per_mwh_to_g_per_kwh
from ..zones import Zone
from ._base import LiveProvider, iso_z, parse_time
from ._http import ProviderError, get_json

BASE_URL = "https://api.watttime.org"


class WattTime(LiveProvider):
    name = "watttime"
    title = "WattTime API (marginal emissions)"
    licence = "WattTime API terms"
    scope = "marginal (MOER), not an average"

    def __init__(self, username: str, password: str, *, region: str | None = None,
                 regions: dict[str, str] | None = None, base_url: str = BASE_URL,
                 **kw) -> None:
        super().__init__(**kw)
        if not username or not password:
            raise ProviderError("watttime: username and password needed", provider=self.name,
                                reason="no_key")
        self.username, self.password = username, password
        self.region, self.regions = region, dict(regions or {})
        self.base_url = base_url.rstrip("/")
        self._token: str | None = None

    def _login(self) -> str:
        if self._token is None:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            data = get_json(self.transport, self.name, f"{self.base_url}/login",
                            {"Authorization": f"Basic {basic}"}, self.timeout_s)
            token = data.get("token") if isinstance(data, dict) else None
            if not token:
                raise ProviderError("watttime: login gave no token", provider=self.name,
                                    reason="auth")
            self._token = token
        return self._token

    def _region(self, zone: Zone) -> str:
        region = self.regions.get(zone.key) or self.region
        if not region:
            raise ProviderError(f"watttime: no WattTime region configured for {zone.key}",
                                provider=self.name, reason="unsupported_zone")
        return region

    def fetch(self, zone: Zone, start: datetime | None, end: datetime | None
              ) -> list[tuple[datetime, float]]:
        region = self._region(zone)
        headers = {"Authorization": f"Bearer {self._login()}"}
        if start is None:
            query = urlencode({"region": region, "signal_type": "co2_moer", "horizon_hours": 0})
            url = f"{self.base_url}/v3/forecast?{query}"
        else:
            query = urlencode({"region": region, "signal_type": "co2_moer",
                               "start": iso_z(start), "end": iso_z(end)})
            url = f"{self.base_url}/v3/historical?{query}"
        data = get_json(self.transport, self.name, url, headers, self.timeout_s)
        try:
            units = data.get("meta", {}).get("units", "lbs_co2_per_mwh")
            if units != "lbs_co2_per_mwh":
                raise ProviderError(f"watttime: unexpected units {units!r}", provider=self.name,
                                    reason="bad_response")
            points = [(parse_time(r["point_time"]), lb_per_mwh_to_g_per_kwh(float(r["value"])))
                      for r in data["data"]]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ProviderError("watttime: unexpected answer", provider=self.name,
                                reason="bad_response") from err
        if start is None:
            return points[:1]
        return [(t, v) for t, v in points if start <= t < end]

    def fetch_forecast(self, zone: Zone, start: datetime, end: datetime
                       ) -> list[tuple[datetime, float]]:
        region = self._region(zone)
        headers = {"Authorization": f"Bearer {self._login()}"}
        query = urlencode({"region": region, "signal_type": "co2_moer"})
        data = get_json(self.transport, self.name, f"{self.base_url}/v3/forecast?{query}",
                        headers, self.timeout_s)
        try:
            units = data.get("meta", {}).get("units", "lbs_co2_per_mwh")
            if units != "lbs_co2_per_mwh":
                raise ProviderError(f"watttime: unexpected units {units!r}", provider=self.name,
                                    reason="bad_response")
            return [(parse_time(r["point_time"]), lb_per_mwh_to_g_per_kwh(float(r["value"])))
                    for r in data["data"]]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ProviderError("watttime: unexpected forecast answer", provider=self.name,
                                reason="bad_response") from err
