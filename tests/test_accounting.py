"""Accounting: annual intensity selection, market- vs location-based, PUE, water, cost,
embodied, and account() putting them together with provenance on every figure."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest

from wattprint.accounting import (TimeOfUseTariff, account, annual_intensity,
                                  embodied_co2e_g, market_intensity, pue_figure, resolve_zone)
from wattprint.accounting import _tables
from wattprint.units import J_PER_KWH, lb_per_mwh_to_g_per_kwh

MWH_J = 1000 * J_PER_KWH


# --- annual intensity ------------------------------------------------------------------------

def test_annual_uses_the_runs_year_when_a_dataset_has_it():
    f = annual_intensity("DE", 2023)
    assert f.value == 379  # Electricity Maps DE 2023
    p = f.provenance
    assert (p.dataset, p.zone, p.year, p.resolution) == ("electricitymaps-yearly", "DE", 2023,
                                                         "annual")
    assert "ODbL" in p.licence and p.scope == "life-cycle" and not p.notes
    assert f.extra["renewable_pct"] == 57


def test_annual_prefers_another_dataset_with_the_exact_year_over_a_nearest_year():
    f = annual_intensity("DE", 2019)  # Electricity Maps starts in 2021; OWID has 2019
    assert (f.provenance.dataset, f.provenance.year) == ("owid", 2019)


def test_annual_falls_back_to_the_nearest_year_with_a_note():
    f = annual_intensity("DE", 2030)
    assert f.provenance.year == 2025
    assert any("nearest year 2025" in n for n in f.provenance.notes)
    assert annual_intensity("FR", 1990).provenance.year == 2000  # OWID's first year


def test_egrid_states_are_converted_from_pounds_per_mwh():
    f = annual_intensity("US-CA", 2023)
    assert f.provenance.dataset == "egrid2023"
    assert f.value == pytest.approx(lb_per_mwh_to_g_per_kwh(394.769), abs=0.001)
    assert "direct" in f.provenance.scope
    # every state lands in a plausible g/kWh range (lb/MWh left unconverted would be 2.2x)
    for row in _tables.data.read_csv("grid_annual.csv"):
        if row["dataset"] == "egrid2023":
            assert 0 <= float(row["intensity_g_per_kwh"]) < 900, row


def test_chinese_provinces_and_cloud_regions():
    assert annual_intensity("CN-YN", 2023).value == pytest.approx(133.3)
    gcp = annual_intensity("gcp:europe-west1", 2023)
    assert gcp.provenance.dataset == "gcp-region-carbon" and gcp.extra["google_cfe_pct"] == 82
    aws = annual_intensity("aws:eu-west-3", 2024)
    assert (aws.provenance.dataset, aws.provenance.zone) == ("electricitymaps-yearly", "FR")


def test_zones_without_data_fall_back_to_the_country_then_the_world():
    f = annual_intensity("AQ", 2023)  # Antarctica: named, no grid data
    assert f.provenance.zone == "WORLD" and "world average" in f.provenance.notes[0]


# --- market-based ----------------------------------------------------------------------------

def test_market_based_without_instruments_equals_location_and_says_so():
    loc = annual_intensity("PL", 2023)
    m = market_intensity(loc)
    assert m.value == loc.value and "no contractual instruments" in m.provenance.notes[-1]


def test_market_based_with_a_renewable_share_and_with_a_contract_factor():
    loc = annual_intensity("PL", 2023)
    half = market_intensity(loc, renewable_share=0.5)
    assert half.value == pytest.approx(loc.value / 2)
    assert half.provenance.dataset == loc.provenance.dataset and half.provenance.year == 2023
    assert market_intensity(loc, renewable_share=1.0).value == 0
    contract = market_intensity(loc, factor_g_per_kwh=20)
    assert contract.value == 20 and contract.provenance.dataset == "user"
    with pytest.raises(ValueError):
        market_intensity(loc, renewable_share=1.5)
    with pytest.raises(ValueError):
        market_intensity(loc, factor_g_per_kwh=-1)


# --- PUE, water, embodied ----------------------------------------------------------------------

def test_pue_user_then_site_then_provider_then_none():
    assert pue_figure(pue=1.3).value == 1.3
    site = pue_figure(zone=resolve_zone("gcp:europe-west1"))
    assert site.value == 1.08 and site.provenance.dataset == "green-algorithms-pue"
    assert pue_figure(provider="aws").value == 1.14  # AWS's published 2025 fleet PUE
    assert pue_figure(zone=resolve_zone("aws:us-east-1")).value == 1.14  # provider from region
    assert pue_figure(provider="datacenter").value == 1.56
    none = pue_figure()
    assert none.value == 1.0 and "1.56" in none.provenance.notes[0]
    with pytest.raises(ValueError):
        pue_figure(pue=0.9)


def test_embodied_is_scis_m_term():
    # one reference GPU (273 kg) reserved for its whole 3-year life = all of it
    life_s = 3 * 365.25 * 86400
    assert embodied_co2e_g({"gpu": 1}, life_s).value == pytest.approx(273_000)
    # 8 GPUs + the server for one day
    day = embodied_co2e_g({"gpu": 8, "server-8gpu": 1}, 86400)
    assert day.value == pytest.approx((8 * 273 + 5700) * 1000 * 86400 / life_s)
    assert embodied_co2e_g({"gpu+server": 8}, 86400).value == pytest.approx(day.value)
    inst = embodied_co2e_g({"aws:p4d.24xlarge": 1}, 3600, lifetime_years=4)
    assert inst.value == pytest.approx(4676.79 * 1000 * 3600 / (4 * 365.25 * 86400))
    assert inst.provenance.dataset == "ccf-embodied"
    with pytest.raises(ValueError, match="no embodied footprint"):
        embodied_co2e_g({"abacus": 1}, 10)


# --- account() -------------------------------------------------------------------------------

def test_account_puts_it_together():
    when = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    acc = account(10 * MWH_J, zone="FR", when=when, duration_s=86400, pue=1.2,
                  price_per_kwh=0.15, currency="EUR", wue_l_per_kwh=0.5,
                  devices={"gpu+server": 8})
    loc = annual_intensity("FR", 2024).value
    assert acc.energy_it_kwh == pytest.approx(10_000)
    assert acc.facility_energy_kwh.value == pytest.approx(12_000)
    assert acc.co2e_location_g.value == pytest.approx(12_000 * loc)
    assert acc.co2e_market_g.value == acc.co2e_location_g.value
    assert acc.cost.value == pytest.approx(1800) and acc.cost.unit == "EUR"
    assert acc.water_onsite_l.value == pytest.approx(5000)  # WUE × IT energy
    offsite = _tables.factor("wue_offsite", "FR").value
    assert acc.water_offsite_l.value == pytest.approx(12_000 * offsite)  # × facility energy
    assert acc.water_l == pytest.approx(5000 + 12_000 * offsite)
    assert acc.embodied_co2e_g.value > 0


def test_every_figure_carries_its_provenance():
    acc = account(MWH_J, zone="aws:us-east-1", when=datetime(2023, 7, 1), duration_s=3600,
                  provider="aws", price_per_kwh=0.1, devices={"gpu": 1})
    d = acc.to_dict()
    json.dumps(d)  # serialisable
    for name in ("pue", "facility_energy_kwh", "intensity_location", "intensity_market",
                 "co2e_location_g", "co2e_market_g", "cost", "water_onsite_l",
                 "water_offsite_l", "embodied_co2e_g"):
        prov = d[name]["provenance"]
        assert {"dataset", "licence", "zone", "year", "resolution"} <= set(prov), name
    loc = d["co2e_location_g"]["provenance"]
    assert (loc["dataset"], loc["zone"], loc["year"], loc["resolution"]) == (
        "electricitymaps-hourly-2023", "US-MIDA-PJM", 2023, "hourly")
    assert d["zone"]["cloud_region"] == "aws:us-east-1"


def test_market_based_is_reported_next_to_location_based():
    acc = account(MWH_J, zone="DE", when=datetime(2022, 1, 1), renewable_share=0.75)
    assert acc.co2e_market_g.value == pytest.approx(acc.co2e_location_g.value / 4)
    acc = account(MWH_J, zone="DE", when=datetime(2022, 1, 1), market_factor_g_per_kwh=0)
    assert acc.co2e_market_g.value == 0 and acc.co2e_location_g.value > 0


def test_no_zone_means_world_average_with_a_loud_note(monkeypatch):
    monkeypatch.delenv("WATTPRINT_ZONE", raising=False)
    acc = account(MWH_J)
    assert acc.zone.key == "WORLD" and acc.notes[0].startswith("NO GRID ZONE SET")
    monkeypatch.setenv("WATTPRINT_ZONE", "SE")
    assert account(MWH_J).zone.key == "SE"


def test_cost_needs_a_price_and_tariffs_follow_the_clock():
    assert account(MWH_J, zone="DE").cost.value is None
    tariff = TimeOfUseTariff([(7, 23, 0.30), (23, 7, 0.10)], timezone="UTC")
    night = account(MWH_J, zone="DE", when=datetime(2023, 1, 1, 0), duration_s=3 * 3600,
                    tariff=tariff)
    day = account(MWH_J, zone="DE", when=datetime(2023, 1, 1, 10), duration_s=3 * 3600,
                  tariff=tariff)
    assert night.cost.value == pytest.approx(100) and day.cost.value == pytest.approx(300)
    # half the energy at night, half by day (power trace over 22:00-24:00... UTC)
    split = account(MWH_J, zone="DE", when=datetime(2023, 1, 1, 22), duration_s=7200,
                    tariff=tariff)
    assert split.cost.value == pytest.approx(200)
    with pytest.raises(ValueError, match="uncovered"):
        TimeOfUseTariff([(0, 12, 0.1)])


def test_unknown_provider_water_is_the_industry_average_not_zero():
    acc = account(MWH_J, zone="DE", provider="datacenter")
    assert acc.water_onsite_l.value == pytest.approx(1000 * 1.8)  # LBNL 2016: 1.8 L/kWh
    assert acc.water_onsite_l.provenance.dataset == "industry-wue"
    assert account(MWH_J, zone="DE").water_onsite_l.value == 0  # not in a data centre


def test_embodied_needs_reserved_time():
    with pytest.raises(ValueError, match="reserved"):
        account(MWH_J, zone="DE", devices={"gpu": 1})
    acc = account(MWH_J, zone="DE", embodied_kgco2e=1000, reserved_s=3 * 365.25 * 86400)
    assert acc.embodied_co2e_g.value == pytest.approx(1e6)


def test_negative_energy_is_refused():
    with pytest.raises(ValueError):
        account(-1.0, zone="DE")


def test_summary_mentions_sources():
    text = account(MWH_J, zone="GB", when=datetime(2023, 6, 1), duration_s=3600).summary()
    assert "Electricity Maps" in text and "GB" in text and math.isfinite(1.0)


# --- contracts ---------------------------------------------------------------------------------

def test_public_names_resolve():
    import wattprint.accounting as acc_pkg
    import wattprint.accounting.providers as prov_pkg

    for module in (acc_pkg, prov_pkg):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_importing_accounting_starts_nothing_and_stays_light():
    import subprocess
    import sys

    code = ("import sys, threading, socket, wattprint.accounting, wattprint.accounting.providers;"
            "assert threading.active_count() == 1;"
            "heavy = {'pandas', 'numpy', 'sqlite3', 'zoneinfo'} & set(sys.modules);"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
