"""``wattprint when --like RUN`` and ``wattprint where --like RUN`` against a run recorded by
a real ``wattprint run`` in a temporary ledger: the figures follow the run's recorded
energy, duration, zone and PUE exactly; a bad run is one clear error line, exit 2."""

from __future__ import annotations

import sys

import pytest

from _cli import assert_clean_error, cli_env, wp, wp_json


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(folder, the run's ``show --json``): a finished run in DE recorded with PUE 1.4."""
    tmp = tmp_path_factory.mktemp("like")
    run = wp(tmp, "run", "-q", "--no-gpu", "--zone", "DE", "--", sys.executable, "-c",
             "import time; time.sleep(0.3)", env=cli_env(tmp, WATTPRINT_PUE="1.4"))
    assert run.returncode == 0, run.stderr
    record = wp_json(tmp, "show", "last")
    assert record["status"] == "finished" and record["energy_j"] > 0
    assert record["zone"] == "DE" and record["settings"]["pue"] == 1.4
    return tmp, record


def test_when_like_uses_the_runs_energy_duration_zone_and_pue(recorded):
    tmp, rec = recorded
    data = wp_json(tmp, "when", "--like", rec["id"])  # no --zone, --pue or --duration
    assert data["zone"] == "DE" and data["pue"] == 1.4
    assert data["energy_j"] == rec["energy_j"] and data["duration_s"] == rec["duration_s"]
    assert data["energy_from"] == f"run {rec['id']} ({rec['basis']})"
    kwh = rec["energy_j"] / 3.6e6
    for key, window in (("co2e_now_g", "start_now"), ("co2e_best_g", "best")):
        assert data[key] == pytest.approx(kwh * 1.4 * data[window]["mean_g_per_kwh"],
                                          rel=1e-12)
    # flags given win over the run's
    over = wp_json(tmp, "when", "--like", "last", "--zone", "US-CAL-CISO", "--pue", "1.1",
                   "--duration", "2h")
    assert (over["zone"], over["pue"], over["duration_s"]) == ("US-CAL-CISO", 1.1, 7200)
    assert over["energy_j"] == rec["energy_j"]
    assert over["co2e_now_g"] == pytest.approx(
        rec["energy_j"] / 3.6e6 * 1.1 * over["start_now"]["mean_g_per_kwh"], rel=1e-12)
    text = wp(tmp, "when", "--like", rec["id"][:6])
    assert text.returncode == 0, text.stderr
    assert f"(run {rec['id']} ({rec['basis']})) × PUE 1.4" in text.stdout


def test_where_like_ranks_the_runs_it_energy(recorded):
    tmp, rec = recorded
    data = wp_json(tmp, "where", "--like", "last", "--regions", "DE,FR,aws:eu-central-1")
    assert data["energy_j"] == rec["energy_j"] and data["duration_s"] == rec["duration_s"]
    assert data["energy_from"] == f"run {rec['id']} ({rec['basis']})"
    kwh = rec["energy_j"] / 3.6e6
    assert {r["region"] for r in data["ranked"]} == {"DE", "FR", "aws:eu-central-1"}
    for r in data["ranked"]:  # IT energy × the region's own PUE, not the run's
        assert r["facility_energy_kwh"] == pytest.approx(kwh * r["pue"], rel=1e-12)
        assert r["co2e_g"] == pytest.approx(kwh * r["pue"] * r["intensity_g_per_kwh"],
                                            rel=1e-12)
    assert any(r["pue"] != 1.0 for r in data["ranked"])
    text = wp(tmp, "where", "--like", rec["id"], "--regions", "DE,FR")
    assert text.returncode == 0 and f"(run {rec['id']} ({rec['basis']}))" in text.stdout


@pytest.mark.parametrize("command", [["when", "--zone", "DE"], ["where", "--regions", "DE"]])
@pytest.mark.parametrize("run, message", [
    ("nosuch", "'nosuch' is not a run id"),
    ("0123456789ab", "no run with id '0123456789ab'"),
])
def test_a_bad_run_is_one_clear_line(recorded, command, run, message):
    tmp, _ = recorded
    proc = wp(tmp, *command, "--like", run)
    assert_clean_error(proc, message)
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


@pytest.mark.parametrize("command", [["when", "--zone", "DE"], ["where", "--regions", "DE"]])
def test_like_last_on_an_empty_ledger(tmp_path, command):
    proc = wp(tmp_path, *command, "--like", "last")
    assert_clean_error(proc, "there is no run 'last'")
    assert proc.stderr.count("\n") == 1


def test_a_run_still_running_has_no_energy_to_borrow(tmp_path):
    from wattprint.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.db")
    ledger.begin_run(name="live", zone="DE")  # this process: alive, so still running
    run_id = ledger.get("last").id
    ledger.close()
    for command in (["when"], ["where", "--regions", "DE"]):
        proc = wp(tmp_path, *command, "--like", run_id)
        assert_clean_error(proc, f"run {run_id} has no energy recorded (status running)")
        assert proc.stderr.count("\n") == 1
