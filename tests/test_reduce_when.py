"""``when``: the chosen start is the true minimum over every candidate (brute force over
the same outlook), across DST changes; the edges (a job longer than the window, a zone
without hourly data); live forecasts from recorded responses; the CLI."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from _cli import wp
from wattprint.accounting import _tables
from wattprint.accounting.carbon import hourly_intensity
from wattprint.accounting.providers import RecordedTransport, get_provider
from wattprint.errors import UsageError
from wattprint.reduce._outlook import NoHourlyData, outlook, typical_week
from wattprint.reduce.when import best_window, plan_when, window_mean

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
UTC = timezone.utc


def brute_force(series, now, duration_s, latest_end):
    """Every candidate start (now, then each whole hour), each mean from the hourly
    weights of accounting's own timeline, the minimum and its earliest start."""
    starts = [now]
    t = datetime.fromtimestamp((int(now.timestamp()) // 3600 + 1) * 3600, UTC)
    while t + timedelta(seconds=duration_s) <= latest_end:
        starts.append(t)
        t += timedelta(hours=1)
    means = [(window_mean(series, s, duration_s), s) for s in starts]
    low = min(m for m, _ in means)
    return low, min(s for m, s in means if m <= low * (1 + 1e-9)), len(starts)


@pytest.mark.parametrize("zone", ["DE", "US-CAL-CISO", "AU-NSW", "GB"])
def test_the_chosen_window_is_the_minimum_over_all_candidates(zone):
    rng = random.Random(zone)
    for _ in range(12):
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 360 * 86400))
        duration_s = rng.choice([3600, 6 * 3600, 5400, rng.uniform(600, 30 * 3600)])
        latest_end = now + timedelta(seconds=duration_s + rng.uniform(0, 7 * 86400))
        series = outlook(zone, now, latest_end)
        best, now_w, worst, count = best_window(series, now, duration_s, latest_end)
        low, start, n = brute_force(series, now, duration_s, latest_end)
        assert best.mean_g_per_kwh == pytest.approx(low, rel=1e-9)
        assert best.start == start and count == n
        assert now_w.mean_g_per_kwh == pytest.approx(window_mean(series, now, duration_s))
        assert worst.mean_g_per_kwh >= best.mean_g_per_kwh


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])  # EU clocks change
def test_dst_days_follow_local_clock_hours(day):
    tz = ZoneInfo("Europe/Berlin")
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(hours=2)
    series = outlook("DE", start, start + timedelta(hours=30))
    means, tz_name = typical_week("DE")
    assert tz_name == "Europe/Berlin"
    local_hours = []
    for i, value in enumerate(series.values):
        local = datetime.fromtimestamp(series.start_hour + 3600 * i, tz)
        local_hours.append(local.hour)
        assert value == means[(local.month - 1) * 168 + local.weekday() * 24 + local.hour]
    # the 24 UTC hours of the day hold 23 (spring) or 25 (autumn, one twice) local hours
    day_hours = local_hours[2:26]
    assert (2 not in day_hours) if day.endswith("03-29") else (day_hours.count(2) == 2)
    now = start + timedelta(minutes=17)
    end = start + timedelta(hours=30)
    best, *_ = best_window(series, now, 4 * 3600, end)
    assert best.mean_g_per_kwh == pytest.approx(brute_force(series, now, 4 * 3600, end)[0])


def test_typical_week_is_the_mean_of_the_hours_it_stands_for():
    series = _tables.hourly_zone("GB")
    tz = ZoneInfo(series.timezone)
    t0 = datetime(series.year, 1, 1, tzinfo=UTC)
    picked = [v for i, v in enumerate(series.intensity_g_per_kwh)
              if (lambda lt: (lt.month, lt.weekday(), lt.hour) == (6, 2, 13))(
                  (t0 + timedelta(hours=i)).astimezone(tz))]
    assert len(picked) in (4, 5)
    assert typical_week("GB")[0][5 * 168 + 2 * 24 + 13] == pytest.approx(sum(picked) / len(picked))


def test_a_job_longer_than_the_window_is_refused_clearly():
    now = datetime(2026, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(UsageError, match="does not fit before the deadline"):
        plan_when("DE", 10 * 3600, now=now, deadline=now + timedelta(hours=8))
    with pytest.raises(UsageError, match="in the past"):
        plan_when("DE", 3600, now=now, deadline=now - timedelta(hours=1))
    # exactly fitting: one candidate, now
    plan = plan_when("DE", 8 * 3600, now=now, deadline=now + timedelta(hours=8))
    assert plan.candidates == 1 and plan.best.start == now and plan.wait_s == 0


def test_a_zone_without_hourly_data_says_so():
    with pytest.raises(NoHourlyData, match="FR has no hourly intensity data.*DE"):
        plan_when("FR", 3600, now=datetime(2026, 5, 1, tzinfo=UTC))
    flat = outlook("FR", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC),
                   flat_ok=True)
    assert flat.source == "annual" and len(set(flat.values)) == 1


def test_saving_is_the_difference_of_the_two_windows():
    now = datetime(2026, 7, 1, 3, 30, tzinfo=UTC)  # California evening: solar hours ahead
    plan = plan_when("US-CAL-CISO", 4 * 3600, now=now, within_s=24 * 3600,
                     energy_j=1000 * 3.6e6, pue=1.25)
    assert plan.best.mean_g_per_kwh < plan.now_window.mean_g_per_kwh
    assert plan.wait_s > 0 and plan.best.start <= now + timedelta(hours=24)
    expected = 1000 * 1.25 * (plan.now_window.mean_g_per_kwh - plan.best.mean_g_per_kwh)
    assert plan.co2e_saved_g == pytest.approx(expected)


# -- live forecasts ----------------------------------------------------------------------
def recorded(url: str, name: str) -> RecordedTransport:
    return RecordedTransport({url: (200, (FIXTURES / name).read_text())})


FC_NOW = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


def test_electricitymaps_forecast_picks_the_known_cleanest_hours():
    http = recorded("https://api.electricitymap.org/v3/carbon-intensity/forecast",
                    "electricitymaps_forecast_DE.json")
    live = get_provider("electricitymaps", token="t", transport=http, env={})
    plan = plan_when("DE", 3 * 3600, now=FC_NOW, within_s=20 * 3600, provider=live)
    assert plan.outlook.source == "live" and plan.outlook.live_hours == 23  # the 23 h asked for
    assert plan.best.start == datetime(2024, 3, 1, 13, tzinfo=UTC)
    assert plan.best.mean_g_per_kwh == pytest.approx((120 + 110 + 115) / 3)
    assert http.calls[0][1].endswith("forecast?zone=DE")


def test_uk_forecast_half_hours_become_hours_and_the_rest_comes_from_the_profile():
    http = recorded("https://api.carbonintensity.org.uk/intensity/", "ukgrid_intensity_fw48h.json")
    live = get_provider("uk-carbon-intensity", transport=http)
    plan = plan_when("GB", 2 * 3600, now=FC_NOW, within_s=20 * 3600, provider=live)
    assert plan.outlook.live_hours == 12
    assert plan.outlook.values[0] == pytest.approx((200 + 190) / 2)
    assert any("covers 12 of" in n for n in plan.outlook.notes)
    assert http.calls[0][1].endswith("/intensity/2024-03-01T00:00Z/fw48h")
    low, start, _ = brute_force(plan.outlook, FC_NOW, 2 * 3600, plan.latest_end)
    assert plan.best.start == start


def test_watttime_forecast_in_lb_per_mwh():
    routes = {"https://api.watttime.org/login": (200, (FIXTURES / "watttime_login.json").read_text()),
              "https://api.watttime.org/v3/forecast": (
                  200, (FIXTURES / "watttime_forecast_4h.json").read_text())}
    live = get_provider("watttime", username="u", password="p", region="CAISO_NORTH",
                        transport=RecordedTransport(routes), env={})
    series = outlook("US-CAL-CISO", FC_NOW, FC_NOW + timedelta(hours=4), provider=live)
    assert series.values[:4] == pytest.approx([v * 0.45359237 for v in (900, 700, 500, 800)])
    best, *_ = best_window(series, FC_NOW, 3600, FC_NOW + timedelta(hours=4))
    assert best.start == datetime(2024, 3, 1, 2, tzinfo=UTC)


def test_a_failing_provider_falls_back_to_the_profile_and_says_so():
    live = get_provider("electricitymaps", token="t", transport=RecordedTransport({}), env={})
    plan = plan_when("DE", 3600, now=FC_NOW, provider=live)
    assert plan.outlook.source == "shipped-profile"
    assert any("gave no forecast" in n for n in plan.outlook.notes)


# -- the CLI ---------------------------------------------------------------------------------
def test_cli_when_json_and_text(tmp_path):
    proc = wp(tmp_path, "when", "--duration", "6h", "--within", "48h", "--zone", "US-CAL-CISO",
              "--energy", "500kWh", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["source"] == "shipped-profile" and data["basis"] == "estimated"
    assert data["best"]["mean_g_per_kwh"] <= data["start_now"]["mean_g_per_kwh"]
    assert data["co2e_saved_g"] == pytest.approx(
        500 * (data["start_now"]["mean_g_per_kwh"] - data["best"]["mean_g_per_kwh"]))
    assert data["candidates"] >= 48
    text = wp(tmp_path, "when", "--duration", "90min", "--zone", "DE")
    assert text.returncode == 0 and "best start" in text.stdout and "typical" in text.stdout


def test_cli_when_checks_its_best_start_on_the_actual_days_it_averages(tmp_path):
    """The typical week's best start, checked on the actual 2023 hours of the days it
    averages (the planning clock pinned with WATTPRINT_NOW): how many were cleaner and the
    range, recomputed here from the hourly table; the text says so and warns when the
    start was dirtier on some."""
    from _cli import cli_env
    from wattprint.reduce.when import day_savings

    now = datetime(2026, 12, 7, 14, 59, tzinfo=timezone.utc)  # a Monday in December
    env = {**cli_env(tmp_path), "WATTPRINT_NOW": now.isoformat()}
    data = json.loads(wp(tmp_path, "when", "--duration", "6h", "--zone", "DE", "--json",
                         env=env).stdout)
    best = datetime.fromisoformat(data["best"]["start"])
    by_hand = []  # the Mondays of December 2023, found on the calendar
    for day in range(1, 32):
        t = datetime(2023, 12, day, 14, 59, tzinfo=timezone.utc)
        if t.weekday() == 0:  # Mondays of December 2023
            now_v = hourly_intensity("DE", t, 6 * 3600).value
            later_v = hourly_intensity("DE", t + (best - now), 6 * 3600).value
            by_hand.append(1 - later_v / now_v)
    assert len(by_hand) == 4
    assert sorted(day_savings("DE", now, best - now, 6 * 3600)) == pytest.approx(
        sorted(by_hand))
    past = data["past_days"]
    assert past["days"] == 4 and past["which"] == "Mondays of December 2023"
    assert past["cleaner_on"] == sum(x > 0 for x in by_hand)
    assert past["saving_pct_low"] == pytest.approx(min(by_hand) * 100)
    assert past["saving_pct_high"] == pytest.approx(max(by_hand) * 100)
    text = wp(tmp_path, "when", "--duration", "6h", "--zone", "DE", env=env).stdout
    line = next(x for x in text.splitlines() if "checked on the actual hours" in x)
    assert f"cleaner on {past['cleaner_on']} of them" in line
    assert ("not a promise" in line) == (past["cleaner_on"] < 4)


@pytest.mark.parametrize("args, message", [
    (["--duration", "6h", "--zone", "FR"], "FR has no hourly intensity data"),
    (["--duration", "30h", "--deadline", "20h", "--zone", "DE"], "does not fit"),
    (["--duration", "six", "--zone", "DE"], "cannot read 'six' as a duration"),
    (["--zone", "DE"], "--duration is needed"),
    (["--duration", "1h"], "no zone"),
    (["--duration", "1h", "--zone", "DE", "--deadline", "tomorrow-ish"], "is not a time"),
])
def test_cli_when_bad_input_is_one_line_exit_2(tmp_path, args, message):
    proc = wp(tmp_path, "when", *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("zone", _tables.hourly_zones())
def test_fast_local_hours_match_zoneinfo_hour_by_hour(zone):
    """The typical week's cells (offsets looked up once a day) against zoneinfo per hour,
    over a year with both DST changes (and Kolkata's half-hour offset)."""
    from wattprint.reduce._outlook import _week_cells

    tz = ZoneInfo(_tables.hourly_zone(zone).timezone)
    t0 = int(datetime(2026, 1, 1, 7, tzinfo=UTC).timestamp())
    for i, cell in enumerate(_week_cells(tz, t0, 8760)):
        local = datetime.fromtimestamp(t0 + 3600 * i, tz)
        assert cell == (local.month - 1) * 168 + local.weekday() * 24 + local.hour, (zone, i)


def test_library_planners_use_the_planning_clock(monkeypatch):
    """``plan_when`` without ``now`` plans from the same clock as the CLI (``WATTPRINT_NOW``
    when set), not from the wall clock."""
    from wattprint.reduce.when import plan_when

    monkeypatch.setenv("WATTPRINT_NOW", "2026-03-02T05:00:00Z")
    plan = plan_when("DE", 2 * 3600, within_s=12 * 3600)
    assert plan.now == datetime(2026, 3, 2, 5, tzinfo=timezone.utc)
    assert plan.to_dict() == plan_when("DE", 2 * 3600, within_s=12 * 3600,
                                       now=datetime(2026, 3, 2, 5,
                                                    tzinfo=timezone.utc)).to_dict()
