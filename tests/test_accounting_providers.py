"""Live intensity providers against recorded HTTP responses (no network): parsing, units,
energy weighting, caching, timeouts, and the fallback to the shipped tables."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from wattprint.accounting import account, annual_intensity
from wattprint.accounting.providers import (ProviderError, RecordedTransport, get_provider)
from wattprint.errors import ConfigError
from wattprint.units import lb_per_mwh_to_g_per_kwh

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
RUN = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)


def recorded(**routes: tuple[int, str]) -> RecordedTransport:
    return RecordedTransport({url: (status, (FIXTURES / name).read_text())
                              for url, (status, name) in routes.items()})


EM_LATEST = "https://api.electricitymap.org/v3/carbon-intensity/latest"
EM_RANGE = "https://api.electricitymap.org/v3/carbon-intensity/past-range"


def test_electricitymaps_latest_sends_the_token_and_parses():
    http = recorded(**{EM_LATEST: (200, "electricitymaps_latest_DE.json")})
    live = get_provider("electricitymaps", token="T0KEN", transport=http, env={})
    f = live.intensity("DE")
    assert f.value == 302
    p = f.provenance
    assert (p.dataset, p.zone, p.year, p.resolution) == ("electricitymaps", "DE", 2024, "live")
    method, url, headers, timeout = http.calls[0]
    assert url == EM_LATEST + "?zone=DE" and headers == {"auth-token": "T0KEN"}
    assert timeout == 3.0


def test_electricitymaps_past_range_is_energy_weighted():
    http = recorded(**{EM_RANGE: (200, "electricitymaps_past_range_DE.json")})
    live = get_provider("electricitymaps", token="t", transport=http, env={})
    assert live.intensity("DE", when=RUN, duration_s=3 * 3600).value == pytest.approx(300)
    # 1 kW for the first hour, 3 kW for the next two hours: (400 + 3·300 + 3·200) / 7
    trace = [(0, 1000), (3599.99, 1000), (3600, 3000), (10800, 3000)]
    f = live.intensity("DE", when=RUN, duration_s=3 * 3600, power_trace=trace)
    assert f.value == pytest.approx((400 + 900 + 600) / 7, rel=1e-4)
    assert "start=2024-03-01T00%3A00Z" in http.calls[0][1]


def test_token_from_the_environment_and_a_clear_error_without_one():
    http = recorded(**{EM_LATEST: (200, "electricitymaps_latest_DE.json")})
    live = get_provider("electricitymaps", transport=http,
                        env={"WATTPRINT_ELECTRICITYMAPS_TOKEN": "from-env"})
    live.intensity("DE")
    assert http.calls[0][2]["auth-token"] == "from-env"
    with pytest.raises(ConfigError, match="WATTPRINT_ELECTRICITYMAPS_TOKEN"):
        get_provider("electricitymaps", env={})
    with pytest.raises(ConfigError, match="unknown intensity provider"):
        get_provider("carbon-oracle", env={})


def test_failures_fall_back_to_shipped_data_with_a_note():
    shipped = annual_intensity("DE", 2024).value
    for http, reason in (
        (recorded(**{EM_RANGE: (401, "electricitymaps_unauthorized.json")}), "auth"),
        (RecordedTransport({}, raise_timeout=True), "timeout"),
        (RecordedTransport({}), "network"),
        (RecordedTransport({EM_RANGE: (200, "<html>oops</html>")}), "bad_response"),
        (RecordedTransport({EM_RANGE: (503, "")}), "http"),
    ):
        live = get_provider("electricitymaps", token="t", transport=http, env={})
        f = live.intensity("DE", when=RUN, duration_s=3600)
        assert f.value == shipped, reason
        assert f.extra["live_error"] == reason
        assert any("live provider electricitymaps gave no figure" in n
                   for n in f.provenance.notes)


def test_answers_are_cached_and_latest_values_expire():
    now = [0.0]
    http = recorded(**{EM_LATEST: (200, "electricitymaps_latest_DE.json"),
                       EM_RANGE: (200, "electricitymaps_past_range_DE.json")})
    live = get_provider("electricitymaps", token="t", transport=http, env={},
                        clock=lambda: now[0], latest_ttl_s=300)
    live.intensity("DE")
    live.intensity("DE")
    assert len(http.calls) == 1
    now[0] = 301
    live.intensity("DE")
    assert len(http.calls) == 2
    live.intensity("DE", when=RUN, duration_s=3600)
    now[0] = 1e9  # past hours never expire
    live.intensity("DE", when=RUN, duration_s=3600)
    assert len(http.calls) == 3


def test_uk_carbon_intensity_prefers_actual_over_forecast():
    http = recorded(**{
        "https://api.carbonintensity.org.uk/intensity/2024": (200, "ukgrid_intensity_range.json"),
        "https://api.carbonintensity.org.uk/intensity": (200, "ukgrid_intensity_latest.json"),
    })
    live = get_provider("uk-carbon-intensity", transport=http, env={})
    assert live.intensity("GB").value == 118
    f = live.intensity("GB", when=RUN, duration_s=7200)
    assert f.value == pytest.approx((150 + 100) / 2)  # hour 0: mean(140, 160); hour 1: forecast
    assert http.calls[-1][1].endswith("/intensity/2024-03-01T00:00Z/2024-03-01T02:00Z")
    # other zones are not covered: shipped data, with the reason
    other = live.intensity("FR", when=RUN, duration_s=3600)
    assert other.extra["live_error"] == "unsupported_zone"


def test_watttime_logs_in_converts_pounds_and_says_it_is_marginal():
    http = recorded(**{
        "https://api.watttime.org/login": (200, "watttime_login.json"),
        "https://api.watttime.org/v3/forecast": (200, "watttime_forecast.json"),
        "https://api.watttime.org/v3/historical": (200, "watttime_historical.json"),
    })
    live = get_provider("watttime", username="u", password="p", region="CAISO_NORTH",
                        transport=http, env={})
    f = live.intensity("US-CAL-CISO")
    assert f.value == pytest.approx(lb_per_mwh_to_g_per_kwh(1000))  # 453.6 g/kWh
    assert "marginal" in f.provenance.scope
    assert http.calls[0][2]["Authorization"].startswith("Basic ")
    assert http.calls[1][2] == {"Authorization": "Bearer recorded-token-123"}
    hist = live.intensity("US-CAL-CISO", when=RUN, duration_s=7200)
    assert hist.value == pytest.approx(lb_per_mwh_to_g_per_kwh((1000 + 900) / 2))
    assert sum(1 for c in http.calls if c[1].endswith("/login")) == 1  # token reused


def test_watttime_needs_credentials_and_a_region():
    with pytest.raises(ConfigError, match="WATTPRINT_WATTTIME_USERNAME"):
        get_provider("watttime", env={})
    live = get_provider("watttime", env={"WATTPRINT_WATTTIME_USERNAME": "u",
                                         "WATTPRINT_WATTTIME_PASSWORD": "p"},
                        transport=RecordedTransport({}))
    assert live.intensity("DE").extra["live_error"] == "unsupported_zone"


def test_account_uses_a_live_source_behind_the_same_interface():
    http = recorded(**{EM_RANGE: (200, "electricitymaps_past_range_DE.json")})
    live = get_provider("electricitymaps", token="t", transport=http, env={})
    acc = account(3.6e9, zone="DE", when=RUN, duration_s=3 * 3600, intensity_source=live)
    assert acc.intensity_location.value == pytest.approx(300)
    assert acc.co2e_location_g.value == pytest.approx(1000 * 300)
    assert acc.co2e_location_g.provenance.resolution == "live"


def test_provider_error_carries_fields():
    err = ProviderError("x", provider="p", reason="auth", status=401)
    assert (err.provider, err.reason, err.status) == ("p", "auth", 401)
    with pytest.raises(ValueError):
        ProviderError("x", provider="p", reason="bogus")
