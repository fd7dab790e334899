"""The estimator's priors: few, physical, each with a central value, a stated range and a
source. Ranges are the spread the sources report (or, where marked, an engineering
judgement with its reasoning); they were set from these sources, not fitted to the
published runs the estimator is validated against (docs/estimate.md).

A :class:`Prior` is a quantity with ``central``, ``low`` and ``high``. Estimates propagate
ranges by combining the factors' relative spreads in quadrature on a log scale
(:func:`combine`), treating the factors as independent: the low/high of a product is not
the product of all lows/highs, which would be a far less likely corner.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from .._format import format_number

__all__ = ["Prior", "combine", "TRAIN_DRAW_LARGE", "TRAIN_DRAW_SMALL", "TRAIN_DRAW_SIZES",
           "train_draw_fraction", "cap_clock", "TPU_MEASURED_W", "TRAIN_DRAW_TPU",
           "HOST_UTILISATION", "REFERENCE_SERVERS", "HOST_RATIO_DEFAULT", "TPU_HOST_W",
           "MFU_EARLY", "MFU_MODERN", "MODERN_FROM_YEAR", "PUE_DEFAULT_RANGE",
           "PUE_HYPERSCALE_RANGE", "HYPERSCALERS", "pue_range", "WUE_UNKNOWN_DC",
           "RECENT_FROM_YEAR", "MFU_RECENT_SMALL", "MFU_RECENT_LARGE", "MFU_RECENT_SIZES",
           "mfu_recent", "LAB_UTILISATION", "INFER_MEM_EFFICIENCY", "INFER_COMPUTE_EFFICIENCY",
           "INFER_PREFILL_EFFICIENCY",
           "INFER_DRAW_MEMORY_BOUND", "INFER_DRAW_COMPUTE_BOUND", "IDLE_DRAW",
           "HOST_UTILISATION_INFER", "DEFAULT_BATCH", "DEFAULT_INPUT_TOKENS",
           "DEFAULT_OUTPUT_TOKENS", "WORKLOADS", "REASONING_OUTPUT_TOKENS",
           "KV_MEMORY_FRACTION", "ENGINE_MAX_SEQS_LARGE", "ENGINE_MAX_SEQS_SMALL",
           "ENGINE_MAX_SEQS_SOURCE", "engine_max_seqs", "ENC_DEC_DECODER_SHARE",
           "ENC_DEC_DECODER_SHARE_SOURCE",
           "STEP_OVERHEAD_SERVER_S", "LAYER_OVERHEAD_EAGER_S", "ASPECT_RATIO", "KV_DIM_MAX",
           "BYTES_PER_PARAM", "reference_server", "STEP_OVERHEAD_PER_SEQ_S",
           "MOE_EFFICIENCY", "LOW_PRECISION_EFFICIENCY",
           "SERVE_RESIDUAL", "EP_LAYER_S", "EP_TOKEN_LAYER_S", "EP_DRAW",
           "BLACKWELL_EFFICIENCY", "is_blackwell"]


@dataclass(frozen=True)
class Prior:
    name: str
    central: float
    low: float
    high: float
    unit: str
    source: str

    def __post_init__(self) -> None:
        if not (self.low <= self.central <= self.high):
            raise ValueError(f"prior {self.name}: low <= central <= high violated")

    def scaled(self, factor: float, unit: str | None = None) -> "Prior":
        return Prior(self.name, self.central * factor, self.low * factor, self.high * factor,
                     unit or self.unit, self.source)

    def text(self, percent: bool = False) -> str:
        """``"0.4 × peak (range 0.25–0.55)"``: plain figures (:func:`format_number`, never
        exponent notation), or whole percents (``percent``: ``"40% (range 25%–55%)"``)."""
        show = (lambda v: f"{v:.0%}") if percent else format_number
        if self.low == self.high:
            return f"{show(self.central)} {self.unit}".strip()
        return (f"{show(self.central)} {self.unit} (range {show(self.low)}–{show(self.high)})"
                .replace("  ", " "))


def combine(central: float, factors: Iterable[tuple[float, float, float]]) -> tuple[float,
                                                                                       float]:
    """(low, high) of a product whose factors are (central, low, high) triples.

    Each factor's relative spread ln(central/low) and ln(high/central) is added in
    quadrature, on each side separately. Factors without spread (user-given) add nothing.
    """
    down = up = 0.0
    for c, lo, hi in factors:
        if c > 0 and lo > 0:
            down += math.log(c / lo) ** 2
        if c > 0 and hi > 0:
            up += math.log(hi / c) ** 2
    return central * math.exp(-math.sqrt(down)), central * math.exp(math.sqrt(up))


# --- training: power ---------------------------------------------------------------------------

#: Calibrated (issue 14): the draw of a GPU-class accelerator in training depends on how
#: much work each device gets. Large models keep it near its limit; small models (a few
#: hundred million parameters, often on older GPUs with small per-device batches) leave it
#: lightly loaded. Central values fitted on the development split of the published rows
#: by ``tools/calibrate.py`` (never the held-out split); ranges from the spread of those
#: rows around the fit. Between the two sizes the fraction is interpolated on log(params).
TRAIN_DRAW_LARGE = Prior(
    "accelerator draw in training (≥ 10B parameters)", 0.93, 0.75, 1.00, "× TDP",
    "fitted on the development split (tools/calibrate.py, round 4; was 0.90): Patterson et "
    "al. 2021 Table 4 (GPT-3 on V100, measured 330 W per GPU with host), the GPU-hours × "
    "TDP disclosures (LLaMA, Llama 2, OPT, BLOOM) and Olmo 3 32B (1.05M H100-hours at a "
    "measured mean of 649 W, 0.93 × TDP: Ai2 team, relayed by muxup.com 2025), capped at "
    "that measured mean; Latif et al. 2024 (arXiv:2412.08602): an 8×H100 node at "
    "82 % of its rating with the GPUs near full utilisation; Chung et al. 2025 "
    "(ML.ENERGY, arXiv:2505.06371): training draws close to, but below, TDP")
TRAIN_DRAW_SMALL = Prior(
    "accelerator draw in training (≤ 0.3B parameters)", 0.45, 0.28, 1.00, "× TDP",
    "fitted on the development split (tools/calibrate.py, round 4; was 0.40; Olmo 3 7B "
    "measured 0.89 × TDP on H100, where the curve now sits at 7B): Strubell et al. 2019 Table 3 "
    "(Transformer base/big, BERT base: measured GPU+CPU+DRAM draw, the GPUs at roughly "
    "half their TDP) against Patterson et al. 2021 Table 1 (Transformer big on P100 near "
    "0.8 × TDP); the range spans both")
TRAIN_DRAW_SIZES = (0.3e9, 10e9)


def train_draw_fraction(params: float | None) -> Prior:
    """The training draw prior (× TDP) for a model of ``params`` parameters; unknown size:
    the large-model central with a range reaching down to the small-model low end."""
    import sys

    mod = sys.modules[__name__]  # read at call time: tools/calibrate.py may set them
    large, small = mod.TRAIN_DRAW_LARGE, mod.TRAIN_DRAW_SMALL
    lo_n, hi_n = TRAIN_DRAW_SIZES
    if params is None:
        return Prior("accelerator draw in training (model size unknown)", large.central,
                     small.low, large.high, "× TDP",
                     f"{large.source}; size unknown, so the range reaches the small-model "
                     f"low end ({format_number(small.low)} × TDP: {small.source})")
    if params >= hi_n:
        return large
    if params <= lo_n:
        return small
    w = math.log(params / lo_n) / math.log(hi_n / lo_n)

    def mix(a: float, b: float) -> float:
        return round(a + (b - a) * w, 3)

    return Prior(f"accelerator draw in training ({format_number(params / 1e9)}B parameters)",
                 mix(small.central, large.central), mix(small.low, large.low),
                 mix(small.high, large.high), "× TDP",
                 f"interpolated on log(parameters) between {small.name} and {large.name}: "
                 f"{small.source}; {large.source}")


def cap_clock(cap_w: float, draw_w: float) -> Prior:
    """How much of its peak speed an accelerator keeps under a power cap ``cap_w`` when it
    would draw ``draw_w`` uncapped (× peak FLOP/s), for time estimated from compute. A cap
    at or above that draw does not slow it (1.0). Below it, the range spans a job that only
    touches the cap at peaks (not slowed, 1.0) and one held at the cap throughout (speed in
    proportion, cap / draw: energy per FLOP unchanged); central, the cube root of that ratio,
    the dynamic-power law of CMOS (power ∝ frequency × voltage², voltage scaling with
    frequency)."""
    ratio = min(1.0, cap_w / draw_w)  # not rounded: a tiny cap must not become a speed of 0
    return Prior("speed under the power cap", float(f"{ratio ** (1 / 3):.3g}"), ratio, 1.0,
                 "× peak", f"a cap of {format_number(cap_w)} W where the run would draw "
                 f"{format_number(draw_w)} W: between no slowdown (a job at the cap only at "
                 "peaks) and speed in proportion to the cap (a job held at it); central the "
                 "cube-root law of CMOS dynamic power (P ∝ f·V², V ∝ f); McDonald et al. 2022 "
                 "(NAACL Findings): BERT training on V100s capped at 150 W of 250 W, above its "
                 "draw for most of the run, took ~3 % longer")


#: Google's published measured min / mean / max power per TPU chip (W).
TPU_MEASURED_W: dict[str, tuple[float, float, float]] = {
    "Google TPU v3": (123.0, 220.0, 262.0),
    "Google TPU v4": (90.0, 170.0, 192.0),
}
TPU_MEASURED_SOURCE = ("Google Cloud TPU documentation, system architecture pages for v3 "
                       "and v4 ('measured min/mean/max power'); Jouppi et al. 2023 (ISCA, "
                       "TPU v4)")
#: Other TPUs: the mean of those chips' mean/TDP (Epoch TDP 450 W and 340 W), range from
#: their min/max over TDP.
TRAIN_DRAW_TPU = Prior(
    "TPU chip draw in training", round((220 / 450 + 170 / 340) / 2, 3),
    round(min(123 / 450, 90 / 340), 3), round(max(262 / 450, 192 / 340), 3), "× TDP",
    TPU_MEASURED_SOURCE + ": TPU v3 220 W mean of 450 W TDP, TPU v4 170 W of 340 W")

#: How much of the reference server's non-accelerator rated power (CPUs, memory, NICs,
#: switches, fans, storage, PSU losses) is drawn during training.
HOST_UTILISATION = Prior(
    "host draw", 0.70, 0.50, 0.90, "× non-accelerator server rating",
    "Newkirk et al. 2025 (arXiv:2506.14551): whole 8×H100 nodes at 76 % of rating in "
    "intensive training; Latif et al. 2024: 82 % at peak. With accelerators at 0.8–0.9 × "
    "TDP that leaves the rest of the server at ~0.6–0.85 of its share (DGX H100: 76 % of "
    "10.2 kW less 8 × 0.9 × 700 W is 0.59 of the 4.6 kW rest; 82 % less 8 × 0.8 × 700 W, "
    "0.85)")

#: Reference servers: (name pattern, accelerator TDP W, accelerators, server max W, source).
#: The non-accelerator rating per accelerator is (server max − n × TDP) / n.
REFERENCE_SERVERS: tuple[tuple[str, float, int, float, str], ...] = (
    (r"\bP100\b", 300, 8, 3200, "NVIDIA DGX-1 (P100) datasheet, 2016: 3.2 kW max"),
    (r"\bV100\b", 300, 8, 3500, "NVIDIA DGX-1 (V100) datasheet, 2017: 3.5 kW max"),
    (r"\b(A100|A800)\b", 400, 8, 6500, "NVIDIA DGX A100 datasheet, 2020: 6.5 kW max"),
    (r"\b(H100|H800|H200|GH100)\b", 700, 8, 10200,
     "NVIDIA DGX H100 datasheet, 2022: ~10.2 kW max"),
    (r"\b(B200|B100)\b", 1000, 8, 14300, "NVIDIA DGX B200 datasheet, 2024: ~14.3 kW max"),
)
#: Accelerators without a reference server: non-accelerator rating as a share of TDP,
#: spread over the reference servers above (DGX-1 V100 0.46 … DGX A100 1.03).
HOST_RATIO_DEFAULT = Prior(
    "non-accelerator server rating (no reference server)", 0.80, 0.46, 1.03, "× TDP",
    "NVIDIA DGX datasheets: DGX-1 V100 (3.5 kW − 8×300 W)/8 = 0.46 × TDP, DGX A100 1.03, "
    "DGX H100 0.82, DGX B200 0.79")
#: TPU hosts: one two-socket server per four chips (Cloud TPU v2/v3/v4 boards).
TPU_HOST_W = Prior(
    "host share per TPU chip", 90.0, 50.0, 130.0, "W",
    "wattprint engineering estimate: one two-socket host drawing ~200–500 W under load per "
    "4 TPU chips (Cloud TPU v2/v3/v4 hosts serve 4 chips); CPU power from the SPECpower-"
    "derived coefficients shipped in cpu_arch_coefficients.csv, memory 0.3725 W/GB (Green "
    "Algorithms)")


def reference_server(name: str, tdp_w: float | None) -> tuple[float, str] | None:
    """(non-accelerator server rating per accelerator in W, source) for SXM-class parts of
    a DGX reference system; None when no reference server applies (PCIe cards, others)."""
    for pattern, gpu_tdp, n, server_w, source in REFERENCE_SERVERS:
        if re.search(pattern, name) and tdp_w is not None and abs(tdp_w - gpu_tdp) < 1:
            return (server_w - n * gpu_tdp) / n, source
    return None


# --- training: time from compute ----------------------------------------------------------------

#: Accelerators released from this year on (A100, TPU v4 and later) use MFU_MODERN.
MODERN_FROM_YEAR = 2020
MFU_EARLY = Prior(
    "model FLOPs utilisation (pre-2020 accelerators)", 0.25, 0.15, 0.40, "× peak",
    "Chowdhery et al. 2022 (PaLM, Table 3): GPT-3 on V100 21.3 % MFU, Gopher on TPU v3 "
    "32.5 %; Shoeybi et al. 2019 (Megatron-LM): ~30 % of V100 peak per GPU, ~24 % at 512 GPUs")
MFU_MODERN = Prior(
    "model FLOPs utilisation (2020+ accelerators)", 0.40, 0.25, 0.55, "× peak",
    "Chowdhery et al. 2022 (PaLM): 46.2 % on TPU v4, Megatron-Turing NLG 30.2 % on A100; "
    "Narayanan et al. 2021 (SC21): 52 % of A100 peak at 3,072 GPUs; Dubey et al. 2024 "
    "(Llama 3): 38–43 % BF16 MFU on 8k–16k H100")

#: Accelerators released from this year on (H100, TPU v5 and later) use the calibrated
#: effective utilisation below, which depends on the model's size.
RECENT_FROM_YEAR = 2022
#: Effective utilisation of a whole training run on 2022+ accelerators: 6·N·D over the
#: GPU-hours a developer reports, which include restarts, evaluation, checkpointing,
#: attention FLOPs and long-context phases — well below the per-step MFU of the same runs
#: (Llama 3: 38–43 %). Small models use a big cluster less well. Anchors at 1B and 400B
#: (active) parameters, interpolated on log(parameters); fitted by tools/calibrate.py on
#: the development split (round 2: Meta's Llama 3 / 3.1 / 3.2 model cards in that split).
MFU_RECENT_SMALL = Prior(
    "effective utilisation of a training run, 2022+ accelerators, 1B parameters", 0.04,
    0.025, 0.08, "× peak",
    "fitted on the development split (tools/calibrate.py, round 2): Meta model cards, "
    "Llama 3.2 1B/3B and Llama 3 / 3.1 8B — 6·N·D over the stated H100 GPU-hours gives "
    "5–15 % (the 1B and 3B were distilled from larger models' logits)")
MFU_RECENT_LARGE = Prior(
    "effective utilisation of a training run, 2022+ accelerators, 400B parameters", 0.35,
    0.22, 0.50, "× peak",
    "fitted on the development split (tools/calibrate.py, round 2): Meta model cards, "
    "Llama 3.1 70B and 405B — 25–35 % over the stated GPU-hours; Dubey et al. 2024 "
    "(Llama 3): 38–43 % per step on 8k–16k H100, before restarts and evaluation")
MFU_RECENT_SIZES = (1e9, 400e9)
#: The curve above is one developer's (Meta's); another lab's whole-run utilisation at the
#: same size can be higher — a separate, independent factor on it. Its high end from the
#: development rows of another lab: OLMo 2 7B and 13B on H100 (OLMo Team 2025, Table 19:
#: measured GPU energy) imply 1.6× and 1.9× the curve's utilisation at their sizes. No
#: development row of another lab sits below the curve, so the low end stays at 1.
LAB_UTILISATION = Prior(
    "another lab's utilisation against the fitted curve", 1.0, 1.0, 1.9, "×",
    "round 5, from the development split: OLMo 2 7B and 13B on H100 (OLMo Team 2025, '2 OLMo "
    "2 Furious', Table 19, measured GPU energy) reach 1.6× and 1.9× the utilisation the "
    "curve (fitted on Meta's model cards) gives at their sizes; no other lab's row sits "
    "below it")


def mfu_recent(params: float | None) -> Prior:
    """Effective utilisation prior on 2022+ accelerators for a model of ``params``
    (active) parameters; unknown size: the large-model anchor with the small one's low."""
    import sys

    mod = sys.modules[__name__]  # read at call time: tools/calibrate.py may set them
    small, large = mod.MFU_RECENT_SMALL, mod.MFU_RECENT_LARGE
    lo_n, hi_n = MFU_RECENT_SIZES
    if params is None:
        return Prior("effective utilisation of a training run, 2022+ accelerators (size "
                     "unknown)", large.central, small.low, large.high, "× peak",
                     f"{large.source}; {small.source}")
    w = min(1.0, max(0.0, math.log(params / lo_n) / math.log(hi_n / lo_n)))

    def mix(a: float, b: float) -> float:
        return round(a + (b - a) * w, 4)

    return Prior(f"effective utilisation of a training run, 2022+ accelerators "
                 f"({format_number(params / 1e9)}B parameters)", mix(small.central, large.central),
                 mix(small.low, large.low), mix(small.high, large.high), "× peak",
                 f"interpolated on log(parameters) between 1B and 400B: {small.source}; "
                 f"{large.source}")


# --- facility ---------------------------------------------------------------------------------

#: When the PUE is not given: the accounting default (industry average) with this range.
PUE_DEFAULT_RANGE = (1.10, 1.90, "hyperscale fleets report 1.1–1.2 (Google 2023: 1.10; "
                     "Patterson et al. 2021); Uptime Institute Global Data Center Survey "
                     "2024: average 1.56, with many enterprise sites above 1.8")
#: A hyperscaler's data centre (AWS, Azure, Google Cloud) whose site PUE is not given: the
#: spread between the providers' best sites and the public-cloud industry average.
PUE_HYPERSCALE_RANGE = (1.04, 1.25, "AWS 2024: best site 1.04 (Europe), fleet 1.15, and "
                        "IDC's public-cloud industry average 1.25, as quoted by AWS "
                        "(sustainability.aboutamazon.com, 2025); Google 2024 fleet 1.09; "
                        "Microsoft fleet 1.18, newest designs 1.12")
HYPERSCALERS = ("aws", "azure", "gcp")


def pue_range(provider: str | None) -> tuple[float, float, str]:
    """(low, high, why) of the PUE when it is not given: a hyperscaler's own range, else
    the industry range (unknown data centres, or none)."""
    return PUE_HYPERSCALE_RANGE if provider in HYPERSCALERS else PUE_DEFAULT_RANGE


#: On-site (cooling) water of a data centre whose WUE is unknown: the industry average
#: with the spread operators report (central is also shipped as the accounting factor
#: ``wue_onsite`` / ``datacenter``).
WUE_UNKNOWN_DC = Prior(
    "on-site water of an unknown data centre (WUE)", 1.8, 0.2, 3.0, "L/kWh IT",
    "Shehabi et al. 2016 (LBNL-1005775, United States Data Center Energy Usage Report): "
    "1.8 L/kWh average on-site water use; Mytton 2021 (npj Clean Water 4:11): reported "
    "WUE from ~0.2 (air-cooled, hyperscale: AWS 2024 0.15, Microsoft FY25 0.27) to over "
    "2.5 L/kWh (evaporative cooling in hot climates)")

# --- inference ----------------------------------------------------------------------------------

INFER_MEM_EFFICIENCY = Prior(
    "achieved memory bandwidth in decoding (MBU)", 0.75, 0.55, 0.85, "× peak bandwidth",
    "central fitted on the development split (tools/calibrate.py round 3, scored on measured "
    "throughput too; was 0.55). ML.ENERGY Leaderboard data (ml-energy/leaderboard, "
    "public/data/models/meta-llama__Llama-3.1-8B-Instruct__lm-arena-chat.json, 2025–26): "
    "Llama 3.1 8B on one H100 at batch 16 decodes a token every 7.9 ms (median), ~17 GB "
    "of weights and KV cache per step — at least 0.66 of the 3.35 TB/s peak with the host's "
    "share included; Databricks/MosaicML 2023 ('LLM Inference Performance Engineering'): "
    "50–60 % on 2023 stacks (the low end)")
INFER_COMPUTE_EFFICIENCY = Prior(
    "achieved FLOP/s in decoding when compute-bound", 0.6, 0.3, 0.8, "× peak",
    "central fitted on the development split (tools/calibrate.py round 3; was 0.50); "
    "as MFU in training (Chowdhery et al. 2022; Narayanan et al. 2021), lower for the "
    "small matrices of a decoding step")
INFER_PREFILL_EFFICIENCY = Prior(
    "achieved FLOP/s in prefill", 0.3, 0.2, 0.6, "× peak",
    "central fitted on the development split (tools/calibrate.py round 3, scored on measured "
    "throughput too; was 0.50): in a continuous-batching server prompts are prefilled in "
    "chunks mixed into decoding steps, below a training forward pass's utilisation "
    "(Agrawal et al. 2024, Sarathi-Serve, OSDI; Patel et al. 2024, Splitwise, ISCA)")
INFER_DRAW_MEMORY_BOUND = Prior(
    "accelerator draw while decoding (memory-bound)", 0.75, 0.6, 0.9, "× TDP",
    "central fitted on the development split against measured GPU power (tools/calibrate.py "
    "round 3; was 0.60, which with a slow step had left the power ~30 % low and the "
    "throughput ~25 % low, cancelling). ML.ENERGY Leaderboard data (Chung et al., ml-energy/leaderboard on GitHub, public/data/tasks/lm-arena-chat.json, 2025–26): mean GPU power of a "
    "single H100 rises with the batch — Qwen3 14B 443 W at batch 8 (0.63 × TDP) to 645 W at "
    "batch 253, Llama 3.1 8B 513 W at batch 16 to 690 W at batch 255; Patel et al. 2024 "
    "(Splitwise, ISCA): the decode phase draws below the prompt phase")
INFER_DRAW_COMPUTE_BOUND = Prior(
    "accelerator draw when compute-bound (prefill, large batches)", 1.0, 0.85, 1.0,
    "× TDP", "central fitted on the development split against measured GPU power "
    "(tools/calibrate.py round 3; was 0.90): single-H100 servers at large batches draw "
    "0.92–0.99 × TDP on the ML.ENERGY leaderboard (Llama 3.1 8B 688–690 W at batch "
    "192–511); Patel et al. 2024 (Splitwise): prompt phase at the power limit")
HOST_UTILISATION_INFER = Prior(
    "host draw while serving", 0.40, 0.25, 0.60, "× non-accelerator server rating",
    "SPECpower_ssj2008 results (shipped as cpu_arch_coefficients.csv): servers at active idle "
    "draw roughly a quarter to a third of their full-load power; an inference host's CPUs are "
    "lightly loaded and its fans slower than in training")
IDLE_DRAW = Prior(
    "idle accelerator draw", 0.15, 0.10, 0.25, "× TDP",
    "wattprint engineering estimate: datacentre GPUs idle at roughly 50–100 W "
    "(A100 ~50–60 W of 400 W, H100 ~70–100 W of 700 W, as nvidia-smi reports)")
STEP_OVERHEAD_SERVER_S = Prior(
    "host overhead per decoding step (serving engine)", 0.002, 0.0003, 0.003, "s",
    "central fitted on the development split against measured throughput "
    "(tools/calibrate.py round 3; was 1 ms); engineering estimate: continuous-batching "
    "servers with CUDA graphs (vLLM, TensorRT-LLM) spend a fraction of a millisecond to a "
    "few per step scheduling and sampling, partly overlapped with the GPU's work")
LAYER_OVERHEAD_EAGER_S = Prior(
    "host overhead per layer per decoding step (eager framework)", 0.00035, 0.0002, 0.001,
    "s", "central fitted on the development split (tools/calibrate.py; was 0.5 ms); "
    "wattprint engineering estimate: ~20–40 operators per transformer layer at ~10–25 µs "
    "of Python/dispatcher/launch time each in eager PyTorch (Hugging Face pipelines), "
    "serialised by the per-token host synchronisation of generate()")

# --- serving, calibrated (issue 14) -------------------------------------------------------
# Central values fitted on the development split of the published inference rows by
# tools/calibrate.py (never the held-out split); each is a physical quantity, and the fit
# moved each only within the range its sources allow.

#: Host-side work per running sequence per decoding step in a continuous-batching server
#: (scheduling, block tables, sampling, detokenisation): it grows with the batch.
STEP_OVERHEAD_PER_SEQ_S = Prior(
    "host overhead per running sequence per decoding step (serving engine)", 1e-05, 0.0, 4e-05, "s",
    "fitted on the development split against measured throughput and power "
    "(tools/calibrate.py round 3; was 80 µs, which had made a 500-sequence step 40 ms "
    "longer — an idle GPU the measured power of ~0.98 × TDP rules out); the high end from "
    "the older engines: vLLM team 2024 ('vLLM v0.6.0: "
    "2.7x throughput improvement', blog.vllm.ai, Sep 2024): serving Llama 3 8B on one H100, "
    "the GPU was busy only ~38 % of the time, the API server, scheduling and detokenisation "
    "taking the rest; Kwon et al. 2023 (vLLM, SOSP): per-step scheduling grows with the "
    "number of running sequences")
#: Mixture-of-experts: routing, grouped expert matmuls and all-to-all traffic lower the
#: achieved bandwidth and FLOP/s against a dense model's.
MOE_EFFICIENCY = Prior(
    "achieved efficiency of a mixture-of-experts step (× a dense model's)", 1.0, 0.6, 1.0, "×",
    "fitted on the development split (tools/calibrate.py round 3; was 0.85 before the "
    "expert-parallel exchange time took over what multi-accelerator MoE rows had been "
    "pulling on it); Rajbhandari et al. 2022 "
    "(DeepSpeed-MoE): expert parallel inference reaches a fraction of dense bandwidth "
    "utilisation; Kim et al. 2024 (MoE serving): routing and all-to-all overheads")
#: Expert parallelism: a mixture-of-experts spread over several accelerators exchanges
#: every token's hidden state with the accelerators holding its experts twice per layer
#: (dispatch and combine, all-to-all) and waits for the busiest of them, on top of the
#: dense roofline: a fixed latency per layer and step, and a part growing with the tokens
#: the step routes. While the accelerators wait they draw less than while computing.
EP_LAYER_S = Prior(
    "expert-parallel all-to-all latency per layer per decoding step", 0.0002, 0.0001, 0.0005, "s",
    "central fitted on the development split against measured throughput and power "
    "(tools/calibrate.py round 3); ML.ENERGY Leaderboard data (Chung et al., ml-energy/leaderboard on GitHub, public/data/tasks/lm-arena-chat.json, 2025–26): Qwen3-235B-A22B FP8 on 8 H100s with expert parallelism decodes a token every 26.8 ms (median) at batch 16 and 42.1 ms at batch 128 — about three times what its weights and KV cache take to read at the fitted bandwidth — while the eight GPUs draw 3,638–3,985 W together (0.65–0.71 × TDP), where dense models on one GPU draw up to 0.98; Rajbhandari et al. 2022 (DeepSpeed-MoE, ICML): all-to-all communication and expert load imbalance dominate expert-parallel inference at scale")
EP_TOKEN_LAYER_S = Prior(
    "expert-parallel dispatch, combine and load imbalance per token per layer", 1e-06, 5e-07, 2e-06, "s",
    "central fitted on the development split (tools/calibrate.py round 3): the measured "
    "step of expert-parallel servers grows with the batch faster than their memory traffic "
    "(same source as the per-layer latency)")
EP_DRAW = Prior(
    "accelerator draw while waiting on expert-parallel exchanges", 0.75, 0.6, 0.9,
    "× TDP",
    "central fitted on the development split against measured GPU power (tools/calibrate.py "
    "round 3: 0.6 on the original development rows, 0.75 once the added leaderboard rows "
    "joined — the data do not separate it from the decode draw); expert-parallel servers "
    "on 4–8 H100s draw 0.62–0.72 × TDP on the ML.ENERGY leaderboard, their exchange time "
    "included")
#: Blackwell-generation GPUs (B100, B200, GB200, B300) in the serving engines of 2025–26:
#: the measured step is far longer than the datasheet bandwidth and FLOP/s imply, and the
#: GPUs draw a smaller share of their TDP — kernels for a new architecture trail it.
BLACKWELL_EFFICIENCY = Prior(
    "achieved efficiency on Blackwell GPUs (× the Hopper-era bandwidth/FLOP/s efficiency)",
    0.7, 0.4, 1.0, "×",
    "central fitted on the development split (tools/calibrate.py round 3, on the B200 rows "
    "compiled from the ML.ENERGY leaderboard data, ml-energy/leaderboard "
    "public/data/tasks/*.json, 2025–26): at 16 sequences one B200 decodes Llama 3.1 8B "
    "every 5.1 ms and Qwen3 8B every 5.8 ms (median), an H100 every 7.9 and 8.9 ms — 1.5× "
    "faster where the datasheets' bandwidth ratio is 2.3×; on long reasoning outputs "
    "(GPQA) some B200 configurations are slower than H100 (Qwen3 8B: 37.7 vs 11.9 ms), "
    "hence the range down to 0.4")


def is_blackwell(name: str) -> bool:
    """NVIDIA Blackwell-generation data-centre GPUs (B100, B200, GB200, B300, GB300)."""
    return re.search(r"\bG?B[123]00\b", name) is not None


#: fp8 / fp4 / int weights: the lower-precision peak is not reached (scaling, dequantising,
#: kernels that fall back to higher precision for attention).
LOW_PRECISION_EFFICIENCY = Prior(
    "achieved FLOP/s at fp8/fp4 (× the bf16 efficiency)", 0.8, 0.4, 0.9, "×",
    "fitted on the development split (tools/calibrate.py round 3; was 0.60); fp8 serving "
    "speed-ups over "
    "bf16 of ~1.2–1.6× on H100 (NVIDIA TensorRT-LLM and vLLM fp8 benchmarks), not the 2× "
    "of the datasheet peaks")
#: The spread of published measurements around the serving model (engine versions,
#: kernels, request mixes, measurement boundaries): a multiplicative model error.
SERVE_RESIDUAL = Prior(
    "model error of a serving estimate (spread of published measurements)", 1.0, 0.79,
    1.26, "×",
    "tools/calibrate.py (round 3): the development split's published / estimated ratios "
    "after the fit run from 0.72 (10th percentile) to 1.39 (90th); widened from half that "
    "spread, in steps, until — combined with the other priors' ranges — 85 % or more of "
    "the development rows are inside their range (87 %): 0.72^0.7 to 1.39^0.7")

#: Shape of a transformer from its parameter count: N ≈ 12·L·d² (Kaplan et al. 2020) with
#: d/L ≈ 128 (GPT-3 175B: 96 layers, d = 12,288; LLaMA-7B: 32 layers, d = 4,096).
ASPECT_RATIO = 128
#: KV width per layer: grouped-query attention with 8 KV heads × 128 (Llama 2 70B, Llama 3,
#: Mistral, Qwen families); models narrower than that keep full multi-head attention.
KV_DIM_MAX = 1024
#: Bytes per parameter (weights) by precision.
BYTES_PER_PARAM = {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0,
                   "int8": 1.0, "int4": 0.5, "fp4": 0.5, "mxfp4": 0.5}

#: Encoder-decoder models (T5, BART): the share of the parameters in the decoder, which runs
#: once per output token; the encoder runs once over the prompt. Equal-depth stacks whose
#: decoder layers add a cross-attention block: decoder layer 16·d² (self-attention 4·d²,
#: cross-attention 4·d², feed-forward 8·d²) against the encoder's 12·d² → 16/28 ≈ 0.57
#: (T5.1.1's gated feed-forward, d_ff = 2.5·d: 15.5/27 ≈ 0.57 as well).
ENC_DEC_DECODER_SHARE = 0.57
ENC_DEC_DECODER_SHARE_SOURCE = (
    "Raffel et al. 2020 (T5, JMLR), §3.1: encoder and decoder of equal depth and width, the "
    "decoder adding encoder-decoder attention; Lewis et al. 2020 (BART): the same layout; "
    "decoder share 16/28 of the per-layer weights (4·d² self- + 4·d² cross-attention + 8·d² "
    "feed-forward vs 12·d²)")

#: Request shape when not given: a chat-style request on a batching server.
DEFAULT_INPUT_TOKENS = 512
DEFAULT_OUTPUT_TOKENS = 256
DEFAULT_BATCH = {"server": 32, "eager": 1}

#: What a request is for; it sets the output length when none is given.
WORKLOADS = ("chat", "reasoning")
#: Output length of a request to a reasoning ("thinking") model when none is given. A task
#: property (how long models reason on hard questions), not fitted to any published row.
REASONING_OUTPUT_TOKENS = Prior(
    "output tokens per reasoning request (default)", 6988.0, 2000.0, 10000.0, "tokens",
    "ML.ENERGY Leaderboard v3.0 (Chung, Wu, Ma, Chowdhury, Dec 2025, 'Diagnosing Inference "
    "Energy Consumption with the ML.ENERGY Leaderboard v3.0', ml.energy blog; "
    "arXiv:2601.22076): problem solving (GPQA Diamond, reasoning on) averages 6,988 output "
    "tokens per response over the leaderboard's models, ~10x text conversation (717); the "
    "leaderboard's per-model means run from ~2,000 (gpt-oss, short chains of thought) to "
    "~9,000 (Qwen3 thinking models). Epoch AI 2025 ('LLM responses to benchmark questions "
    "are getting longer over time'): reasoning models ~8x the output tokens of "
    "non-reasoning models on GPQA Diamond, MATH Level 5 and AIME, growing ~5x per year")

#: Share of accelerator memory a serving engine claims for weights, activations and the KV
#: cache (vLLM's ``gpu_memory_utilization`` default).
KV_MEMORY_FRACTION = 0.90
#: Sequences a serving engine runs at once when its cap is not given (vLLM's default
#: ``max_num_seqs``).
ENGINE_MAX_SEQS_LARGE = 1024
ENGINE_MAX_SEQS_SMALL = 256
ENGINE_MAX_SEQS_SOURCE = (
    "vLLM engine defaults (vllm/engine/arg_utils.py): gpu_memory_utilization 0.9; "
    "max_num_seqs 1,024 on GPUs with at least 70 GiB other than A100 (V1 engine), else 256 "
    "(and 256 in the V0 engine)")


def engine_max_seqs(name: str, memory_gb: float | None) -> int:
    """A vLLM-class server's default cap on concurrent sequences for an accelerator."""
    large = (memory_gb or 0) * 1e9 >= 70 * 2 ** 30 and "a100" not in name.lower()
    return ENGINE_MAX_SEQS_LARGE if large else ENGINE_MAX_SEQS_SMALL
