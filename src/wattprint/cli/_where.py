"""``wattprint where --duration 6h --energy 2MWh --regions 'aws:*,gcp:europe-*'``: regions
ranked by the job's expected CO2e (intensity × PUE, hourly where known), with cost where
a price is given and water."""

from __future__ import annotations

import argparse
import json

from ..errors import UsageError

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regions", required=True,
                   help="comma-separated globs over cloud regions ('aws:*,gcp:europe-*', "
                        "'azure:*europe*') and/or grid zones (DE, FR)")
    p.add_argument("--duration", help="how long the job runs: 6h, 2d (default with --like: "
                                      "that run's)")
    e = p.add_mutually_exclusive_group()
    e.add_argument("--energy", help="the job's IT energy: 2MWh, 500kWh")
    e.add_argument("--like", metavar="RUN", help="a recorded run like the job")
    p.add_argument("--within", help="let each region start at its cleanest hour within this "
                                    "long (default: start now everywhere)")
    p.add_argument("--max-intensity", type=float, metavar="G_PER_KWH",
                   help="leave out regions whose mean intensity is above this (gCO2e/kWh)")
    p.add_argument("--price-per-kwh", type=float, metavar="PRICE",
                   help="electricity price for every region")
    p.add_argument("--price", action="append", default=[], metavar="REGION=PRICE",
                   help="a region's own price per kWh (repeatable): aws:us-east-1=0.08")
    p.add_argument("--currency", default="EUR", help="currency of the prices (default EUR)")
    p.add_argument("--top", type=int, default=20, help="regions to list (default 20; 0: all)")
    p.add_argument("--provider", help="live forecast provider (default: the "
                                      "intensity_provider setting)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _prices(items: list[str], currency: str) -> dict[str, float]:
    from .. import inputs

    out = {}
    for item in items:
        region, sep, value = item.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = None
        if not sep or price is None:
            raise UsageError(f"--price {item!r}: write REGION=PRICE, e.g. --price "
                             "aws:us-east-1=0.08")
        out[region.strip().lower()] = inputs.price_per_kwh("--price", price, currency)
    return out


def handle(args: argparse.Namespace) -> int:
    from .. import inputs
    from .._format import format_duration, format_energy, format_mass, format_money, \
        format_water
    from ..reduce.where import match_regions, plan_where
    from ._reduce_common import duration_flag, energy_flag, live_provider

    regions = match_regions(args.regions)
    job = energy_flag(args)
    energy_j, energy_from = job.energy_j, job.energy_from
    if energy_j is None:
        raise UsageError("--energy is needed (the job's IT energy, e.g. --energy 2MWh), or "
                         "--like RUN")
    duration_s = duration_flag("--duration", args.duration) or job.duration_s
    if not duration_s:
        raise UsageError("--duration is needed: how long the job runs, e.g. --duration 6h")
    inputs.intensity_g_per_kwh("--max-intensity", args.max_intensity)
    price = inputs.price_per_kwh("--price-per-kwh", args.price_per_kwh, args.currency)
    if args.top < 0:
        raise UsageError(f"--top {args.top}: give 0 (all) or more")
    from ..reduce._wait import now as planning_now

    plan = plan_where(regions, duration_s, energy_j, now=planning_now(),
                      within_s=duration_flag("--within", args.within),
                      max_intensity_g_per_kwh=args.max_intensity, price_per_kwh=price,
                      prices=_prices(args.price, args.currency), currency=args.currency,
                      provider=live_provider(args.provider))
    if args.json:
        data = plan.to_dict()
        data["energy_from"] = energy_from
        print(json.dumps(data, indent=2))
        return 0
    shown = plan.options if args.top == 0 else plan.options[:args.top]
    print(f"{len(regions)} region(s) for a {format_duration(duration_s)} job of "
          f"{format_energy(energy_j)} IT energy ({energy_from}); ranked by expected CO2e, "
          "all figures estimated")
    print(f"  {'#':>3} {'region':<26} {'grid':<11} {'start (UTC)':<12} {'g/kWh':>6} "
          f"{'PUE':>5} {'CO2e':>12} {'cost':>12} {'water':>10}  intensity")
    for i, o in enumerate(shown, 1):
        cost = format_money(o.cost, o.currency) if o.cost is not None else "—"
        water = format_water(o.water_l) if o.water_l is not None else "unknown"
        print(f"  {i:>3} {o.region:<26} {o.zone:<11} {o.start:%a %H:%M}    "
              f"{o.intensity_g_per_kwh:>6.0f} {o.pue:>5.2f} {format_mass(o.co2e_g, co2e=True):>12} "
              f"{cost:>12} {water:>10}  {o.intensity_source}")
    if len(shown) < len(plan.options):
        print(f"  … {len(plan.options) - len(shown)} more (--top 0 lists all)")
    if plan.options:
        best, worst = plan.options[0], plan.options[-1]
        if worst.co2e_g > 0 and len(plan.options) > 1:
            print(f"  {best.region} emits {(1 - best.co2e_g / worst.co2e_g) * 100:.0f} % less "
                  f"than {worst.region}")
    else:
        print("  no region is at or below --max-intensity")
    if plan.excluded:
        print(f"  left out above {args.max_intensity:g} g/kWh: "
              f"{', '.join(o.region for o in plan.excluded[:10])}"
              + (f" and {len(plan.excluded) - 10} more" if len(plan.excluded) > 10 else ""))
    if price is None and not args.price:
        print("  cost: pass --price-per-kwh or --price REGION=PRICE (wattprint ships no prices)")
    print("  intensity: shipped-profile = typical hourly week (Electricity Maps 2023); annual = "
          "the zone's yearly average (no hourly data); live = a provider's forecast")
    return 0
