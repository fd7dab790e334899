"""``wattprint estimate train|infer|fleet|hardware``: energy, carbon, water and cost of a
run before (or without) measuring it — central value, range and assumptions.

    wattprint estimate train --hardware V100 --count 10000 --duration 14.8d --pue 1.1 --zone US
    wattprint estimate train --hardware H100 --count 2048 --params 70B --tokens 2T
    wattprint estimate infer --params 8B --hardware H100 --batch 64 --output-tokens 400
    wattprint estimate fleet --requests-per-day 1B --per-request 0.3Wh --zone US
    wattprint estimate hardware h100
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _accounting_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("facility and grid")
    g.add_argument("--pue", type=float, help="power usage effectiveness (default: the "
                   "provider's, else the industry average 1.56 with a 1.1–1.9 range)")
    g.add_argument("--provider", default="datacenter",
                   help="data-centre operator for PUE/WUE defaults: aws, gcp, azure, ovh, "
                        "oracle, datacenter (default: an unknown data centre)")
    g.add_argument("--zone", help="grid zone or cloud region (DE, US-CA, aws:us-east-1...; "
                                  "default: WATTPRINT_ZONE, else the world average)")
    g.add_argument("--year", type=int, help="year of the grid intensity (default: latest)")
    g.add_argument("--intensity", type=float, metavar="G_PER_KWH",
                   help="grid carbon intensity to use instead of the zone's (gCO2e/kWh)")
    g.add_argument("--renewable-share", type=float, metavar="0-1",
                   help="share covered by renewable contracts (market-based CO2e)")
    g.add_argument("--wue", type=float, metavar="L_PER_KWH",
                   help="on-site water usage effectiveness (L per kWh of IT energy)")


def _hardware_args(p: argparse.ArgumentParser, *, default: str | None = None) -> None:
    p.add_argument("--hardware", "--accelerator", dest="hardware", default=default,
                   required=default is None,
                   help="accelerator: H100, 'H100 SXM', A100-40GB, 'TPU v4', V100, MI300X…"
                        + (f" (default {default})" if default else ""))
    p.add_argument("--count", type=int, help="number of accelerators")
    p.add_argument("--precision", default="bf16",
                   help="fp32, tf32, bf16/fp16 (default), fp8, int8, fp4/int4/mxfp4")
    p.add_argument("--tdp", type=float, metavar="W",
                   help="the accelerators' power limit (W): their TDP, or a cap set on "
                        "them (nvidia-smi -pl); a cap also slows a run timed from compute")
    p.add_argument("--peak-tflops", type=float, help="dense peak TFLOP/s to use")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="estimate_command", metavar="WHAT")
    t = sub.add_parser("train", help="a training run, from accelerator-hours or from "
                       "parameters and tokens", description=__doc__.splitlines()[0])
    _hardware_args(t)
    size = t.add_argument_group("size of the run (one of)")
    size.add_argument("--duration", help="wall-clock time with --count: 14.8d, 36h, 3w")
    size.add_argument("--days", type=float, help="wall-clock days with --count")
    size.add_argument("--hours", type=float, help="wall-clock hours with --count")
    size.add_argument("--accelerator-hours", help="accelerator-hours: 3.55M, 820000")
    size.add_argument("--params", help="parameters: 175B, 7e9, 1.8T")
    size.add_argument("--active-params", help="active parameters per token (MoE): 37B")
    size.add_argument("--tokens", help="training tokens: 300B, 15T")
    over = t.add_argument_group("overrides")
    over.add_argument("--mfu", type=float, help="model FLOPs utilisation, 0–1")
    over.add_argument("--power", help="measured average accelerator draw: 400W")
    over.add_argument("--it-power", help="measured power per accelerator with its host "
                                         "share: 330W")
    over.add_argument("--host-power", help="host share per accelerator: 150W")
    over.add_argument("--price", type=float, metavar="PER_KWH", help="electricity price")
    over.add_argument("--currency", default="EUR")
    _accounting_args(t)
    t.add_argument("--json", action="store_true", help="machine-readable output")

    i = sub.add_parser("infer", help="energy per token, per request and per 1,000 requests")
    _inference_args(i)
    _accounting_args(i)
    i.add_argument("--json", action="store_true", help="machine-readable output")

    f = sub.add_parser("fleet", help="requests per day → MWh per year, CO2e, water, "
                                     "households, growth scenarios")
    f.add_argument("--requests-per-day", required=True, help="volume: 1B, 250M, 5e7")
    f.add_argument("--per-request", help="IT energy per request (0.3Wh); or describe the "
                                         "model with --params and the options below")
    f.add_argument("--years", type=int, default=5, help="years to project (default 5)")
    f.add_argument("--growth", help="growth per year, one or several: 30%% or 0,15%%,30%% "
                                    "(default: flat, IEA data-centre pace 15%%, IEA "
                                    "accelerated-server pace 30%%)")
    _inference_args(f, required=False)
    _accounting_args(f)
    f.add_argument("--json", action="store_true", help="machine-readable output")

    h = sub.add_parser("hardware", help="the accelerator catalogue (Epoch AI data)")
    h.add_argument("query", nargs="?", default="", help="part of a name: h100, tpu, mi3")
    h.add_argument("--json", action="store_true", help="machine-readable output")


def _inference_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("--params", required=required, help="model parameters: 8B, 70B, 405B")
    p.add_argument("--active-params", help="active parameters per token (MoE): 17B")
    _hardware_args(p, default="H100")
    p.add_argument("--batch", type=int, help="concurrent sequences (default 32 with the "
                                             "server engine, 1 eager)")
    p.add_argument("--max-batch", type=int, metavar="N",
                   help="the server's cap on concurrent sequences (vLLM max_num_seqs); the "
                        "batch is then what a full server runs: up to N, as many as the KV "
                        "cache holds")
    p.add_argument("--saturated", action="store_true",
                   help="a full server (throughput benchmark): as many sequences as the KV "
                        "cache holds, up to --max-batch or the engine's default cap")
    p.add_argument("--input-tokens", help="prompt tokens per request (default 512)")
    p.add_argument("--output-tokens", help="generated tokens per request (default 256; "
                                           "~7,000 with --workload reasoning)")
    p.add_argument("--workload", choices=("chat", "reasoning"), default="chat",
                   help="chat (default) or reasoning: a thinking model on hard questions, "
                        "whose default output length is ~7,000 tokens (2,000–10,000)")
    p.add_argument("--architecture", choices=("decoder", "encoder-decoder"),
                   default="decoder", help="decoder-only (default) or encoder-decoder "
                                           "(T5, BART)")
    p.add_argument("--attention", choices=("gqa", "mha"), default="gqa",
                   help="gqa: grouped-query attention, KV ≤ 8 heads × 128 (default); mha: "
                        "full multi-head attention (LLaMA-1, OPT, BLOOM, GPT-3, T5)")
    p.add_argument("--engine", choices=("server", "eager"), default="server",
                   help="server: vLLM/TensorRT-LLM-class continuous batching (default); "
                        "eager: framework eager mode, e.g. Hugging Face pipelines")
    p.add_argument("--idle", type=int, default=0, metavar="N",
                   help="idle accelerators on the same node (their idle draw and the "
                        "node's host count)")
    p.add_argument("--bandwidth", type=float, metavar="TB_S",
                   help="memory bandwidth to use (TB/s), e.g. for hardware not in the catalogue")
    p.add_argument("--power", help="measured average accelerator draw while serving: 350W")


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return dict(pue=args.pue, provider=args.provider, zone=args.zone, year=args.year,
                intensity_g_per_kwh=args.intensity, renewable_share=args.renewable_share,
                wue_l_per_kwh=args.wue)


def _watts(text: str | None, flag: str = "--power", rule: str = "power_w") -> float | None:
    from .. import inputs
    from ..units import parse_power

    if not text:
        return None
    return inputs.check(rule, flag, parse_power(text, default_unit="W"), shown_as=text)


def _check(args: argparse.Namespace) -> None:
    """Every number of the command checked once, named by its flag (docs/inputs.md)."""
    from .. import inputs
    from ..units import parse_duration
    from ._common import check_flags

    check_flags(args, pue="pue", intensity="intensity_g_per_kwh",
                renewable_share="renewable_share", wue="wue_l_per_kwh", year="year",
                count="n_accelerators", tdp="tdp_w", peak_tflops="peak_tflops",
                days="days", hours="hours", mfu="mfu", batch="batch", max_batch="max_batch",
                idle="idle", bandwidth="bandwidth_tb_s", years="years")
    inputs.price_per_kwh("--price", getattr(args, "price", None),
                         getattr(args, "currency", None))
    inputs.params("--params", getattr(args, "params", None))
    inputs.params("--active-params", getattr(args, "active_params", None))
    if args.estimate_command == "train":
        inputs.tokens("--tokens", args.tokens)
        if args.duration is not None:
            inputs.check("run_duration_s", "--duration", parse_duration(args.duration),
                         shown_as=args.duration)
    for flag, rule in (("accelerator_hours", "accelerator_hours"),
                       ("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                       ("requests_per_day", "requests_per_day")):
        inputs.count("--" + flag.replace("_", "-"), getattr(args, flag, None), rule)
    for flag, rule in (("power", "power_w"), ("it_power", "power_w"),
                       ("host_power", "host_power_w")):
        _watts(getattr(args, flag, None), "--" + flag.replace("_", "-"), rule)
    if getattr(args, "per_request", None):
        from ..units import J_PER_WH, parse_energy

        inputs.check("energy_per_request_wh", "--per-request",
                     parse_energy(args.per_request, default_unit="Wh") / J_PER_WH,
                     shown_as=args.per_request)
    if getattr(args, "growth", None):
        from ..estimate.fleet import parse_growth

        parse_growth(args.growth, name="--growth")


def _inference(args: argparse.Namespace):
    from ..estimate import estimate_inference

    return estimate_inference(**inference_kwargs(args))


def inference_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``estimate_inference`` keywords from the parsed flags (also ``advise --plan``)."""
    return dict(
        params=args.params, active_params=args.active_params, accelerator=args.hardware,
        n_accelerators=args.count, precision=args.precision, batch_size=args.batch,
        input_tokens=args.input_tokens, output_tokens=args.output_tokens,
        engine=args.engine, workload=args.workload, max_batch_size=args.max_batch,
        saturated=args.saturated, architecture=args.architecture, attention=args.attention,
        idle_accelerators=args.idle, tdp_w=args.tdp,
        peak_tflops=args.peak_tflops, memory_bandwidth_tb_s=args.bandwidth,
        accelerator_power_w=_watts(args.power), **_common(args))


def handle(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if not args.estimate_command:
        raise UsageError("say what to estimate: wattprint estimate train|infer|fleet|hardware "
                         "(--help for the options)")
    try:
        result = _run(args)
    except UsageError:
        raise
    except ValueError as err:  # accounting refuses impossible inputs (PUE < 1, shares > 1)
        raise UsageError(str(err)) from err
    if result is None:
        return 0
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(result.summary())
    return 0


def _run(args: argparse.Namespace):
    from ..errors import UsageError

    cmd = args.estimate_command
    if cmd == "hardware":
        _hardware(args)
        return None
    _check(args)
    if cmd == "infer":
        return _inference(args)
    if cmd == "fleet":
        from ..estimate import project_fleet

        if args.per_request and args.params:
            raise UsageError("give --per-request or describe the model (--params ...), "
                             "not both")
        if not args.per_request and not args.params:
            raise UsageError("give the energy per request (--per-request 0.3Wh) or the model "
                             "(--params 70B --hardware H100 ...)")
        per = args.per_request or _inference(args)
        return project_fleet(requests_per_day=args.requests_per_day, per_request=per,
                             years=args.years, growth=args.growth, pue=args.pue,
                             provider=args.provider, zone=args.zone, year=args.year,
                             intensity_g_per_kwh=args.intensity,
                             renewable_share=args.renewable_share, wue_l_per_kwh=args.wue)
    from ..estimate import estimate_training

    return estimate_training(**training_kwargs(args))


def training_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``estimate_training`` keywords from the parsed flags (also ``advise --plan``)."""
    from ..errors import UsageError

    duration = args.duration
    given = [x for x in (args.duration, args.days, args.hours) if x is not None]
    if len(given) > 1:
        raise UsageError("give one of --duration, --days, --hours")
    if args.days is not None:
        duration = args.days * 86400.0
    elif args.hours is not None:
        duration = args.hours * 3600.0
    return dict(
        accelerator=args.hardware, n_accelerators=args.count, duration=duration,
        accelerator_hours=args.accelerator_hours, params=args.params,
        active_params=args.active_params, tokens=args.tokens, precision=args.precision,
        mfu=args.mfu, tdp_w=args.tdp, peak_tflops=args.peak_tflops,
        accelerator_power_w=_watts(args.power), it_power_w=_watts(args.it_power, "--it-power"),
        host_power_w=_watts(args.host_power, "--host-power", "host_power_w"),
        price_per_kwh=args.price,
        currency=args.currency, **_common(args))


def _hardware(args: argparse.Namespace) -> None:
    from ..estimate import search_accelerators

    found = search_accelerators(args.query)
    if args.json:
        print(json.dumps([a.to_dict() for a in found], indent=2))
        return
    if not found:
        print(f"no accelerator matches {args.query!r}")
        return
    from ._common import table

    rows = []
    for a in found:
        bf16 = a.tflops.get("bf16") or a.tflops.get("fp16")
        rows.append((a.name, a.release_date or "", f"{a.tdp_w:g}" if a.tdp_w else "",
                     f"{bf16:g}" if bf16 else "", f"{a.tflops['fp8']:g}" if a.tflops.get("fp8")
                     else "", f"{a.memory_gb:g}" if a.memory_gb else "",
                     f"{a.memory_bandwidth_tb_s:g}" if a.memory_bandwidth_tb_s else "",
                     "unverified: " + ", ".join(a.unverified) if a.unverified else ""))
    print("\n".join(table(("accelerator", "released", "TDP W", "BF16/FP16 TF", "FP8 TF",
                           "memory GB", "TB/s", ""), rows, right=(2, 3, 4, 5, 6))))
    print(f"\n{len(found)} accelerators — Epoch AI ML hardware database (CC-BY-4.0); "
          "unverified values from vendor datasheets")
