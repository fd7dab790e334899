"""The estimator's commands as a user runs them: real subprocesses of python -m wattprint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def wattprint(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    return subprocess.run([sys.executable, "-m", "wattprint", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def _json(*args: str):
    out = wattprint(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_estimate_train_from_time_with_human_units():
    out = wattprint("estimate", "train", "--hardware", "V100", "--count", "10000",
                    "--duration", "14.8d", "--pue", "1.1", "--zone", "US")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ESTIMATED") and "facility" in out.stdout
    assert "assumptions:" in out.stdout
    d = _json("estimate", "train", "--hardware", "V100", "--count", "10000", "--days",
              "14.8", "--pue", "1.1")
    fac = d["energy_facility_kwh"]
    assert fac["low"] <= 1_287_000 <= fac["high"] and d["provenance"] == "estimated"


def test_estimate_train_from_parameters():
    d = _json("estimate", "train", "--hardware", "H100", "--count", "2048", "--params", "70B",
              "--tokens", "2T", "--zone", "DE")
    assert d["method"] == "compute" and d["compute_flop"] == pytest.approx(8.4e23)
    assert d["duration_days"]["central"] > 0 and d["co2e_location_kg"]["central"] > 0


def test_estimate_infer_and_fleet():
    d = _json("estimate", "infer", "--params", "8B", "--hardware", "H100", "--batch", "64",
              "--output-tokens", "400")
    assert d["kind"] == "inference" and d["energy_request_accelerators_wh"]["central"] > 0
    f = _json("estimate", "fleet", "--requests-per-day", "1B", "--per-request", "0.3Wh",
              "--pue", "1.2", "--growth", "30%")
    assert f["energy_facility_mwh_per_year"]["central"] == pytest.approx(
        1e9 * 365.25 * 0.3e-6 * 1.2)
    assert list(f["scenarios"]) == ["+30%/yr"]
    g = _json("estimate", "fleet", "--requests-per-day", "10M", "--params", "70B")
    assert g["energy_request_it_wh"]["low"] < g["energy_request_it_wh"]["high"]


def test_estimate_hardware_lists_the_catalogue():
    out = wattprint("estimate", "hardware", "tpu")
    assert out.returncode == 0 and "Google TPU v4" in out.stdout and "Epoch AI" in out.stdout


def test_check_the_gpt3_claim():
    out = wattprint("check", "1.28", "TWh", "--run", "GPT-3")
    assert out.returncode == 0, out.stderr
    assert "off by ≈1,000×" in out.stdout and "unit slip of 10^3" in out.stdout
    d = _json("check", "1287MWh", "--run", "GPT-3")
    assert d["verdict"] == "plausible"
    d = _json("check", "85.7MWh", "--hardware", "TPU v3", "--count", "512", "--days", "20",
              "--pue", "1.12")
    assert d["plausible"]


def test_validate_prints_targets():
    out = wattprint("validate", "--summary")
    assert out.returncode == 0, out.stderr
    assert "Targets (issue 5)" in out.stdout and "Patterson" in out.stdout
    assert "Targets (issue 14)" in out.stdout and "held-out" in out.stdout
    d = _json("validate")
    assert d["targets"] and d["rows"]


@pytest.mark.parametrize("args, needle", [
    (("estimate", "train", "--hardware", "H1OO", "--count", "8", "--days", "2"),
     "unknown accelerator"),
    (("estimate", "train", "--hardware", "H100", "--count", "8", "--days", "2", "--pue", "0.8"),
     "PUE"),
    (("estimate", "train", "--hardware", "H100", "--params", "lots", "--tokens", "1T"),
     "parameter"),
    (("estimate", "train", "--hardware", "H100"), "size"),
    (("estimate", "fleet", "--requests-per-day", "1B"), "per request"),
    (("check", "1.28TWh", "--run", "Nonexistent"), "no published run"),
    (("estimate",), "train|infer|fleet"),
])
def test_user_errors_are_one_line_and_exit_2(args, needle):
    out = wattprint(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert "wattprint: error:" in out.stderr and needle in out.stderr, out.stderr


def test_estimate_infer_reasoning_on_a_full_server():
    d = _json("estimate", "infer", "--params", "8B", "--hardware", "H100", "--workload",
              "reasoning", "--saturated")
    assert d["workload"] == "reasoning" and d["output_tokens"] > 5000
    assert 1 < d["batch_size"] <= 1024
    e = d["energy_request_accelerators_wh"]
    assert e["low"] < e["central"] < e["high"]
    capped = _json("estimate", "infer", "--params", "11B", "--max-batch", "8",
                   "--architecture", "encoder-decoder", "--attention", "mha")
    assert capped["batch_size"] == 8
    bad = wattprint("estimate", "infer", "--params", "8B", "--batch", "64", "--max-batch", "8")
    assert bad.returncode == 2 and "max batch" in bad.stderr
