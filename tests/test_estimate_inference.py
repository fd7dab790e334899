"""Inference estimates and fleet projections: physical behaviour, boundaries, ranges."""

from __future__ import annotations

import json

import pytest

from wattprint.errors import UsageError
from wattprint.estimate import estimate_inference, project_fleet
from wattprint.estimate.inference import transformer_shape


def _e(**kw):
    base = dict(params="8B", accelerator="H100", batch_size=64, input_tokens=512,
                output_tokens=400, pue=1.2, intensity_g_per_kwh=400)
    base.update(kw)
    return estimate_inference(**base)


def test_per_request_per_token_per_thousand_agree():
    est = _e()
    acc, it, fac = (est.energy_request_accelerators_wh, est.energy_request_it_wh,
                    est.energy_request_facility_wh)
    assert acc.central < it.central < fac.central
    assert fac.central == pytest.approx(it.central * 1.2)
    assert est.energy_token_accelerators_j.central == pytest.approx(acc.central * 3600 / 400)
    assert est.energy_1k_requests_facility_kwh.central == pytest.approx(fac.central)
    assert est.co2e_request_location_g.central == pytest.approx(fac.central / 1000 * 400)
    for r in (acc, it, fac, est.decode_step_s, est.throughput_tokens_per_s):
        assert r.low < r.central < r.high


def test_draw_is_well_below_tdp_when_decoding():
    est = _e()
    assert 0.3 * 700 < est.power_accelerator_w.central < 0.8 * 700


def test_physics():
    base = _e().energy_request_accelerators_wh.central
    assert _e(params="70B", n_accelerators=4).energy_request_accelerators_wh.central > base
    assert _e(batch_size=8).energy_request_accelerators_wh.central > base  # less sharing
    assert _e(output_tokens=800).energy_request_accelerators_wh.central > base
    assert _e(precision="fp8").energy_request_accelerators_wh.central < base
    moe = _e(params="235B", active_params="22B", n_accelerators=8, batch_size=1)
    dense = _e(params="235B", n_accelerators=8, batch_size=1)
    assert moe.energy_request_accelerators_wh.central < dense.energy_request_accelerators_wh.central
    eager = _e(engine="eager", batch_size=1)
    server = _e(batch_size=1)
    assert eager.decode_step_s.central > server.decode_step_s.central


def test_idle_accelerators_and_the_node_host_count_in_it_only():
    alone = _e(batch_size=1, engine="eager", accelerator="A100-80GB")
    shared = _e(batch_size=1, engine="eager", accelerator="A100-80GB", idle_accelerators=7)
    assert shared.energy_request_it_wh.central > 2 * alone.energy_request_it_wh.central
    assert shared.energy_request_accelerators_wh.central > alone.energy_request_accelerators_wh.central


def test_defaults_and_shape():
    est = estimate_inference(params="70B")
    # 140 GB of bf16 weights × 1.2 headroom on 80 GB cards → 3, rounded to a power of two
    assert est.n_accelerators == 4
    assert (est.batch_size, est.input_tokens, est.output_tokens) == (32, 512, 256)
    layers, d, kv = transformer_shape(175e9)
    assert layers == pytest.approx(96, rel=0.02) and d == pytest.approx(12288, rel=0.02)
    layers, d, kv = transformer_shape(8e9)
    assert kv == pytest.approx(2 * layers * 1024 * 2)
    assert any("Kaplan" in a.source for a in est.assumptions)


def test_measured_power_override():
    est = _e(accelerator_power_w=500)
    assert est.power_accelerator_w.central == pytest.approx(500)


@pytest.mark.parametrize("kw, match", [
    (dict(params="8B", engine="turbo"), "engine"),
    (dict(params="8B", active_params="9B"), "active"),
    (dict(params="8B", precision="fp7"), "precision"),
    (dict(params="lots"), "parameter"),
])
def test_bad_inputs(kw, match):
    with pytest.raises(UsageError, match=match):
        estimate_inference(**kw)


def test_fleet_is_requests_times_energy_times_pue():
    f = project_fleet(requests_per_day="1B", per_request="0.3Wh", pue=1.2,
                      intensity_g_per_kwh=400, years=3, growth="0,50%")
    mwh = 1e9 * 365.25 * 0.3 / 1e6 * 1.2
    assert f.energy_facility_mwh_per_year.central == pytest.approx(mwh)
    assert f.co2e_location_t_per_year.central == pytest.approx(mwh * 0.4)
    rows = f.scenarios["+50%/yr"]
    assert [r.year_index for r in rows] == [1, 2, 3]
    assert rows[2].energy_facility_mwh.central == pytest.approx(mwh * 2.25)
    assert f.households["US"].central == pytest.approx(mwh * 1000 / (893 * 12))
    json.dumps(f.to_dict())
    assert "households" in f.summary()


def test_fleet_from_an_inference_estimate_carries_its_range():
    per = _e()
    f = project_fleet(requests_per_day=1e6, per_request=per)
    assert len(f.scenarios) == 3  # flat, IEA data-centre pace, IEA accelerated servers
    e = f.energy_facility_mwh_per_year
    assert e.low < e.central < e.high
    with pytest.raises(UsageError):
        project_fleet(requests_per_day="1M", per_request="0.3Wh", growth="fast")
