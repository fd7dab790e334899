"""``wattprint check CLAIM``: is a stated energy or carbon figure for a training run — or
for one request to a served model — plausible? Says so when it is off by a power of ten or
a unit (kWh/MWh/GWh/TWh).

    wattprint check 1.28TWh --run GPT-3
    wattprint check 85.7MWh --hardware "TPU v3" --count 512 --days 20 --pue 1.12
    wattprint check "3 Wh per query" --params 175B --hardware H100 --count 8
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("claim", nargs="+", help="the figure: 1.28TWh, '1287 MWh', '552 tCO2e', "
                                            "'3 Wh per query', '0.4 J/token'")
    p.add_argument("--per", choices=("run", "request", "token"),
                   help="what the claim is per (default: read from the claim; a few Wh "
                        "with no training time is per request)")
    p.add_argument("--run", help="a published run to check against: GPT-3, T5, Meena, "
                                 "LLaMA-65B, 'Llama 2 70B'…")
    p.add_argument("--boundary", choices=("accelerators", "it", "facility"),
                   default=None, help="energy boundary of the claim (default: with --run, the "
                   "boundary the published figure was counted at; else facility)")
    p.add_argument("--hardware", help="or describe the run: accelerator")
    p.add_argument("--count", type=int, help="number of accelerators")
    p.add_argument("--tdp", type=float, metavar="W",
                   help="the accelerators' power limit (W): their TDP, or a cap set on them")
    p.add_argument("--duration", help="wall-clock time: 14.8d, 36h")
    p.add_argument("--days", type=float, help="wall-clock days")
    p.add_argument("--accelerator-hours", help="accelerator-hours: 3.55M")
    p.add_argument("--params", help="parameters: 175B")
    p.add_argument("--active-params", help="active parameters (MoE)")
    p.add_argument("--tokens", help="training tokens: 300B")
    p.add_argument("--output-tokens", help="per-request claim: output tokens per request")
    p.add_argument("--input-tokens", help="per-request claim: prompt tokens per request")
    p.add_argument("--batch", type=int, help="per-request claim: sequences decoded together")
    p.add_argument("--workload", choices=("chat", "reasoning"),
                   help="per-request claim: chat (default) or reasoning")
    p.add_argument("--pue", type=float, help="PUE of the data centre")
    p.add_argument("--zone", help="grid zone (for a CO2e claim)")
    p.add_argument("--intensity", type=float, metavar="G_PER_KWH",
                   help="grid intensity (for a CO2e claim)")
    p.add_argument("--year", type=int, help="year of the run")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def handle(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..estimate import check_claim

    from .. import inputs as checks
    from ._common import check_flags

    check_flags(args, count="n_accelerators", tdp="tdp_w", days="days", pue="pue",
                intensity="intensity_g_per_kwh", year="year", batch="batch")
    checks.params("--params", args.params)
    checks.params("--active-params", args.active_params)
    checks.tokens("--tokens", args.tokens)
    checks.count("--accelerator-hours", args.accelerator_hours, "accelerator_hours")
    claim = " ".join(args.claim)
    inputs = {}
    if args.hardware or args.params:
        duration = args.duration if args.duration else (
            args.days * 86400.0 if args.days is not None else None)
        inputs = dict(accelerator=args.hardware, n_accelerators=args.count, duration=duration,
                      accelerator_hours=args.accelerator_hours, params=args.params,
                      active_params=args.active_params, tokens=args.tokens, pue=args.pue,
                      zone=args.zone, intensity_g_per_kwh=args.intensity, year=args.year,
                      output_tokens=args.output_tokens, input_tokens=args.input_tokens,
                      batch_size=args.batch, workload=args.workload, tdp_w=args.tdp)
        if not args.hardware:
            inputs.pop("accelerator")
    elif not args.run:
        raise UsageError("name the run (--run GPT-3) or describe it (--hardware, --count, "
                         "--days or --params/--tokens)")
    try:
        result = check_claim(claim, run=args.run, boundary=args.boundary, per=args.per,
                             **inputs)
    except UsageError:
        raise
    except ValueError as err:
        raise UsageError(str(err)) from err
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(result.summary())
    return 0
