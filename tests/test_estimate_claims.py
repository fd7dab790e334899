"""Claim checks: plausible, outside the range, unit slips and powers of ten."""

from __future__ import annotations

import json

import pytest

from wattprint.errors import UsageError
from wattprint.estimate import check_claim


def test_the_famous_gpt3_terawatt_hours():
    r = check_claim("1.28TWh", run="GPT-3")
    assert r.verdict == "unit-slip" and r.slip_factor == 1000
    assert "off by ≈1,000×" in r.message and "unit slip of 10^3" in r.message
    assert "GWh written as TWh" in r.message
    assert r.published == pytest.approx(1_287_000)  # kWh, Patterson et al. 2021
    assert r.estimate.low <= 1_287_000 <= r.estimate.high
    # the estimate never used the published power: 330 W is not among the assumptions
    assert not any("330" in a.value for a in r.assumptions)


@pytest.mark.parametrize("claim, verdict", [
    ("1287 MWh", "plausible"), ("1.287 GWh", "plausible"), ("12.87 GWh", "power-of-ten"),
    ("1.28 MWh", "unit-slip"), ("5 GWh", "implausible"), ("552 tCO2e", "plausible"),
    ("552 kt", "unit-slip"),
])
def test_verdicts(claim, verdict):
    assert check_claim(claim, run="GPT-3").verdict == verdict


def test_a_described_run():
    r = check_claim("85.7MWh", accelerator="TPU v3", n_accelerators=512, duration="20d",
                    pue=1.12)
    assert r.plausible and r.run is None
    d = json.loads(json.dumps(r.to_dict()))
    assert d["verdict"] == "plausible" and d["training_estimate"]["provenance"] == "estimated"


def test_errors():
    with pytest.raises(UsageError, match="no published run"):
        check_claim("1 GWh", run="Nonexistent-9000")
    with pytest.raises(UsageError, match="name the run"):
        check_claim("1 GWh")
    with pytest.raises(UsageError, match="cannot read the claim"):
        check_claim("very big", run="GPT-3")


# --- claims per request / per token (issue 14) ------------------------------------------------

def test_a_per_query_claim_is_checked_against_inference_not_training():
    result = check_claim("3 Wh per query", params="175B", accelerator="H100",
                         n_accelerators=8)
    assert result.scope == "request" and result.inference is not None
    assert result.training is None
    # the range is a request's energy: watt-hours, not the megawatt-hours of a training run
    assert 1e-5 < result.estimate.central < 0.05  # kWh
    assert result.to_dict()["inference_estimate"]["output_tokens"] > 0


def test_a_few_watt_hours_with_training_inputs_is_not_silently_training():
    result = check_claim("3Wh", params="175B", tokens="300B", accelerator="V100")
    assert result.scope == "request" and result.training is None
    assert "reads as the energy of one request" in result.message
    assert "tokens" in result.message  # the training input set aside is named
    # and asked for explicitly, the same figure is judged as a training run
    as_run = check_claim("3Wh", per="run", params="175B", tokens="300B", accelerator="V100")
    assert as_run.scope == "run" and as_run.verdict != "plausible"
    assert as_run.training is not None and as_run.inference is None


def test_per_token_and_co2e_per_query():
    tok = check_claim("0.5 J/token", params="8B", accelerator="H100", output_tokens=256)
    assert tok.scope == "token"
    req = check_claim("0.5 J per request", params="8B", accelerator="H100", output_tokens=256)
    assert tok.estimate.central == pytest.approx(req.estimate.central / 256)
    co2 = check_claim("0.2 g CO2e per query", params="70B", intensity_g_per_kwh=400.0)
    assert co2.kind == "co2e" and co2.scope == "request"
    assert co2.estimate.central == pytest.approx(
        co2.inference.energy_request_facility_wh.central * 0.4 / 1000, rel=1e-6)


def test_a_per_request_claim_needs_the_model_and_refuses_a_run():
    with pytest.raises(UsageError, match="--params"):
        check_claim("3 Wh per query", accelerator="H100")
    with pytest.raises(UsageError, match="served model"):
        check_claim("3 Wh per query", run="GPT-3")


def test_check_cli_per_request(tmp_path):
    from _cli import wp

    out = wp(tmp_path, "check", "3 Wh per ChatGPT query", "--params", "175B", "--count", "8",
             "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["scope"] == "request" and data["inference_estimate"] is not None
    out = wp(tmp_path, "check", "3Wh", "--params", "175B", "--tokens", "300B")
    assert out.returncode == 0, out.stderr
    assert "per request" in out.stdout and "training inputs" in out.stdout


def test_a_named_run_is_checked_at_the_boundary_its_figure_was_counted_at():
    """Meta's Llama 3 70B card (GPU-hours × 700 W, 1,900 t) is plausible at its own
    boundary — the accelerators' — where the facility's energy called it implausible;
    a boundary given by the caller still wins; Patterson's GPT-3 stays at the facility."""
    energy = check_claim("4480MWh", run="Llama 3 70B")
    assert energy.plausible and energy.boundary.startswith("accelerators only")
    assert "it matches the published" in energy.message
    assert check_claim("1900 t", run="Llama 3 70B").plausible
    facility = check_claim("4480MWh", run="Llama 3 70B", boundary="facility")
    assert facility.verdict == "implausible" and facility.boundary == "facility"
    assert facility.estimate.central > energy.estimate.central * 1.5
    assert check_claim("1287 MWh", run="GPT-3").boundary.startswith("facility")
    # an OLMo 2 row: measured GPU energy, before PUE
    olmo = check_claim("131MWh", run="OLMo 2 7B")
    assert olmo.boundary == "accelerators only (GPU power measured)"
    assert olmo.verdict == "plausible"


def test_a_slip_past_the_named_units_reads_as_a_sentence():
    """1.2e-12 MWh is 10^-12 off, beyond the units that have names: "looks like a unit
    slip of 10^-12", not "looks like (a unit slip ...)"."""
    r = check_claim("1.2e-12 MWh", accelerator="H100", n_accelerators=8, duration="3d")
    assert r.verdict == "unit-slip"
    assert "looks like a unit slip of 10^-12: 1.2 MWh would fit" in r.message


def test_check_cli_takes_the_accelerators_power_limit(tmp_path):
    """A claim about a run on capped GPUs is checked at the cap (`--tdp`), as `--run` does
    for a published run whose source states one (Llama 2 34B at 350 W)."""
    from _cli import wp

    base = ["check", "363.4MWh", "--hardware", "A100-80GB", "--accelerator-hours", "1038336",
            "--params", "34B", "--boundary", "accelerators", "--json"]
    free = json.loads(wp(tmp_path, *base).stdout)
    capped = wp(tmp_path, *base, "--tdp", "350")
    assert capped.returncode == 0, capped.stderr
    capped = json.loads(capped.stdout)
    assert capped["estimate"]["central"] == pytest.approx(
        free["estimate"]["central"] * 350 / 400, rel=1e-9)
    assert capped["estimate"]["central"] == pytest.approx(
        check_claim("363.4MWh", run="Llama 2 34B").estimate.central, rel=1e-9)
    bad = wp(tmp_path, *base, "--tdp", "-5")
    assert bad.returncode == 2 and "--tdp -5" in bad.stderr and "Traceback" not in bad.stderr
