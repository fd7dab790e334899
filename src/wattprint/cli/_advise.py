"""``wattprint advise RUN`` / ``wattprint advise --plan 'train --hardware A100 --count 512
--params 70B --tokens 300B --zone US-CA'``: every way to use less for that run or plan —
its saving in kWh, CO2e, cost and time as a range with its source — ranked, with the
levers that do not apply and why."""

from __future__ import annotations

import argparse
import json
import shlex

from ..errors import UsageError

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", help="a recorded run (id, prefix, or 'last')")
    p.add_argument("--plan", metavar="'ESTIMATE ARGS'",
                   help="a planned run, as `wattprint estimate` arguments: 'train --hardware "
                        "H100 --count 64 --params 7B --tokens 1T --zone DE' or 'infer "
                        "--params 70B --batch 8'")
    p.add_argument("--zone", help="the run's zone when the ledger has none")
    p.add_argument("--pue", type=float, help="the run's PUE when the ledger has none")
    p.add_argument("--price-per-kwh", type=float, metavar="PRICE",
                   help="electricity price, for the cost saved")
    p.add_argument("--currency", default="EUR")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def plan_situation(text: str, price: float | None, currency: str):
    from ..reduce._wait import now as planning_now
    from ..reduce.advise import situation_from_plan
    from . import _estimate, build_parser

    words = shlex.split(text)
    if not words or words[0] not in ("train", "infer"):
        raise UsageError(f"--plan {text!r}: start with train or infer, e.g. --plan 'train "
                         "--hardware H100 --count 64 --params 7B --tokens 1T'")
    try:
        args = build_parser("estimate").parse_args(["estimate", *words])
    except SystemExit:
        raise UsageError(f"--plan {text!r}: not valid `wattprint estimate` arguments (see "
                         "wattprint estimate train --help)") from None
    _estimate._check(args)
    if words[0] == "train":
        kwargs = _estimate.training_kwargs(args)
        kwargs.pop("price_per_kwh", None)
        kwargs.pop("currency", None)
        return situation_from_plan("training", kwargs, label=f"plan: {text}",
                                   price_per_kwh=price, currency=currency,
                                   start=planning_now())  # a plan starts now (WATTPRINT_NOW)
    return situation_from_plan("inference", _estimate.inference_kwargs(args),
                               label=f"plan: {text}", price_per_kwh=price, currency=currency,
                               start=planning_now())


def _range(pair, fmt) -> str:
    if pair is None:
        return "—"
    lo, hi = pair
    return fmt(lo) if abs(hi - lo) <= 1e-9 * abs(hi) else f"{fmt(lo)}–{fmt(hi)}"


def advice_lines(advice) -> list[str]:
    """The advice as text (also the HTML report's section source)."""
    from .._format import format_energy, format_mass, format_money

    s = advice.situation
    lo, mid, hi = s.energy_facility_kwh
    lines = [f"Ways to use less — {s.label} ({s.kind}; {format_energy(mid * 3.6e6)} facility "
             f"energy, {s.intensity_g_per_kwh:.0f} gCO2e/kWh, PUE {s.pue:.3g}). All savings "
             "estimated."]
    if not advice.applicable:
        lines.append("  no lever applies to this run with what is known about it")
    for i, lv in enumerate(advice.applicable, 1):
        kwh = _range(lv.kwh, lambda v: format_energy(v * 3.6e6))
        co2 = _range(lv.co2e_kg, lambda v: format_mass(v * 1000, co2e=True))
        if lv.cost:
            cost = _range(lv.cost, lambda v: format_money(v, lv.currency))
        elif lv.kwh == (0.0, 0.0):
            cost = "same cost"
        elif lv.key == "region":
            cost = "cost: the regions' prices differ"
        else:
            cost = "cost: pass --price-per-kwh"
        time = ("time " + _range(lv.time_pct, lambda v: f"{v:+.0f} %")) if lv.time_pct \
            else "time: not quantified"
        lines.append(f"  {i}. {lv.title}: saves {co2}; {kwh}; {cost}; {time}")
        lines.append(f"     {lv.why}")
        lines.append(f"     evidence: {lv.strength} — {lv.source}")
    rest = [lv for lv in advice.levers if not lv.applies]
    if rest:
        lines.append("  does not apply:")
        lines.extend(f"    - {lv.title}: {lv.why}" for lv in rest)
    return lines


def handle(args: argparse.Namespace) -> int:
    from .. import inputs
    from ..reduce.advise import advise, situation_from_run
    from ._common import open_ledger

    price = inputs.price_per_kwh("--price-per-kwh", args.price_per_kwh, args.currency)
    inputs.pue("--pue", args.pue)
    if bool(args.run) == bool(args.plan):
        raise UsageError("give a run (wattprint advise RUN) or a plan (wattprint advise "
                         "--plan 'train --hardware H100 --count 64 --params 7B --tokens 1T')")
    if args.plan:
        situation = plan_situation(args.plan, price, args.currency)
    else:
        with open_ledger(args, write=False) as ledger:
            record = ledger.get(args.run)
        situation = situation_from_run(record, zone=args.zone, pue=args.pue,
                                       price_per_kwh=price, currency=args.currency)
    advice = advise(situation)
    if args.json:
        print(json.dumps(advice.to_dict(), indent=2))
    else:
        print("\n".join(advice_lines(advice)))
    return 0
