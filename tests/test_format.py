"""People-facing numbers: one formatter per quantity, never scientific notation, never a
300-digit number, never 'nan' or 'inf', and what is shown reads back to the value."""

from __future__ import annotations

import logging
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint._format import (CAP, DURATION_STEPS, ENERGY_STEPS, MASS_STEPS, POWER_STEPS,
                               WATER_STEPS, WORDS, energy_scale, format_duration,
                               format_energy, format_mass, format_money, format_number,
                               format_power, format_water)
from wattprint.units import parse_energy

LADDERS = [(format_energy, ENERGY_STEPS), (format_power, POWER_STEPS),
           (format_duration, DURATION_STEPS), (format_mass, MASS_STEPS),
           (format_water, WATER_STEPS)]
_SHOWN = re.compile(r"^(?P<cmp>[<>] )?(?P<num>[\d,]+(?:\.\d+)?)(?: (?P<word>million|billion|"
                    r"trillion))?(?: (?P<unit>\S+))?$")


def _read_back(text: str, steps) -> tuple[str, float, float]:
    """(comparator or "", value shown in its unit, base units per that unit)."""
    m = _SHOWN.match(text)
    assert m, text
    words = {word: size for size, word in WORDS}
    units = {s.unit: s.size for s in steps} | {s.singular: s.size for s in steps if s.singular}
    value = float(m["num"].replace(",", "")) * words.get(m["word"], 1.0)
    return (m["cmp"] or "").strip(), value, units[m["unit"]] if m["unit"] else 1.0


def _check(text: str, value: float, steps, digits: int = 3) -> None:
    assert len(text) <= 24, text
    for bad in ("e+", "e-", "nan", "inf", "E+"):
        assert bad not in text, text
    cmp, number, factor = _read_back(text, steps)
    shown = number * factor
    if cmp == "<":
        assert value < shown
    elif cmp == ">":
        assert value >= shown
    elif shown == 0:
        assert value == 0
    else:
        # Rounded to `digits` significant figures: half a unit in the last place.
        tolerance = 0.5 * 10 ** (math.floor(math.log10(number)) - digits + 1) * factor
        assert abs(value - shown) <= tolerance * (1 + 1e-9), (text, value)


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
       which=st.integers(0, len(LADDERS) - 1))
def test_any_finite_value_is_short_plain_and_reads_back(value, which) -> None:
    fmt, steps = LADDERS[which]
    _check(fmt(value), value, steps)


@settings(max_examples=200, deadline=None)
@given(value=st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_plain_numbers_and_money_never_use_exponents(value) -> None:
    text = format_number(value)
    _check(text, value, ())
    money = format_money(value, "EUR")
    assert money.endswith(" EUR") and len(money) <= 26
    assert not any(bad in money for bad in ("e+", "e-", "nan", "inf"))


@settings(max_examples=200, deadline=None)
@given(value=st.floats(min_value=0, max_value=1e18, allow_nan=False, allow_infinity=False))
def test_energy_reads_back_through_the_public_parser(value) -> None:
    text = format_energy(value)
    if text.startswith(("<", ">")) or "illion" in text:
        return
    parsed = parse_energy(text)
    assert parsed == pytest.approx(value, rel=5e-3, abs=5e-4)


@pytest.mark.parametrize("value,expected", [
    (0, "0 J"), (100, "100 J"), (3.6e6, "1 kWh"), (1287 * 3.6e9, "1.29 GWh"),
    (3599.9, "1 Wh"), (4.6e9, "1.28 MWh"), (12_345.0 * 3.6e6, "12.3 MWh"),
    (0.0004, "0.0004 J"), (4e-7, "< 0.000001 J"), (3.6e21, "1 million TWh"), (1e300, "> 1,000 trillion TWh"),
])
def test_energy_golden(value, expected) -> None:
    assert format_energy(value) == expected


def test_other_quantities_golden() -> None:
    assert format_power(312.46) == "312 W" and format_power(10_200) == "10.2 kW"
    assert format_duration(14.8 * 86400) == "14.8 days" and format_duration(86400) == "1 day"
    assert format_duration(5400) == "1.5 h" and format_duration(3599.9) == "1 h"
    assert format_duration(3 * 31557600) == "3 years"
    assert format_duration(400 * 86400) == "400 days"
    assert format_mass(1200) == "1.2 kg" and format_mass(552e6, co2e=True) == "552 t CO2e"
    assert format_mass(0.35) == "350 mg"
    assert format_water(0.25) == "250 mL" and format_water(2500) == "2.5 m³"
    assert format_water(1.2e12) == "1.2 billion m³"
    assert format_money(1234.5, "EUR") == "1,234.50 EUR" and format_money(0.04231) == "0.0423"
    assert format_money(3.1e6, "USD") == "3.1 million USD"
    assert format_number(1234.0) == "1,230" and format_number(1234.0, digits=4) == "1,234"
    assert format_number(1e300) == "> 1,000 trillion"
    assert format_number(0.01234) == "0.0123" and format_number(2.5e-7) == "< 0.000001"


def test_digits_and_missing() -> None:
    assert format_energy(1287 * 3.6e9, digits=4) == "1.287 GWh"
    assert format_energy(None) == "unknown" and format_energy(None, missing="-") == "-"
    assert format_power(-1500) == "-1.5 kW"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_is_unknown_and_logged(bad, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="wattprint"):
        for fmt, _ in LADDERS:
            assert fmt(bad) == "unknown"
        assert format_money(bad, "USD") == "unknown" and format_number(bad, missing="—") == "—"
    assert len([r for r in caplog.records if "non-finite" in r.getMessage()]) == len(LADDERS) + 2


def test_energy_scale_matches_the_formatter() -> None:
    assert energy_scale(0) == (1.0, "J") and energy_scale(5e6) == (3.6e6, "kWh")
    assert energy_scale(math.nan) == (1.0, "J")
    for value in (1.0, 5e3, 5e6, 5e9, 5e12, 5e15):
        assert format_energy(value).endswith(" " + energy_scale(value)[1])
    assert CAP > 1e12


def test_flop_as_the_literature_writes_it() -> None:
    from wattprint._format import format_flop

    assert format_flop(3.14e23) == "3.14 × 10²³ FLOP"
    assert format_flop(9.996e23) == "1 × 10²⁴ FLOP"
    assert format_flop(1.2e12) == "1.2 trillion FLOP"
    assert format_flop(1e300) == "1 × 10³⁰⁰ FLOP"
    assert format_flop(math.nan) == "unknown"


@pytest.mark.parametrize("value,expected", [
    (1e16, "10¹⁶"), (1e-9, "10⁻⁹"), (1e15, "10¹⁵"), (36_525, "36,525"), (876_600, "876,600"),
    (1e-6, "0.000001"), (0.0001, "0.0001"), (1e10, "10 billion"), (3_155_760_000.0,
                                                                  "3.15576 billion"),
    (5e-324, "4.94066 × 10⁻³²⁴"), (1.7976931348623157e308, "1.79769 × 10³⁰⁸"),
    (-1.5e20, "-1.5 × 10²⁰"), (0, "0"), (math.nan, "unknown")])
def test_a_limit_is_written_in_full_never_as_a_bound_or_an_exponent(value, expected) -> None:
    """Limits (the range a rule allows) keep every digit people compare their value with,
    and read as powers of ten where format_number would write "> 1,000 trillion"."""
    from wattprint._format import format_limit

    assert format_limit(value) == expected


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_limits_never_use_exponent_notation(value) -> None:
    from wattprint._format import format_limit

    text = format_limit(value)
    assert not re.search(r"\de|nan|inf", text, re.I) and len(text) <= 24, text


@pytest.mark.parametrize("value,expected", [
    (999_999.5, "1 million"), (999_999_999.7, "1 billion"), (999.9996e12, "1,000 trillion"),
    (1e15, "> 1,000 trillion")])
def test_rounding_up_into_words(value, expected) -> None:
    """Just under a word's threshold, rounding reaches it: the word, never a crash."""
    assert format_number(value) == expected
    assert format_water(value * 1e3) == expected + " m³"
    assert format_money(value, "USD") == expected + " USD"


@settings(max_examples=300, deadline=None)
@given(exponent=st.integers(-12, 30), below=st.floats(0, 1e-3),
       which=st.integers(0, len(LADDERS) - 1))
def test_values_just_under_a_power_of_ten_round_up_cleanly(exponent, below, which) -> None:
    """Where rounding crosses into the next unit or word (999.96 Wh, 999,999.5 L)."""
    fmt, steps = LADDERS[which]
    value = 10.0 ** exponent * 3.6 ** (which == 0) * (1 - below)
    _check(fmt(value), value, steps)
    _check(format_number(value), value, ())
