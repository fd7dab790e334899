"""Accounting defects found by cross-checking the shipped data against its sources (issue
14): each test failed before its fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from wattprint import data
from wattprint.accounting import account, annual_intensity, resolve_zone
from wattprint.accounting.carbon import hourly_intensity
from wattprint.estimate import check_claim, estimate_training
from wattprint.estimate._result import Range, footprint


def wattprint(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WATTPRINT_ZONE": ""}
    return subprocess.run([sys.executable, "-m", "wattprint", *args], capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.mark.parametrize("zone", ["DE", "GB"])
def test_a_year_is_the_whole_year_not_one_hour(zone):
    from datetime import datetime, timezone

    fp = footprint(Range.exact(1000.0, "kWh"), zone=zone, year=2023, pue=1.0)
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    year_mean = hourly_intensity(zone, start, 365 * 86400).value
    one_hour = hourly_intensity(zone, datetime(2023, 7, 1, tzinfo=timezone.utc), 3600).value
    assert fp.intensity_location_g_per_kwh == pytest.approx(year_mean, rel=1e-9)
    assert abs(fp.intensity_location_g_per_kwh - one_hour) > 20  # DE 296 vs ~367 g/kWh
    # and within a few % of the zone's annual figure for that year
    annual = annual_intensity(zone, 2023).value
    assert fp.intensity_location_g_per_kwh == pytest.approx(annual, rel=0.08)


def test_a_training_estimate_for_a_year_uses_that_year():
    est = estimate_training(accelerator="H100", accelerator_hours=1000, zone="GB", year=2023)
    assert est.intensity_location_g_per_kwh > 170  # one July night hour was 119 g/kWh


LLAMA3_70B = dict(accelerator="H100-80GB", accelerator_hours=6.4e6)


def test_check_honours_the_boundary_for_co2e_claims():
    # Meta's model card: 6.4M H100-80GB hours at 700 W (TDP, accelerators only), 1,900 t.
    acc = check_claim("1900 tCO2e", boundary="accelerators", zone="US", **LLAMA3_70B)
    fac = check_claim("1900 tCO2e", boundary="facility", zone="US", **LLAMA3_70B)
    assert acc.verdict != "implausible"
    assert acc.estimate.central < fac.estimate.central / 1.5
    assert "accelerators" in acc.boundary


def test_check_a_named_meta_run_at_its_boundary():
    # the shipped Meta model-card row: 6.4M H100 hours at 700 W, 1,900 t location-based
    result = check_claim("1900 tCO2e", run="Llama 3 70B", boundary="accelerators")
    assert result.verdict == "plausible", result.message
    assert result.published == pytest.approx(1.9e6)


def test_check_cli_boundary_for_co2e():
    out = wattprint("check", "1900 tCO2e", "--hardware", "H100-80GB", "--accelerator-hours",
                    "6.4M", "--boundary", "accelerators", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["verdict"] != "implausible"


@pytest.mark.parametrize("region,zone", [
    ("azure:northcentralus", "US-MIDA-PJM"), ("azure:westus2", "US-NW-GCPD"),
    ("azure:westcentralus", "US-NW-WACM"), ("gcp:us-east1", "US-CAR-SC")])
def test_cloud_regions_map_to_their_grid_operator(region, zone):
    assert resolve_zone(region).key == zone
    assert annual_intensity(region, 2023).provenance.zone in (zone, region)


def test_a_gcp_region_without_a_date_keeps_googles_figure():
    fig = annual_intensity("gcp:europe-west1")
    assert fig.provenance.dataset == "gcp-region-carbon"
    latest = max(int(r["year"]) for r in data.read_csv("gcp_region_carbon.csv")
                 if r["region"] == "europe-west1")
    assert fig.provenance.year == latest


@pytest.mark.parametrize("provider,pue,year", [("aws", 1.14, 2025), ("gcp", 1.09, 2024),
                                               ("azure", 1.18, 2024)])
def test_provider_pue_is_the_latest_published(provider, pue, year):
    acc = account(3.6e9, zone="US", provider=provider)
    assert acc.pue.value == pue
    assert acc.pue.provenance.year == year and acc.pue.provenance.dataset == \
        "provider-published"


def test_a_hyperscalers_pue_range_is_its_own():
    hyper = footprint(Range.exact(1000.0, "kWh"), zone="US", provider="aws")
    unknown = footprint(Range.exact(1000.0, "kWh"), zone="US", provider="datacenter")
    assert hyper.pue.high <= 1.3 and hyper.pue.low >= 1.0
    assert unknown.pue.high >= 1.8


def test_an_unknown_data_centre_gets_industry_average_water_with_a_range():
    acc = account(3.6e9, zone="US", provider="datacenter")
    assert acc.water_onsite_l.value == pytest.approx(1000 * 1.8)
    assert "industry" in " ".join(acc.water_onsite_l.provenance.notes)
    fp = footprint(Range.exact(1000.0, "kWh"), zone="US", provider="datacenter")
    off = fp.water_l.central - 1800
    assert fp.water_l.low < 1800 * 0.5 + off < fp.water_l.high
    assert fp.water_l.high > 1800 * 1.5 + off
    assert not any("on-site cooling water unknown" in n for n in fp.notes)


def test_equiv_country_without_household_figure_works_like_zone():
    by_country = wattprint("equiv", "1MWh", "--country", "IN", "--json")
    by_zone = wattprint("equiv", "1MWh", "--zone", "IN", "--json")
    assert by_country.returncode == 0, by_country.stderr
    a, b = json.loads(by_country.stdout), json.loads(by_zone.stdout)
    assert a["intensity_g_per_kwh"] == b["intensity_g_per_kwh"] > 0
    assert [e["key"] for e in a["equivalents"]] == [e["key"] for e in b["equivalents"]]


def test_a_given_intensity_is_not_labelled_world():
    est = estimate_training(accelerator="H100", accelerator_hours=1000,
                            intensity_g_per_kwh=100.0)
    assert "WORLD" not in est.zone and "given" in est.zone
    assert "WORLD" not in est.summary().split("CO2e location")[1].splitlines()[0]


def test_v100_tensor_peak_is_fp16_not_bf16():
    from wattprint.estimate.catalogue import find_accelerator

    acc = find_accelerator("V100")
    flops, precision = acc.peak_flops("bf16")
    assert flops == pytest.approx(125e12) and precision == "fp16"
    assert "bf16" not in acc.tflops
