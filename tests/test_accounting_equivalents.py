"""Everyday equivalents, including the GPT-3 household check of issue 4."""

from __future__ import annotations

import pytest

from wattprint.accounting.equivalents import (equivalents, household_months, km_driven,
                                              smartphone_charges, unit_check)
from wattprint.units import parse_energy

GPT3_J = parse_energy("1287 MWh")  # Patterson et al. 2021, Table 4


def test_gpt3_is_about_6400_household_months_in_china():
    e = household_months(GPT3_J, "CN")
    assert e.value == pytest.approx(6435, abs=1)  # 1,287,000 kWh / 200 kWh
    assert e.text.startswith("≈ 6,400 household-months of electricity in China")
    # the 2021 and 2023 derivations bound it (197.3 and 227.7 kWh per household-month)
    assert e.low == pytest.approx(1_287_000 / 227.7) and e.high == pytest.approx(1_287_000 / 197.3)
    assert e.provenance.dataset == "household-cn"


def test_1_28_twh_would_be_a_thousand_times_more():
    e = household_months(parse_energy("1.28 TWh"), "China")
    assert e.value == pytest.approx(6.4e6)
    text = unit_check(GPT3_J, "CN")
    assert "1,287 MWh = 1.287 GWh = 0.001287 TWh" in text
    assert "TWh would be 1,000 × more" in text and "6.4 million household-months" in text


@pytest.mark.parametrize("country, per_month, quoted", [
    ("US", 893, "1,400"), ("USA", 893, "1,400"), ("EU", 300, "4,300"), ("DE", 300, "4,300"),
])
def test_other_households(country, per_month, quoted):
    e = household_months(GPT3_J, country)
    assert e.value == pytest.approx(1_287_000 / per_month)
    assert f"≈ {quoted} household-months" in e.text


def test_no_household_figure_names_what_exists():
    with pytest.raises(ValueError, match="CN, US, EU"):
        household_months(GPT3_J, "BR")


def test_phone_charges_and_km_driven():
    assert smartphone_charges(parse_energy("22 Wh")).value == pytest.approx(1)
    assert km_driven(251.03).value == pytest.approx(1)
    items = equivalents(GPT3_J, co2e_g=1e6)
    assert [e.key for e in items] == ["household_months"] * 3 + ["smartphone_charges",
                                                                 "km_driven"]
    assert all(e.provenance.licence for e in items)
