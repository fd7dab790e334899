"""Inference estimate: energy per output token, per request and per 1,000 requests of a
language model served on given accelerators.

A roofline of autoregressive decoding: each step reads the weights (all of a dense model;
for a mixture-of-experts the experts the batch touches) and the batch's KV cache from
memory, and does 2·N_active FLOPs per sequence; it takes the longer of the memory and the
compute time plus the host's per-step overhead, and serves one token to each of the
``batch_size`` sequences. Prefill is a compute-bound pass over the prompt. A
mixture-of-experts spread over several accelerators also waits, every layer, on the
expert-parallel exchange of its tokens; Blackwell GPUs reach a smaller share of their
datasheet bandwidth and FLOP/s in today's engines. Power follows the work: near TDP when
compute-bound, below it when memory-bound, idle draw while the accelerator waits on the
host. Priors and sources (fitted on measured energy, power and throughput):
:mod:`._priors`, docs/estimate.md.

    from wattprint.estimate import estimate_inference
    est = estimate_inference(params="8B", accelerator="H100", batch_size=64,
                             input_tokens=512, output_tokens=400)
    est.energy_request_accelerators_wh.central, est.summary()
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import inputs
from ..errors import UsageError
from .._format import format_number, format_power
from ._power import host_rating_w, require_tdp, tdp_text
from ._priors import (ASPECT_RATIO, BYTES_PER_PARAM, DEFAULT_BATCH, DEFAULT_INPUT_TOKENS,
                      DEFAULT_OUTPUT_TOKENS, ENGINE_MAX_SEQS_SOURCE, HOST_UTILISATION,
                      HOST_UTILISATION_INFER, IDLE_DRAW, KV_DIM_MAX, KV_MEMORY_FRACTION,
                      REASONING_OUTPUT_TOKENS, WORKLOADS, ENC_DEC_DECODER_SHARE,
                      ENC_DEC_DECODER_SHARE_SOURCE, Prior, combine, engine_max_seqs)
from . import _priors as P  # calibrated priors, read at call time (tools/calibrate.py)
from ._result import PROVENANCE, Assumption, Range, fmt_range, footprint, ranges_dict, spread
from .catalogue import Accelerator, resolve_accelerator

__all__ = ["InferenceEstimate", "estimate_inference", "transformer_shape", "ENGINES",
           "WORKLOADS", "ARCHITECTURES", "ATTENTIONS", "kv_cache_capacity",
           "moe_weights_read"]

ENGINES = ("server", "eager")
ARCHITECTURES = ("decoder", "encoder-decoder")
ATTENTIONS = ("gqa", "mha")
#: Memory headroom when choosing the number of accelerators (KV cache, activations).
MEMORY_HEADROOM = 1.2


def transformer_shape(active_params: float, n_layers: int | None = None,
                      attention: str = "gqa") -> tuple[float, float, float]:
    """(layers, d_model, KV bytes per token at 16 bits) of a decoder with
    ``active_params``: N ≈ 12·L·d² with d = 128·L; KV width min(d, 1,024) with grouped-query
    attention, d with full multi-head attention ("mha")."""
    layers = float(n_layers) if n_layers else (active_params / (12 * ASPECT_RATIO ** 2)) ** (1 / 3)
    layers = max(layers, 1.0)
    d_model = ASPECT_RATIO * layers
    kv_bytes = 2 * layers * (d_model if attention == "mha" else min(d_model, KV_DIM_MAX)) * 2
    return layers, d_model, kv_bytes


def moe_weights_read(total: float, active: float, batch: float) -> float:
    """Parameters one decoding step reads: all of a dense model; for a mixture of experts
    the expected share a batch of independently routed sequences touches,
    total × (1 − (1 − active/total)^batch) — active parameters at batch 1, nearly all of
    them once the batch is large."""
    if active >= total or total <= 0:
        return total
    return total * (1.0 - (1.0 - active / total) ** max(batch, 1.0))


def kv_cache_capacity(*, memory_bytes: float, weights_bytes: float, kv_bytes_per_token: float,
                      mean_context_tokens: float) -> int:
    """Sequences whose KV cache fits beside the weights: (memory × the engine's memory
    fraction − weights) ÷ (KV bytes per token × the mean context of a running sequence).
    In a full server sequences sit at every stage of their output, so a running sequence
    holds on average its prompt plus half its output. An upper bound (activations and
    fragmentation take some memory); 0 when the weights leave no room."""
    free = memory_bytes * KV_MEMORY_FRACTION - weights_bytes
    per_seq = kv_bytes_per_token * max(mean_context_tokens, 1.0)
    return max(0, int(free // per_seq)) if per_seq > 0 else 0


@dataclass
class InferenceEstimate:
    """Estimated energy of serving requests. Per-request energies at three boundaries
    (accelerators; IT with host share and idle accelerators; facility × PUE), per output
    token, per 1,000 requests; CO2e, water; the assumptions they rest on."""

    params: float
    active_params: float
    accelerator: str
    n_accelerators: int
    precision: str
    engine: str
    batch_size: int
    input_tokens: int
    output_tokens: int
    idle_accelerators: int
    decode_step_s: Range
    throughput_tokens_per_s: Range  # output tokens per second, whole accelerator group
    latency_s: Range  # one request: its prefill + its decode steps
    power_accelerator_w: Range  # per accelerator, average while decoding
    power_accelerator_mean_w: Range  # per accelerator, mean over prefill and decoding
    service_s: Range  # accelerator-group seconds per request (prefill + its decode share)
    energy_request_accelerators_wh: Range
    energy_request_it_wh: Range
    energy_request_facility_wh: Range
    energy_token_accelerators_j: Range  # per output token
    energy_token_facility_j: Range
    energy_1k_requests_facility_kwh: Range
    pue: Range
    co2e_request_location_g: Range
    co2e_request_market_g: Range
    water_request_ml: Range | None
    zone: str
    assumptions: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: str = PROVENANCE
    workload: str = "chat"

    RANGES = ("decode_step_s", "throughput_tokens_per_s", "latency_s", "power_accelerator_w",
              "power_accelerator_mean_w", "service_s",
              "energy_request_accelerators_wh", "energy_request_it_wh",
              "energy_request_facility_wh", "energy_token_accelerators_j",
              "energy_token_facility_j", "energy_1k_requests_facility_kwh", "pue",
              "co2e_request_location_g", "co2e_request_market_g", "water_request_ml")

    def energy_request_wh(self, boundary: str) -> Range:
        try:
            return {"accelerators": self.energy_request_accelerators_wh,
                    "it": self.energy_request_it_wh,
                    "facility": self.energy_request_facility_wh}[boundary]
        except KeyError:
            raise UsageError(f"unknown boundary {boundary!r}; use accelerators, it or "
                             "facility") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "inference", "provenance": self.provenance, "params": self.params,
            "active_params": self.active_params, "accelerator": self.accelerator,
            "n_accelerators": self.n_accelerators, "precision": self.precision,
            "engine": self.engine, "workload": self.workload, "batch_size": self.batch_size,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "idle_accelerators": self.idle_accelerators, "zone": self.zone}
        out.update(ranges_dict(self, self.RANGES))
        out["assumptions"] = [a.to_dict() for a in self.assumptions]
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        def r(x: Range) -> str:
            return f"{fmt_range(x)} {x.unit}"

        moe = (f", {format_number(self.active_params / 1e9)}B active"
               if self.active_params != self.params else "")
        lines = [
            "ESTIMATED inference energy — a model, not a measurement",
            f"  model            {format_number(self.params / 1e9)}B parameters{moe}, "
            f"{self.precision}",
            f"  hardware         {self.n_accelerators} × {self.accelerator}"
            + (f" (+{self.idle_accelerators} idle)" if self.idle_accelerators else ""),
            f"  request          {self.input_tokens} input + {self.output_tokens} output "
            f"tokens, batch {self.batch_size}, {self.engine} engine"
            + (f", {self.workload} workload" if self.workload != "chat" else ""),
            f"  decode step      {r(self.decode_step_s.scale(1000, 'ms'))}",
            f"  throughput       {r(self.throughput_tokens_per_s)}",
            f"  power / accel.   {r(self.power_accelerator_w)} decoding, "
            f"{r(self.power_accelerator_mean_w)} mean with prefill",
            f"  service time     {r(self.service_s)} of the accelerators per request",
            f"  per request      accelerators {r(self.energy_request_accelerators_wh)}",
            f"                   IT equipment {r(self.energy_request_it_wh)}",
            f"                   facility     {r(self.energy_request_facility_wh)}  "
            f"(PUE {format_number(self.pue.central)})",
            f"  per output token {r(self.energy_token_accelerators_j)} accelerators, "
            f"{format_number(self.energy_token_facility_j.central)} J facility",
            f"  per 1,000 req.   {r(self.energy_1k_requests_facility_kwh)} facility",
            f"  CO2e / request   {r(self.co2e_request_location_g)} location-based ({self.zone})"]
        if self.water_request_ml:
            lines.append(f"  water / request  {r(self.water_request_ml)}")
        lines.append("  assumptions:")
        lines += [f"    - {a.name}: {a.value} [{a.source}]" for a in self.assumptions]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def estimate_inference(*, params: "str | float", accelerator: "str | Accelerator" = "H100",
                       active_params: "str | float | None" = None,
                       n_accelerators: int | None = None, precision: str = "bf16",
                       batch_size: int | None = None,
                       input_tokens: "int | str | None" = None,
                       output_tokens: "int | str | None" = None, engine: str = "server",
                       workload: str = "chat", max_batch_size: int | None = None,
                       saturated: bool = False, architecture: str = "decoder",
                       attention: str = "gqa",
                       idle_accelerators: int = 0, n_layers: int | None = None,
                       kv_bytes_per_token: float | None = None, tdp_w: float | None = None,
                       peak_tflops: float | None = None,
                       memory_bandwidth_tb_s: float | None = None,
                       accelerator_power_w: float | None = None,
                       pue: float | None = None, provider: str | None = "datacenter",
                       zone: str | None = None, year: int | None = None,
                       intensity_g_per_kwh: float | None = None,
                       renewable_share: float | None = None,
                       market_factor_g_per_kwh: float | None = None,
                       wue_l_per_kwh: float | None = None,
                       water_l_per_kwh: float | None = None) -> InferenceEstimate:
    """Estimate the energy of requests to a language model.

    params: total parameters ("70B"); active_params: for mixture-of-experts ("17B").
    engine: "server" (continuous-batching engine such as vLLM or TensorRT-LLM; default
    batch 32) or "eager" (framework eager mode, e.g. Hugging Face pipelines; default batch
    1). workload: "chat" (default output 256 tokens) or "reasoning" (a thinking model on
    hard questions: default output ~7,000 tokens with a range; docs/estimate.md).
    batch_size: the sequences decoded together. Not known? max_batch_size (the server's cap,
    e.g. vLLM's max_num_seqs) or saturated=True (a server kept full, as in throughput
    benchmarks): the batch is then as many sequences as the KV cache holds beside the
    weights, up to max_batch_size or the engine's default cap. idle_accelerators:
    accelerators of the same node left idle but powered (they and the whole node's host
    count in the IT boundary). architecture: "decoder" (decoder-only, default) or
    "encoder-decoder" (T5, BART: the encoder reads the prompt once, each output token runs
    the decoder only). attention: "gqa" (grouped-query, default: KV width ≤ 8 heads × 128)
    or "mha" (full multi-head attention, as in LLaMA-1, OPT, BLOOM, GPT-3, T5: KV width
    d_model). Overrides: n_layers, kv_bytes_per_token, tdp_w, peak_tflops,
    memory_bandwidth_tb_s, accelerator_power_w.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    for value, allowed, what in ((workload, WORKLOADS, "workload"),
                                 (architecture, ARCHITECTURES, "architecture"),
                                 (attention, ATTENTIONS, "attention")):
        if value not in allowed:
            raise UsageError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
    tdp_w = inputs.check("tdp_w", "tdp_w", tdp_w)
    peak_tflops = inputs.check("peak_tflops", "peak_tflops", peak_tflops)
    memory_bandwidth_tb_s = inputs.check("bandwidth_tb_s", "memory_bandwidth_tb_s",
                                         memory_bandwidth_tb_s)
    accelerator_power_w = inputs.check("power_w", "accelerator_power_w", accelerator_power_w)
    kv_bytes_per_token = inputs.check("kv_bytes_per_token", "kv_bytes_per_token",
                                      kv_bytes_per_token)
    n_layers = inputs.check("n_layers", "n_layers", n_layers)
    n_accelerators = inputs.check("n_accelerators", "n_accelerators", n_accelerators)
    batch_size = inputs.check("batch", "batch_size", batch_size)
    max_batch_size = inputs.check("max_batch", "max_batch_size", max_batch_size)
    idle_accelerators = inputs.check("idle", "idle_accelerators", idle_accelerators)
    input_tokens = inputs.count("input_tokens", input_tokens, "input_tokens")
    output_tokens = inputs.count("output_tokens", output_tokens, "output_tokens")
    acc = resolve_accelerator(accelerator, tdp_w=tdp_w, peak_tflops=peak_tflops,
                              memory_bandwidth_tb_s=memory_bandwidth_tb_s)
    if params is None:
        raise UsageError("params=None: give the model's size, e.g. params='8B'")
    n_total = inputs.params("params", params)
    n_act = inputs.params("active_params", active_params) or n_total
    if n_act > n_total:
        raise UsageError("active parameters cannot exceed the total")
    p = precision.lower()
    if p not in BYTES_PER_PARAM:
        raise UsageError(f"unknown precision {precision!r}; use one of "
                         f"{', '.join(BYTES_PER_PARAM)}")
    bytes_pp = BYTES_PER_PARAM[p]
    I = int(input_tokens) if input_tokens is not None else DEFAULT_INPUT_TOKENS
    out_prior: Prior | None = None
    if output_tokens is not None:
        O = int(output_tokens)
    elif workload == "reasoning":
        out_prior = REASONING_OUTPUT_TOKENS
        O = int(out_prior.central)
    else:
        O = DEFAULT_OUTPUT_TOKENS
    if O < 1 or I < 0:
        raise UsageError("output tokens must be at least 1 and input tokens at least 0")
    for size, what in ((batch_size, "batch size"), (max_batch_size, "max batch size")):
        if size is not None and int(size) < 1:
            raise UsageError(f"{what} must be at least 1")
    if batch_size and max_batch_size and int(batch_size) > int(max_batch_size):
        raise UsageError("batch size cannot exceed the max batch size")
    tdp = require_tdp(acc, tdp_w) if accelerator_power_w is None else (tdp_w or acc.tdp_w
                                                                         or accelerator_power_w)
    bw_tb = memory_bandwidth_tb_s or acc.memory_bandwidth_tb_s
    if not bw_tb:
        raise UsageError(f"the catalogue has no memory bandwidth for {acc.name}; pass "
                         "memory_bandwidth_tb_s= (--bandwidth)")
    if peak_tflops:
        peak, used = peak_tflops * 1e12, p
    else:
        peak, used = acc.peak_flops(p)
    weights_bytes = n_total * bytes_pp
    notes: list[str] = []
    if n_accelerators:
        g = int(n_accelerators)
        if acc.memory_gb and weights_bytes > g * acc.memory_gb * 1e9:
            notes.append(f"{weights_bytes / 1e9:.0f} GB of weights do not fit in {g} × "
                         f"{format_number(acc.memory_gb)} GB; the estimate assumes they do")
    else:
        need = max(1, math.ceil(weights_bytes * MEMORY_HEADROOM / (acc.memory_gb * 1e9))) \
            if acc.memory_gb else 1
        # tensor parallelism splits heads evenly: powers of two, then whole 8-way nodes
        g = 2 ** math.ceil(math.log2(need)) if need <= 8 else 8 * math.ceil(need / 8)
    # The stack that runs once per output token, and the one that reads the prompt.
    share = ENC_DEC_DECODER_SHARE if architecture == "encoder-decoder" else 1.0
    dec_total, dec_act = n_total * share, n_act * share
    pf_total, pf_act = ((n_total - dec_total, n_act - dec_act) if share < 1
                        else (n_total, n_act))
    layers, d_model, kv_default = transformer_shape(dec_act, n_layers, attention)
    kv_bpt = kv_bytes_per_token if kv_bytes_per_token is not None else kv_default
    ctx = I + O / 2

    batch_how = "given"
    full_batch = None  # a full server's batch as a function of the mean context
    if batch_size:
        B = int(batch_size)
    elif max_batch_size or saturated:
        cap = int(max_batch_size) if max_batch_size else engine_max_seqs(acc.name,
                                                                         acc.memory_gb)
        cap_src = "given" if max_batch_size else f"engine default; {ENGINE_MAX_SEQS_SOURCE}"
        if acc.memory_gb:
            def full_batch(context: float, _cap: int = cap, _mem: float = acc.memory_gb
                           ) -> int:
                return max(1, min(_cap, kv_cache_capacity(
                    memory_bytes=g * _mem * 1e9, weights_bytes=weights_bytes,
                    kv_bytes_per_token=kv_bpt, mean_context_tokens=context)))

            fit = kv_cache_capacity(memory_bytes=g * acc.memory_gb * 1e9,
                                    weights_bytes=weights_bytes, kv_bytes_per_token=kv_bpt,
                                    mean_context_tokens=ctx)
            B = full_batch(ctx)
            batch_how = (f"a full server: min(cap {cap} ({cap_src}), {fit} sequences whose KV "
                         f"cache ({kv_bpt / 1e3:.0f} kB/token × {ctx:.0f} tokens mean "
                         f"context) fits in {format_number(KV_MEMORY_FRACTION)} × {g} × "
                         f"{format_number(acc.memory_gb)} GB beside "
                         f"{format_number(weights_bytes / 1e9)} GB of "
                         "weights)")
            if fit < 1:
                notes.append("the weights leave no memory for a KV cache; batch 1 assumed")
        else:
            B = cap
            batch_how = f"a full server at its cap {cap} ({cap_src}); memory unknown"
    else:
        B = DEFAULT_BATCH[engine]
        batch_how = f"default for the {engine} engine"

    src_hw = "Epoch AI ML hardware database (CC-BY-4.0)" + (
        f"; UNVERIFIED gap-fill for {', '.join(acc.unverified)}" if acc.unverified else "")
    assumptions = [
        Assumption("accelerator", f"{g} × {acc.name}: {format_number(peak / 1e12)} TFLOP/s "
                   f"({used}), {format_number(bw_tb)} TB/s, {tdp_text(acc, tdp_w)}", src_hw),
        Assumption("request", f"{I} input + {O} output tokens, {engine} engine, "
                   f"{workload} workload"
                   + (" (defaults)" if input_tokens is None or output_tokens is None else ""),
                   "given" if input_tokens is not None and output_tokens is not None
                   else f"defaults: {DEFAULT_INPUT_TOKENS} input tokens; output "
                   + (out_prior.text() + f" — {out_prior.source}" if out_prior
                      else f"{O} tokens")),
        Assumption("batch", f"{B} sequences decoded together", batch_how),
        Assumption("model shape", f"{layers:.0f} layers, d_model {d_model:.0f}, KV cache "
                   f"{kv_bpt / 1e3:.0f} kB per token"
                   + (" (decoder stack)" if share < 1 else ""), "given" if n_layers and
                   kv_bytes_per_token is not None else
                   "N ≈ 12·L·d² (Kaplan et al. 2020) with d = 128·L (GPT-3 175B: 96 layers, "
                   "d 12,288; Brown et al. 2020); "
                   + ("full multi-head attention: KV width d_model (Vaswani et al. 2017)"
                      if attention == "mha" else
                      "KV width ≤ 8 heads × 128 (grouped-query attention: Ainslie et al. "
                      "2023; Llama 3, Mistral, Qwen)")),
        Assumption("weights read per step", f"{format_number(bytes_pp)} bytes × the "
                   "parameters a batch "
                   "touches: total × (1 − (1 − active/total)^batch)",
                   "mixture-of-experts: each sequence routes to its own experts, so the "
                   "expected share of experts touched grows with the batch up to all of "
                   "them (dense: all parameters every step)"),
    ]
    overhead = (P.STEP_OVERHEAD_SERVER_S if engine == "server" else P.LAYER_OVERHEAD_EAGER_S)
    priors: dict[str, Prior] = {
        "mem_eff": P.INFER_MEM_EFFICIENCY, "cmp_eff": P.INFER_COMPUTE_EFFICIENCY,
        "pf_eff": P.INFER_PREFILL_EFFICIENCY, "over": overhead, "resid": P.SERVE_RESIDUAL,
    }
    one = Prior("", 1.0, 1.0, 1.0, "", "")
    priors["moe"] = P.MOE_EFFICIENCY if n_act < 0.8 * n_total else one
    priors["lowp"] = (P.LOW_PRECISION_EFFICIENCY if used in ("fp8", "fp4", "int8", "int4")
                      else one)
    priors["over_seq"] = P.STEP_OVERHEAD_PER_SEQ_S if engine == "server" else \
        Prior("", 0.0, 0.0, 0.0, "s", "")
    # a mixture-of-experts over several accelerators: expert-parallel exchanges every layer
    expert_parallel = n_act < 0.8 * n_total and g > 1
    zero = Prior("", 0.0, 0.0, 0.0, "s", "")
    priors["ep_layer"] = P.EP_LAYER_S if expert_parallel else zero
    priors["ep_token"] = P.EP_TOKEN_LAYER_S if expert_parallel else zero
    priors["f_ep"] = P.EP_DRAW if expert_parallel else one
    priors["gen"] = P.BLACKWELL_EFFICIENCY if P.is_blackwell(acc.name) else one
    for key in ("moe", "lowp", "over_seq", "ep_layer", "ep_token", "f_ep", "gen", "resid"):
        if priors[key].low != priors[key].high:
            assumptions.append(Assumption(priors[key].name, priors[key].text(),
                                          priors[key].source))
    if out_prior is not None:
        priors["out"] = out_prior
    if share < 1:
        assumptions.append(Assumption(
            "encoder-decoder", f"decoder {share:.0%} of the parameters, read per output "
            f"token; encoder {1 - share:.0%}, run once over the prompt",
            ENC_DEC_DECODER_SHARE_SOURCE))
    if accelerator_power_w is None:
        priors.update(f_mem=P.INFER_DRAW_MEMORY_BOUND, f_cmp=P.INFER_DRAW_COMPUTE_BOUND,
                      f_idle=IDLE_DRAW)
    else:
        assumptions.append(Assumption("accelerator draw", format_power(accelerator_power_w),
                                      "given (measured)"))
    rating = host_rating_w(acc, tdp_w)
    if acc.kind == "tpu":  # the TPU host share is a training-load figure in watts
        scale = HOST_UTILISATION_INFER.central / HOST_UTILISATION.central
        priors["host_w"] = rating.scaled(scale)
        priors["host_util"] = Prior("host draw", 1, 1, 1, "", "in the host share")
    else:
        priors["host_w"] = rating
        priors["host_util"] = HOST_UTILISATION_INFER
    for key in ("mem_eff", "cmp_eff", "pf_eff", "over", "f_mem", "f_cmp", "f_idle",
                "host_util"):
        pr = priors.get(key)
        if pr is not None and pr.low != pr.high:
            assumptions.append(Assumption(pr.name, pr.text(), pr.source))
    assumptions.append(Assumption("host share per accelerator", rating.text(),
                                  rating.source))

    bw = g * bw_tb * 1e12
    flops = g * peak
    B0 = B

    def step(pr: Mapping[str, float]) -> dict[str, float]:
        O_ = pr.get("out", O)  # a ranged default output length, else the given one
        ctx_ = I + O_ / 2
        B = full_batch(ctx_) if full_batch is not None else B0  # longer outputs, fewer fit
        weights = bytes_pp * moe_weights_read(dec_total, dec_act, B)
        mem_eff = pr["mem_eff"] * pr["moe"] * pr["gen"]
        cmp_eff = pr["cmp_eff"] * pr["moe"] * pr["lowp"] * pr["gen"]
        t_mem = (weights + B * ctx_ * kv_bpt) / (bw * mem_eff)
        t_cmp = 2 * dec_act * B / (flops * cmp_eff)
        t_gpu = max(t_mem, t_cmp)
        t_over = pr["over"] * (layers if engine == "eager" else 1.0) + pr["over_seq"] * B
        t_ep = layers * (pr["ep_layer"] + pr["ep_token"] * B)
        t_step = t_gpu + t_over + t_ep
        # prefill of one request; a batch of prompts shares one read of the weights
        t_pf_c = 2 * pf_act * I / (flops * pr["pf_eff"] * pr["lowp"] * pr["gen"])
        t_pf_m = bytes_pp * min(pf_total, pf_act * max(I, 1)) / (bw * mem_eff) / B
        t_pf_gpu = max(t_pf_c, t_pf_m)
        t_pf = t_pf_gpu + t_over / B
        if accelerator_power_w is not None:
            p_dec = p_pf = accelerator_power_w
            p_idle = accelerator_power_w * IDLE_DRAW.central
        else:
            f_dec = pr["f_mem"] + (pr["f_cmp"] - pr["f_mem"]) * min(1.0, t_cmp / t_mem)
            f_pf = pr["f_mem"] + (pr["f_cmp"] - pr["f_mem"]) * min(1.0, t_pf_c / t_pf_m)
            p_dec = tdp * (pr["f_idle"] * t_over + f_dec * t_gpu + pr["f_ep"] * t_ep) / t_step
            p_pf = tdp * (pr["f_idle"] + (f_pf - pr["f_idle"]) * t_pf_gpu / t_pf)
            p_idle = tdp * pr["f_idle"]
        busy_s = t_pf + O_ * t_step / B  # accelerator-group seconds per request
        e_acc = g * (p_pf * t_pf + O_ * t_step * p_dec / B) * pr["resid"]
        e_idle = idle_accelerators * p_idle * busy_s * pr["resid"]
        e_host = (g + idle_accelerators) * pr["host_w"] * pr["host_util"] * busy_s * \
            pr["resid"]
        return {"t_step": t_step, "tput": B / t_step, "p_dec": p_dec, "busy": busy_s,
                "p_mean": (p_pf * t_pf + O_ * t_step * p_dec / B) / busy_s,
                "latency": max(t_pf_c, t_pf_m * B) + t_over + t_ep + O_ * t_step,
                "e_acc": e_acc + e_idle, "e_it": e_acc + e_idle + e_host,
                "e_acc_tok": (e_acc + e_idle) / O_, "e_it_tok": (e_acc + e_idle + e_host) / O_}

    def rng(key: str, unit: str, scale: float = 1.0) -> Range:
        c, lo, hi = spread(lambda pr: step(pr)[key] * scale, priors)
        return Range(c, lo, hi, unit)

    e_acc_wh = rng("e_acc", "Wh", 1 / 3600)
    e_it_wh = rng("e_it", "Wh", 1 / 3600)
    fp = footprint(e_it_wh.scale(1 / 1000, "kWh"), zone=zone, year=year, pue=pue,
                   provider=provider, intensity_g_per_kwh=intensity_g_per_kwh,
                   renewable_share=renewable_share,
                   market_factor_g_per_kwh=market_factor_g_per_kwh,
                   wue_l_per_kwh=wue_l_per_kwh, water_l_per_kwh=water_l_per_kwh)
    e_fac_wh = fp.energy_facility_kwh.scale(1000, "Wh")
    if out_prior is None:
        tok_acc_j = e_acc_wh.scale(3600 / O, "J")
        tok_fac_j = e_fac_wh.scale(3600 / O, "J")
    else:  # a ranged output length: per token is not per request ÷ a fixed length
        tok_acc_j = rng("e_acc_tok", "J")
        tok_it_j = rng("e_it_tok", "J")
        pue_r = fp.pue
        lo, hi = combine(tok_it_j.central * pue_r.central,
                         [(tok_it_j.central, tok_it_j.low, tok_it_j.high),
                          (pue_r.central, pue_r.low, pue_r.high)])
        tok_fac_j = Range(tok_it_j.central * pue_r.central, lo, hi, "J")
    if idle_accelerators:
        assumptions.append(Assumption("idle accelerators on the node", str(idle_accelerators),
                                      "given: they draw idle power, the node's host runs"))
    return InferenceEstimate(
        params=n_total, active_params=n_act, accelerator=acc.name, n_accelerators=g,
        precision=p, engine=engine, batch_size=B, input_tokens=I, output_tokens=O,
        idle_accelerators=idle_accelerators, decode_step_s=rng("t_step", "s"),
        throughput_tokens_per_s=rng("tput", "tokens/s"), latency_s=rng("latency", "s"),
        power_accelerator_w=rng("p_dec", "W"), power_accelerator_mean_w=rng("p_mean", "W"),
        service_s=rng("busy", "s"),
        energy_request_accelerators_wh=e_acc_wh, energy_request_it_wh=e_it_wh,
        energy_request_facility_wh=e_fac_wh,
        energy_token_accelerators_j=tok_acc_j, energy_token_facility_j=tok_fac_j,
        energy_1k_requests_facility_kwh=e_fac_wh.scale(1.0, "kWh"),
        pue=fp.pue, co2e_request_location_g=fp.co2e_location_kg.scale(1000, "g"),
        co2e_request_market_g=fp.co2e_market_kg.scale(1000, "g"),
        water_request_ml=fp.water_l.scale(1000, "mL") if fp.water_l else None,
        zone=fp.zone, assumptions=assumptions + fp.assumptions, notes=notes + fp.notes,
        workload=workload)
