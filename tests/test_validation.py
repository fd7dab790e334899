"""The bad inputs of issue 11, one test each: every value a person gives wattprint is checked
where it enters (flags, the Python API, config files, environment variables), and a bad one
stops with one line naming the value, the rule and an example — never a NaN, an infinity, a
negative figure or a 300-digit number in the output."""

from __future__ import annotations

import logging
import math
import re
import sys

import pytest

import wattprint
from wattprint import inputs
from wattprint.accounting import UnknownZoneError, account
from wattprint.errors import ConfigError, UsageError
from wattprint.testing import FakeSensor

from _cli import assert_clean_error, cli_env, wp, wp_json

TRAIN = ("estimate", "train", "--hardware", "H100", "--count", "8")


# -- wattprint estimate -----------------------------------------------------------------------
def test_estimate_train_negative_days_is_refused(tmp_path):
    proc = wp(tmp_path, *TRAIN, "--days", "-30")
    assert_clean_error(proc, "--days -30", "between 0.0001 and 36,525 days", "e.g. --days 30")
    assert "MWh" not in proc.stdout


def test_limits_in_seconds_are_written_in_the_unit_people_use(tmp_path):
    """A limit in seconds reads "100 years", "1 hour", not "3.15576 billion s"."""
    proc = wp(tmp_path, *TRAIN, "--duration", "1e12d")
    assert_clean_error(proc, "--duration 1e12d", "a time between 1 s and 100 years",
                       "e.g. --duration 14.8d")
    assert "billion" not in proc.stderr
    assert inputs.RULES["grace_s"].legal() == "a non-negative time up to 1 hour"
    assert inputs.RULES["sample_interval_s"].legal() == "a time between 0.001 s and 1 year"
    assert [inputs._seconds(x) for x in (600.0, 90.0, 86400.0 * 2, 1.5)] == [
        "10 minutes", "90 s", "2 days", "1.5 s"]


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_estimate_train_days_nan_or_inf_is_refused(tmp_path, value):
    assert_clean_error(wp(tmp_path, *TRAIN, "--days", value), f"--days {value}", "finite")


def test_estimate_train_pue_nan_is_refused(tmp_path):
    proc = wp(tmp_path, *TRAIN, "--days", "3", "--pue", "nan")
    assert_clean_error(proc, "--pue nan: PUE must be a finite number between 1.0 and 3.0 "
                             "(e.g. --pue 1.2)")


@pytest.mark.parametrize("value", ["nan", "-500"])
def test_estimate_train_bad_intensity_is_refused(tmp_path, value):
    proc = wp(tmp_path, *TRAIN, "--days", "3", "--intensity", value)
    assert_clean_error(proc, f"--intensity {value}", "grid carbon intensity", "2000",
                       "e.g. --intensity")


def test_estimate_train_wue_nan_is_refused(tmp_path):
    assert_clean_error(wp(tmp_path, *TRAIN, "--days", "3", "--wue", "nan"), "--wue nan",
                       "WUE")


def test_estimate_bare_params_names_the_suffix(tmp_path):
    proc = wp(tmp_path, *TRAIN, "--params", "70", "--tokens", "2T")
    assert_clean_error(proc, "--params 70", "--params 70B")


def test_estimate_bare_tokens_names_the_suffix(tmp_path):
    proc = wp(tmp_path, *TRAIN, "--params", "70B", "--tokens", "2")
    assert_clean_error(proc, "--tokens 2", "--tokens 2T")


def test_estimate_fleet_huge_volume_is_refused_without_300_digits(tmp_path):
    proc = wp(tmp_path, "estimate", "fleet", "--requests-per-day", "1e300",
              "--per-request", "0.3Wh")
    assert_clean_error(proc, "--requests-per-day", "1 trillion")
    assert "unexpected" not in proc.stderr and not re.search(r"\d{20}", proc.stderr)


def test_claim_limits_are_written_without_exponent_notation(tmp_path):
    """The limits of a rule read as powers of ten ("10⁻⁹", "10¹⁶"), not "1e-09" or "1e16";
    the claim is named back as the user typed it."""
    proc = wp(tmp_path, "check", "1e-300 MWh", "--hardware", "H100", "--count", "8",
              "--days", "3")
    assert_clean_error(proc, "'1e-300 MWh'", "between 10⁻⁹ and 10¹⁶ kWh or kg CO2e")
    with pytest.raises(UsageError, match=r"compute_flop=10⁴⁰: .* up to 10³² FLOP"):
        inputs.check("compute_flop", "compute_flop", 1e40)
    with pytest.raises(UsageError, match=r"--days 0\.00001: .* between 0\.0001 and 36,525"):
        inputs.check("days", "--days", 1e-5)


def test_equiv_limit_is_the_rules_in_plain_words(tmp_path):
    proc = wp(tmp_path, "equiv", "1e30J")
    assert_clean_error(proc, "ENERGY 1e30J", "at most 10²² J")


def test_unusual_but_legal_pue_warns_once_and_estimates(tmp_path):
    proc = wp(tmp_path, *TRAIN, "--days", "3", "--pue", "2.8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("--pue 2.8 is unusual") == 1
    assert "pue=2.8" not in proc.stderr  # the API's second look at it stays quiet
    assert "(PUE 2.8)" in proc.stdout


def test_legal_values_still_estimate(tmp_path):
    d = wp_json(tmp_path, *TRAIN, "--days", "3", "--pue", "1.2", "--intensity", "0",
                "--wue", "0")
    assert d["co2e_location_kg"]["central"] == 0 and d["energy_facility_kwh"]["central"] > 0


# -- wattprint report -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ledger")
    with wattprint.track("validation", sensors=[FakeSensor(100.0)], rate_hz=50,
                         ledger=str(tmp / "ledger.db"), zone="DE") as run:
        run.count(tokens=1000)
    return tmp


@pytest.mark.parametrize("flag, value, needle", [
    ("--pue", "nan", "--pue nan: PUE must be"),
    ("--pue", "0.5", "--pue 0.5: PUE must be"),
    ("--market-factor", "nan", "--market-factor nan"),
])
def test_report_bad_accounting_flag_is_a_user_error(recorded, flag, value, needle):
    proc = wp(recorded, "report", "last", "--format", "md", flag, value)
    assert_clean_error(proc, needle)
    assert "unexpected" not in proc.stderr and "nan" not in proc.stdout


@pytest.mark.parametrize("value", ["nan", "-5", "inf"])
def test_export_every_must_be_a_finite_positive_interval(recorded, value):
    proc = wp(recorded, "export", "last", "--what", "samples", "--every", value)
    assert_clean_error(proc, f"--every {value}", "sampling interval")


@pytest.mark.parametrize("flags, needle", [
    (("--budget-kwh", "nan"), "--budget-kwh nan: an energy budget"),
    (("--budget-kwh", "1", "--grace-s", "inf"), "--grace-s inf: a grace period"),
    (("--price-per-kwh", "-1"), "--price-per-kwh -1: a price per kWh"),
    (("--budget-cost", "100"), "--budget-cost 100 needs a price: pass --price-per-kwh"),
])
def test_run_bad_budget_flags_stop_before_the_command_starts(tmp_path, flags, needle):
    marker = tmp_path / "ran"
    proc = wp(tmp_path, "run", *flags, "--", sys.executable, "-c",
              f"open({str(marker)!r}, 'w')")
    assert_clean_error(proc, needle)
    assert not marker.exists()


# -- the Python API ---------------------------------------------------------------------------
@pytest.mark.parametrize("energy_j", [math.nan, math.inf, -1.0])
def test_account_refuses_energy_that_is_not_a_finite_amount(energy_j):
    with pytest.raises(UsageError, match="energy_j="):
        account(energy_j, zone="DE")


def test_account_refuses_a_nan_price():
    with pytest.raises(UsageError, match=r"price_per_kwh=nan: .* \(e\.g\. price_per_kwh="):
        account(3.6e6, zone="DE", price_per_kwh=math.nan)


def test_count_infinite_tokens_is_refused():
    with wattprint.track(sensors=[FakeSensor(10.0)]) as run:
        with pytest.raises(UsageError, match="tokens=inf"):
            run.count(tokens=math.inf)
    assert run.result.counters == {}


def test_count_a_400_digit_integer_is_a_usage_error_not_an_overflow():
    with wattprint.track(sensors=[FakeSensor(10.0)]) as run:
        with pytest.raises(UsageError, match="401-digit"):
            run.count(tokens=10**400)


def test_progress_infinite_is_refused():
    with wattprint.track(sensors=[FakeSensor(10.0)], total_work={"steps": 100}) as run:
        with pytest.raises(UsageError, match="steps=inf"):
            run.progress(steps=math.inf)


def test_zone_typo_is_refused_when_the_tracker_is_created():
    with pytest.raises(UnknownZoneError, match="did you mean aws:us-east-1"):
        wattprint.track(zone="aws:us-east1")


def test_tracker_budget_and_price_must_be_finite():
    with pytest.raises(UsageError, match="budget_kwh=inf"):
        wattprint.Tracker(budget_kwh=math.inf, sensors=[])
    with pytest.raises(UsageError, match="price_per_kwh=nan"):
        wattprint.Tracker(price_per_kwh=math.nan, sensors=[])
    with pytest.raises(UsageError, match=r'settings\["pue"\]=nan'):
        wattprint.Tracker(settings={"pue": math.nan}, sensors=[])


def test_training_callback_refuses_a_nan_pue_at_setup():
    from wattprint.integrations.lightning import WattprintCallback

    with pytest.raises(UsageError, match="pue=nan: PUE must be"):
        WattprintCallback(pue=math.nan, sensors=[FakeSensor(10.0)])


def test_estimate_api_refuses_bare_small_params():
    from wattprint.estimate import estimate_training

    with pytest.raises(UsageError, match="params='70B'"):
        estimate_training(accelerator="H100", n_accelerators=8, params=70, tokens="2T")


def test_report_progress_never_raises_on_a_huge_integer(tmp_path, monkeypatch):
    from wattprint.forecast import report_progress

    monkeypatch.setenv("WATTPRINT_PROGRESS_FILE", str(tmp_path / "progress"))
    assert report_progress(10**400, 10) is False
    assert report_progress(math.nan, 10) is False
    assert not (tmp_path / "progress").exists()


@pytest.mark.parametrize("garbage", [math.nan, math.inf, -40.0])
def test_a_sensor_returning_garbage_is_a_failed_read_not_a_figure(garbage):
    """Hardware is an entry too: a driver's NaN, infinity or negative watts after a good
    start is a read error (a gap, bridged on recovery), and every figure stays finite."""
    from _wait import until

    calls = []

    def power_w(t: float) -> float:  # by read, not by time: a stalled sampler sees it all
        calls.append(t)
        return garbage if 4 <= len(calls) <= 8 else 100.0

    sensor = FakeSensor(power_w, counter=False)
    with wattprint.track(sensors=[sensor], rate_hz=50) as run:
        assert until(lambda: len(calls) > 12)  # good reads, garbage, good reads again
    device = run.result.devices[0]
    assert device.errors > 0 and "the sensor returned" in device.last_error
    assert device.gaps and device.gaps[0][1] is not None  # the gap closed on recovery
    for value in (run.result.energy_j, run.result.peak_power_w, device.energy_j,
                  device.mean_power_w):
        assert math.isfinite(value) and value >= 0
    assert run.result.energy_j > 0


# -- configuration files and environment variables ----------------------------------------------
def test_env_pue_nan_names_the_variable(tmp_path):
    proc = wp(tmp_path, "config", env=cli_env(tmp_path, WATTPRINT_PUE="nan"))
    assert_clean_error(proc, "WATTPRINT_PUE", "1.0 to 3.0")


def test_config_file_pue_nan_names_the_file(tmp_path):
    from wattprint.config import load_config

    (tmp_path / "wattprint.toml").write_text("pue = nan\n")
    with pytest.raises(ConfigError, match=r"wattprint\.toml: pue = nan"):
        load_config(cwd=str(tmp_path), env={})


def test_env_zone_typo_names_the_variable():
    from wattprint.accounting.zones import default_zone

    with pytest.raises(UnknownZoneError, match="WATTPRINT_ZONE: unknown grid zone 'Frnace'; "
                                               "did you mean FR"):
        default_zone(None, env={"WATTPRINT_ZONE": "Frnace"})


def test_run_zone_typo_in_the_project_file_names_the_file(tmp_path):
    (tmp_path / "wattprint.toml").write_text('zone = "Frnace"\n')
    marker = tmp_path / "ran"
    proc = wp(tmp_path, "run", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    assert_clean_error(proc, "wattprint.toml: unknown grid zone 'Frnace'; did you mean FR")
    assert not marker.exists()


def test_env_rate_inf_is_refused(tmp_path):
    from wattprint.config import load_config

    with pytest.raises(ConfigError, match="WATTPRINT_RATE_HZ"):
        load_config(cwd=str(tmp_path), env={"WATTPRINT_RATE_HZ": "inf"})


# -- the rules themselves ---------------------------------------------------------------------
def test_a_warning_is_logged_once_per_value(caplog):
    caplog.set_level(logging.WARNING, logger="wattprint")
    for _ in range(3):
        assert inputs.pue("pue", 2.75) == 2.75
    assert len([r for r in caplog.records if "2.75" in r.getMessage()]) == 1


def test_price_in_a_major_currency_above_2_per_kwh_suggests_per_mwh(caplog):
    caplog.set_level(logging.WARNING, logger="wattprint")
    inputs.price_per_kwh("--price", 151.0, "EUR")
    assert "--price 0.151" in caplog.text
    caplog.clear()
    inputs.price_per_kwh("--price", 31.0, "JPY")  # yen per kWh: a normal tariff
    assert caplog.text == ""


def test_docs_list_every_rule():
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "inputs.md").read_text()
    for key, rule in inputs.RULES.items():
        assert f"`{key}`" in page, key
        assert rule.legal() in page, key
