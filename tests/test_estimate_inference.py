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


# --- request shape from the workload and the server (docs/estimate.md, "Inference") ---------

def test_reasoning_workload_default_output_length_is_cited_and_ranged():
    from wattprint.estimate._priors import REASONING_OUTPUT_TOKENS

    chat = estimate_inference(params="8B", batch_size=64)
    think = estimate_inference(params="8B", batch_size=64, workload="reasoning")
    assert chat.output_tokens == 256 and chat.workload == "chat"
    assert think.output_tokens == round(REASONING_OUTPUT_TOKENS.central)
    assert think.workload == "reasoning"
    assert "ML.ENERGY" in REASONING_OUTPUT_TOKENS.source
    # the unknown length widens the range; per request it scales with the output length
    e = think.energy_request_accelerators_wh
    assert e.central > 20 * chat.energy_request_accelerators_wh.central
    assert e.high / e.central > 1.4 and e.central / e.low > 3
    # per output token is computed over the same range, not per request ÷ a fixed length
    t = think.energy_token_accelerators_j
    assert t.low < t.central < t.high and t.high / t.low < e.high / e.low
    assert think.energy_token_facility_j.central > t.central
    assert "reasoning workload" in think.summary()
    # a given output length wins and carries no length range
    given = estimate_inference(params="8B", batch_size=64, workload="reasoning",
                               output_tokens=1000)
    assert given.output_tokens == 1000
    assert given.energy_token_accelerators_j.central == pytest.approx(
        given.energy_request_accelerators_wh.central * 3600 / 1000)


def test_kv_cache_capacity():
    from wattprint.estimate.inference import kv_cache_capacity

    # 0.9 × 80 GB − 16 GB of weights = 56 GB; 100 kB × 1,000 tokens = 100 MB a sequence
    assert kv_cache_capacity(memory_bytes=80e9, weights_bytes=16e9, kv_bytes_per_token=1e5,
                             mean_context_tokens=1000) == 560
    assert kv_cache_capacity(memory_bytes=80e9, weights_bytes=79e9, kv_bytes_per_token=1e5,
                             mean_context_tokens=1000) == 0


def test_a_full_server_runs_what_its_kv_cache_holds_up_to_its_cap():
    short = estimate_inference(params="8B", saturated=True, input_tokens=512,
                               output_tokens=512)
    long = estimate_inference(params="8B", saturated=True, input_tokens=512,
                              output_tokens=4096)
    assert 100 < long.batch_size < short.batch_size <= 1024  # vLLM's cap on an H100
    assert any(a.name == "batch" and "KV" in a.source for a in long.assumptions)
    # a given cap binds when the cache holds more
    assert estimate_inference(params="8B", max_batch_size=64, output_tokens=512).batch_size == 64
    # A100s: vLLM's smaller default cap
    a100 = estimate_inference(params="1B", accelerator="A100-80GB", saturated=True,
                              output_tokens=64)
    assert a100.batch_size == 256
    # more sequences share each read of the weights: less energy per request than batch 32
    assert short.energy_request_accelerators_wh.central < estimate_inference(
        params="8B", input_tokens=512, output_tokens=512).energy_request_accelerators_wh.central
    # with a ranged output length the batch follows it: the range still brackets the centre
    think = estimate_inference(params="8B", saturated=True, workload="reasoning")
    r = think.energy_request_accelerators_wh
    assert r.low < r.central < r.high and think.batch_size < short.batch_size


def test_encoder_decoder_and_full_multi_head_attention():
    kw = dict(params="11B", accelerator="A100-80GB", engine="eager", batch_size=1,
              output_tokens=10)
    dec = estimate_inference(**kw)
    encdec = estimate_inference(**kw, architecture="encoder-decoder")
    # each output token reads the decoder only (~57 % of the weights)
    assert encdec.decode_step_s.central < 0.8 * dec.decode_step_s.central
    assert (encdec.energy_request_accelerators_wh.central
            < dec.energy_request_accelerators_wh.central)
    assert any(a.name == "encoder-decoder" for a in encdec.assumptions)
    layers, d, kv_gqa = transformer_shape(65e9)
    _, _, kv_mha = transformer_shape(65e9, attention="mha")
    assert kv_mha == pytest.approx(2 * layers * d * 2) and kv_mha > 7 * kv_gqa
    mha = _e(params="65B", n_accelerators=8, attention="mha")
    assert mha.energy_request_accelerators_wh.central > _e(
        params="65B", n_accelerators=8).energy_request_accelerators_wh.central


@pytest.mark.parametrize("kw, match", [
    (dict(params="8B", workload="poetry"), "workload"),
    (dict(params="8B", architecture="rnn"), "architecture"),
    (dict(params="8B", attention="linear"), "attention"),
    (dict(params="8B", batch_size=128, max_batch_size=64), "max batch"),
    (dict(params="8B", max_batch_size=0), "max batch"),
])
def test_bad_request_shape(kw, match):
    with pytest.raises(UsageError, match=match):
        estimate_inference(**kw)
