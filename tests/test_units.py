"""Human energy units: parsing, formatting, and the lb/MWh conversion eGRID needs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.errors import UsageError
from wattprint.units import (J_PER_KWH, format_count, format_energy, lb_per_mwh_to_g_per_kwh,
                             parse_energy, round_sig)


@pytest.mark.parametrize("text, joules", [
    ("1287MWh", 1287 * 3.6e9),
    ("1,287 MWh", 1287 * 3.6e9),
    ("1.28 TWh", 1.28 * 3.6e15),
    ("350 kWh", 350 * 3.6e6),
    ("5e9 J", 5e9),
    ("5E9J", 5e9),
    ("12 Wh", 43_200),
    ("3.5 GJ", 3.5e9),
    ("2 kW·h", 7.2e6),
    ("1287 mwh", 1287 * 3.6e9),  # lower case means mega: nobody accounts AI in milli-Wh
    (" .5 kWh ", 1.8e6),
])
def test_parse_energy(text, joules):
    assert parse_energy(text) == pytest.approx(joules)


@pytest.mark.parametrize("text", ["", "kWh", "12", "12 W", "12 furlongs", "-5 kWh", "1e999 J",
                                  "twelve kWh"])
def test_parse_energy_rejects(text):
    with pytest.raises(UsageError):
        parse_energy(text)


def test_bare_numbers_need_an_explicit_default_unit():
    with pytest.raises(UsageError, match="no unit"):
        parse_energy(12)
    assert parse_energy(12, default_unit="kWh") == 12 * J_PER_KWH
    assert parse_energy("12", default_unit="J") == 12


def test_format_energy_picks_a_readable_unit():
    assert format_energy(1287 * 3.6e9) == "1.29 GWh"  # three significant figures
    assert format_energy(1287 * 3.6e9, digits=4) == "1.287 GWh"
    assert format_energy(3.6e6) == "1 kWh"
    assert format_energy(100) == "100 J"
    assert format_energy(1.28 * 3.6e15) == "1.28 TWh"


@given(st.floats(min_value=1e-3, max_value=1e18, allow_nan=False))
def test_format_then_parse_round_trips_to_four_figures(joules):
    assert parse_energy(format_energy(joules, digits=12)) == pytest.approx(joules, rel=1e-9)


def test_egrid_pounds_per_mwh_to_grams_per_kwh():
    # 1 lb/MWh = 453.59237 g / 1000 kWh (exact); California eGRID2023: 394.769 lb/MWh.
    assert lb_per_mwh_to_g_per_kwh(1000) == pytest.approx(453.59237)
    assert lb_per_mwh_to_g_per_kwh(394.769) == pytest.approx(179.06, abs=0.01)


@pytest.mark.parametrize("value, text", [(6435, "6,400"), (1441.2, "1,400"),
                                         (58_500_000, "58 million"),
                                         (6_435_000, "6.4 million"), (0.0123, "0.012")])
def test_format_count_rounds_like_a_journalist(value, text):
    assert format_count(value) == text


def test_round_sig():
    assert round_sig(6523.1) == 6500 and round_sig(0) == 0
