"""Training estimates: the two ways in, the three boundaries, ranges, overrides."""

from __future__ import annotations

import json

import pytest

from wattprint.errors import UsageError
from wattprint.estimate import Range, estimate_training
from wattprint.estimate._priors import Prior, combine
from wattprint.estimate._result import spread


def _gpt3(**kw):
    base = dict(accelerator="V100", n_accelerators=10_000, duration="14.8d", pue=1.1,
                intensity_g_per_kwh=429, year=2020)
    base.update(kw)
    return estimate_training(**base)


def test_gpt3_from_hardware_and_time_brackets_the_published_energy():
    est = _gpt3()
    assert est.method == "accelerator-hours"
    assert est.accelerator_hours.central == pytest.approx(3_552_000)
    assert est.duration_days.central == pytest.approx(14.8)
    assert 1287_000 in est.energy_facility_kwh  # Patterson et al. 2021: 1,287 MWh
    assert est.energy_facility_kwh.central == pytest.approx(est.energy_it_kwh.central * 1.1)
    assert 552_000 in est.co2e_location_kg


def test_boundaries_and_ranges_are_ordered():
    est = _gpt3()
    acc, it, fac = est.energy_accelerators_kwh, est.energy_it_kwh, est.energy_facility_kwh
    assert acc.central < it.central < fac.central
    for r in (acc, it, fac, est.power_it_w, est.co2e_location_kg):
        assert r.low < r.central < r.high
    # modelled draw, not TDP: below n × TDP × hours
    assert acc.central < 10_000 * 0.300 * 14.8 * 24


def test_from_parameters_and_tokens():
    est = estimate_training(accelerator="A100", n_accelerators=2048, params="65.2B",
                            tokens="1.4T", pue=1.1)
    assert est.method == "compute"
    assert est.compute_flop == pytest.approx(6 * 65.2e9 * 1.4e12)
    # MFU prior 40 % of 312 TFLOP/s → hours; time needs the count
    assert est.accelerator_hours.central == pytest.approx(
        6 * 65.2e9 * 1.4e12 / (312e12 * 0.40) / 3600, rel=1e-9)
    assert est.duration_days.central == pytest.approx(est.accelerator_hours.central / 2048 / 24)
    assert est.accelerator_hours.low < est.accelerator_hours.central < est.accelerator_hours.high
    names = [a.name for a in est.assumptions]
    assert "training compute" in names and any("MFU" in n or "utilisation" in n
                                               for n in names)


def test_moe_uses_active_parameters():
    dense = estimate_training(accelerator="H100", params="1T", tokens="1T")
    moe = estimate_training(accelerator="H100", params="1T", active_params="50B",
                            tokens="1T")
    assert moe.compute_flop == pytest.approx(dense.compute_flop / 20)


def test_overrides_remove_their_spread():
    est = _gpt3(accelerator_power_w=250, host_power_w=80)
    assert est.power_it_w.central == pytest.approx(330)
    assert est.power_it_w.low == est.power_it_w.high == pytest.approx(330)
    it = _gpt3(it_power_w=330)
    assert it.energy_it_kwh.central == pytest.approx(3_552_000 * 0.330)
    assert it.energy_accelerators_kwh.central < it.energy_it_kwh.central
    mfu = estimate_training(accelerator="V100", params="175B", tokens="300B", mfu=0.2)
    assert mfu.accelerator_hours.low == mfu.accelerator_hours.high
    assert mfu.accelerator_hours.central == pytest.approx(3.15e23 / (125e12 * 0.2) / 3600)


def test_both_ways_give_an_implied_mfu():
    est = _gpt3(params="175B", tokens="300B")
    assert est.method == "accelerator-hours"
    assert est.implied_mfu == pytest.approx(3.15e23 / (125e12 * 3_552_000 * 3600), rel=1e-6)


def test_tpus_use_googles_measured_chip_power():
    est = estimate_training(accelerator="TPU v3", n_accelerators=512, duration="20d",
                            pue=1.12)
    assert est.power_accelerator_w.central == pytest.approx(220)
    assert 85_700 in est.energy_facility_kwh  # T5, Patterson et al. 2021 (measured)


def test_pue_default_has_a_range_and_a_source():
    est = estimate_training(accelerator="H100", n_accelerators=8, duration="1d")
    assert est.pue.low < est.pue.central < est.pue.high
    pue = next(a for a in est.assumptions if a.name == "PUE")
    assert "Uptime" in pue.source or "Green Algorithms" in pue.source


def test_cost_water_and_market_based():
    est = _gpt3(price_per_kwh=0.1, currency="USD", renewable_share=0.5, wue_l_per_kwh=0.5)
    assert est.cost.central == pytest.approx(est.energy_facility_kwh.central * 0.1)
    assert est.co2e_market_kg.central == pytest.approx(est.co2e_location_kg.central / 2)
    assert est.water_l.central > est.energy_it_kwh.central * 0.5


def test_result_is_labelled_serialisable_and_explains_itself():
    est = _gpt3()
    d = json.loads(json.dumps(est.to_dict()))
    assert d["provenance"] == "estimated" and d["energy_facility_kwh"]["unit"] == "kWh"
    assert all(set(a) == {"name", "value", "source"} and a["source"] for a in d["assumptions"])
    text = est.summary()
    assert text.startswith("ESTIMATED") and "assumptions:" in text and "Latif" in text


@pytest.mark.parametrize("kw, match", [
    (dict(accelerator="H100"), "size of the run|run's size"),
    (dict(accelerator="H100", duration="3d"), "number of accelerators"),
    (dict(accelerator="H100", params="7B", tokens="1T", mfu=1.5), "MFU"),
    (dict(accelerator="H100", n_accelerators=0, duration="1d"), "positive"),
    (dict(accelerator="Hopper 9000", n_accelerators=8, duration="1d"), "unknown accelerator"),
])
def test_bad_inputs_are_usage_errors(kw, match):
    with pytest.raises(UsageError, match=match):
        estimate_training(**kw)


def test_spread_adds_independent_factors_in_quadrature():
    a = Prior("a", 1.0, 0.5, 2.0, "", "")
    b = Prior("b", 1.0, 0.5, 2.0, "", "")
    c, lo, hi = spread(lambda p: p["a"] * p["b"], {"a": a, "b": b})
    assert c == 1.0 and hi == pytest.approx(2 ** 2 ** 0.5) and lo == pytest.approx(
        0.5 ** 2 ** 0.5)
    assert combine(1.0, [(1, 0.5, 2), (1, 0.5, 2)]) == pytest.approx((lo, hi))
    r = Range(2.0, 1.0, 3.0, "kWh")
    assert r.scale(2).to_dict() == {"central": 4.0, "low": 2.0, "high": 6.0, "unit": "kWh"}
