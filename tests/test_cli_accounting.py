"""The accounting commands as a user runs them: real subprocesses of ``python -m wattprint``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def wattprint(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WATTPRINT_ZONE": ""}
    return subprocess.run([sys.executable, "-m", "wattprint", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_equiv_gpt3_in_china():
    out = wattprint("equiv", "1287MWh", "--country", "CN")
    assert out.returncode == 0, out.stderr
    assert "≈ 6,400 household-months of electricity in China" in out.stdout
    assert "TWh would be 1,000 × more" in out.stdout
    assert "km driven" in out.stdout and "smartphone charges" in out.stdout


def test_equiv_json_and_spaces_in_the_energy():
    out = wattprint("equiv", "1.28", "TWh", "--country", "CN", "--json")
    data = json.loads(out.stdout)
    hh = data["equivalents"][0]
    assert hh["key"] == "household_months" and hh["value"] == pytest.approx(6.4e6)
    assert data["energy_kwh"] == pytest.approx(1.28e9)


def test_equiv_bad_unit_is_one_line_and_exit_2():
    out = wattprint("equiv", "1287", "furlongs")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and "unknown energy unit" in out.stderr


def test_data_sources_lists_every_dataset_with_licence():
    out = wattprint("data", "sources")
    assert out.returncode == 0, out.stderr
    for needle in ("Electricity Maps", "ODbL", "electricitymaps_hourly_2023.csv",
                   "Our World in Data", "CC-BY-4.0", "eGRID2023", "EcoLogits", "MPL-2.0"):
        assert needle in out.stdout, needle
    sections = json.loads(wattprint("data", "sources", "--json").stdout)
    assert all({"title", "source", "year", "licence", "shipped in"} <= set(s) for s in sections)
    assert "Open Database License" in wattprint("data", "sources", "--full").stdout


def test_zones_search_and_suggestions():
    out = wattprint("zones", "california")
    assert out.returncode == 0 and "US-CA" in out.stdout and "aws:us-west-1" in out.stdout
    data = json.loads(wattprint("zones", "CN-", "--kind", "cn-province", "--json",
                                "--limit", "0").stdout)
    assert data["total"] == 30
    miss = wattprint("zones", "Germny")
    assert miss.returncode == 1 and "did you mean DE" in miss.stdout


def test_grid_shows_years_and_the_typical_day():
    out = wattprint("grid", "DE")
    assert out.returncode == 0, out.stderr
    assert "2023" in out.stdout and "electricitymaps-yearly" in out.stdout
    assert "best hours" in out.stdout and "Europe/Berlin" in out.stdout
    data = json.loads(wattprint("grid", "aws:us-east-1", "--json").stdout)
    assert data["zone"]["key"] == "US-MIDA-PJM"
    assert len(data["daily_profile"]["mean_by_hour"]) == 24
    assert {r["dataset"] for r in data["annual"]} >= {"electricitymaps-yearly"}


def test_grid_unknown_zone_suggests_and_exits_2():
    out = wattprint("grid", "Frnace")
    assert out.returncode == 2 and "did you mean FR" in out.stderr
    assert "Traceback" not in out.stderr
