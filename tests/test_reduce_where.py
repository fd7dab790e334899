"""``where``: glob matching over the shipped cloud regions, the ranking and each region's
figures reproduced by hand (intensity × PUE × energy; price × facility energy), the
intensity threshold, and the CLI."""

from __future__ import annotations

import csv
import fnmatch
import json
from datetime import datetime, timedelta, timezone
from importlib import resources

import pytest

from _cli import wp
from wattprint.accounting import annual_intensity, resolve_zone
from wattprint.accounting.facility import pue_figure
from wattprint.errors import UsageError
from wattprint.reduce._outlook import outlook
from wattprint.reduce.when import best_window
from wattprint.reduce.where import match_regions, plan_where

NOW = datetime(2026, 6, 10, 9, 15, tzinfo=timezone.utc)
MWH = 3.6e9


def shipped_regions() -> list[str]:
    text = resources.files("wattprint.data").joinpath("cloud_regions.csv").read_text()
    return [f"{r['provider']}:{r['region']}" for r in csv.DictReader(text.splitlines())]


def test_globs_match_the_shipped_regions_in_pattern_order_once_each():
    everything = shipped_regions()
    aws = match_regions("aws:*")
    assert sorted(aws) == sorted(r for r in everything if r.startswith("aws:")) and len(aws) > 20
    eu = match_regions("gcp:europe-*")
    assert eu and all(fnmatch.fnmatch(r, "gcp:europe-*") for r in eu)
    both = match_regions("aws:*, gcp:europe-*,aws:eu-west-1")
    assert both == aws + eu  # the repeated region is kept once, where it first matched
    assert match_regions("DE,Sweden") == ["DE", "SE"]


@pytest.mark.parametrize("patterns, message", [
    ("oci:*", "'oci:*' matches no known cloud region"),
    ("aws:mars-*", "'aws:mars-*' matches no known cloud region"),
    ("Atlantis", "'Atlantis'"),
    (" , ", "--regions is empty"),
])
def test_a_pattern_matching_nothing_is_named(patterns, message):
    with pytest.raises(UsageError, match=message.replace("*", r"\*")):
        match_regions(patterns)


def test_each_region_reproduces_by_hand_and_the_ranking_is_by_co2e():
    regions = match_regions("aws:eu-*,gcp:us-west*,DE,FR")
    plan = plan_where(regions, 6 * 3600, 2 * MWH, now=NOW, within_s=24 * 3600,
                      price_per_kwh=0.1, prices={"aws:eu-west-1": 0.2})
    assert [o.co2e_g for o in plan.options] == sorted(o.co2e_g for o in plan.options)
    assert {o.region for o in plan.options} == set(regions)
    end = NOW + timedelta(hours=30)
    for o in plan.options:
        zone = resolve_zone(o.region)
        series = outlook(zone, NOW, end, flat_ok=True)
        best, *_ = best_window(series, NOW, 6 * 3600, end)
        if series.source == "annual":  # a flat outlook: the annual figure, start now
            assert o.intensity_g_per_kwh == annual_intensity(zone, 2026).value
            assert o.start == NOW
        else:
            assert o.intensity_g_per_kwh == pytest.approx(best.mean_g_per_kwh)
        pue = pue_figure(provider=(zone.cloud_region or "").split(":")[0] or None,
                         zone=zone).value
        assert o.pue == pue
        assert o.co2e_g == pytest.approx(2000 * pue * o.intensity_g_per_kwh)
        price = 0.2 if o.region == "aws:eu-west-1" else 0.1
        assert o.cost == pytest.approx(2000 * pue * price)
        assert o.water_l is None or o.water_l > 0
    assert {o.intensity_source for o in plan.options} == {"annual", "shipped-profile"}


def test_max_intensity_leaves_regions_out_and_says_which():
    regions = match_regions("aws:*")
    plan = plan_where(regions, 3600, MWH, now=NOW, max_intensity_g_per_kwh=200)
    assert plan.options and plan.excluded
    assert all(o.intensity_g_per_kwh <= 200 for o in plan.options)
    assert all(o.intensity_g_per_kwh > 200 for o in plan.excluded)
    assert len(plan.options) + len(plan.excluded) == len(regions)


def test_cli_where_json(tmp_path):
    proc = wp(tmp_path, "where", "--duration", "6h", "--energy", "2MWh", "--regions",
              "aws:*,gcp:europe-*", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ranked = data["ranked"]
    assert len(ranked) == len(match_regions("aws:*,gcp:europe-*"))
    assert [r["co2e_g"] for r in ranked] == sorted(r["co2e_g"] for r in ranked)
    assert all(r["basis"] == "estimated" and r["cost"] is None for r in ranked)
    text = wp(tmp_path, "where", "--duration", "6h", "--energy", "2MWh", "--regions",
              "DE,GB", "--within", "24h", "--price-per-kwh", "0.2")
    assert text.returncode == 0 and "EUR" in text.stdout and "shipped-profile" in text.stdout


@pytest.mark.parametrize("args, message", [
    (["--regions", "oci:*", "--duration", "1h", "--energy", "1MWh"], "matches no known"),
    (["--regions", "aws:*", "--duration", "1h"], "--energy is needed"),
    (["--regions", "aws:*", "--energy", "1MWh"], "--duration is needed"),
    (["--regions", "aws:*", "--duration", "1h", "--energy", "1MWh", "--price", "x"],
     "write REGION=PRICE"),
    (["--regions", "aws:*", "--duration", "1h", "--energy", "-1MWh"], "energy"),
])
def test_cli_where_bad_input(tmp_path, args, message):
    proc = wp(tmp_path, "where", *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_region_price_matches_whatever_the_case():
    plan = plan_where(["DE", "aws:eu-west-1"], 3600, MWH, now=NOW, price_per_kwh=0.1,
                      prices={"de": 0.3, "AWS:EU-WEST-1": 0.2})
    by = {o.region: o for o in plan.options}
    assert by["DE"].cost == pytest.approx(1000 * by["DE"].pue * 0.3)
    assert by["aws:eu-west-1"].cost == pytest.approx(1000 * by["aws:eu-west-1"].pue * 0.2)
