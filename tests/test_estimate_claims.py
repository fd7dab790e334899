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
