"""Human units for the estimator's inputs: counts, durations, powers, masses of CO2e."""

from __future__ import annotations

import pytest

from wattprint.errors import UsageError
from wattprint.units import (format_duration, format_mass, parse_count, parse_duration,
                             parse_mass_co2e, parse_power)


@pytest.mark.parametrize("text, value", [
    ("175B", 175e9), ("7e9", 7e9), ("1.8T", 1.8e12), ("560M", 560e6), ("300B tokens", 300e9),
    ("175 billion", 175e9), ("1,000", 1000), ("13k", 13e3), ("6.7B params", 6.7e9),
    ("15T tokens", 15e12), (" 2.5 bn ", 2.5e9), (42, 42.0), ("3.55M", 3.55e6),
])
def test_parse_count(text, value):
    assert parse_count(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "B", "175X", "-5B", "lots", "1e999"])
def test_parse_count_rejects(text):
    with pytest.raises(UsageError):
        parse_count(text, what="parameter count")


@pytest.mark.parametrize("text, seconds", [
    ("14.8d", 14.8 * 86400), ("36h", 36 * 3600), ("3w", 3 * 604800), ("90 days", 90 * 86400),
    ("45min", 2700), ("30m", 1800), ("5mo", 5 * 2629800), ("1y", 31557600), ("~150 days",
                                                                           150 * 86400),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_duration_needs_a_unit():
    with pytest.raises(UsageError, match="no unit"):
        parse_duration(12)
    assert parse_duration(12, default_unit="h") == 43200
    with pytest.raises(UsageError):
        parse_duration("12 parsecs")


@pytest.mark.parametrize("text, watts", [("400W", 400), ("0.4 kW", 400), ("10.2kW", 10200),
                                         ("1.5 MW", 1.5e6), ("700 w", 700)])
def test_parse_power(text, watts):
    assert parse_power(text) == pytest.approx(watts)


def test_parse_power_rejects():
    for bad in ("400", "400 Wh", "fast"):
        with pytest.raises(UsageError):
            parse_power(bad)


@pytest.mark.parametrize("text, grams", [
    ("552 tCO2e", 552e6), ("552 t", 552e6), ("284,000 kg CO2e", 284e6),
    ("626,155 lbs", 626155 * 453.59237), ("12 gCO2eq", 12), ("0.5 Mt", 0.5e12),
])
def test_parse_mass(text, grams):
    assert parse_mass_co2e(text) == pytest.approx(grams)


def test_formatting():
    assert format_duration(14.8 * 86400) == "14.8 days"
    assert format_duration(5400) == "1.5 h"
    assert format_mass(552e6) == "552 t"
    assert format_mass(1200) == "1.2 kg"
