"""``wattprint when --duration 6h [--within 24h | --deadline T] [--zone Z]``: the best
start for a job of that length, from a live forecast where a provider is configured, else
the shipped typical week; the CO2e it saves for ``--energy`` or ``--like RUN``."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from ..errors import UsageError

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", help="how long the job runs: 6h, 90min, 2d (default with "
                                      "--like: that run's duration)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--within", help="start within this long from now (default 24h)")
    g.add_argument("--deadline", help="the job must end by then: '2026-03-01 18:00' (local "
                                      "time), 2026-03-01T18:00Z, or a duration from now (36h)")
    p.add_argument("--zone", help="grid zone or cloud region (default: the --like run's, "
                                  "else the zone setting)")
    e = p.add_mutually_exclusive_group()
    e.add_argument("--energy", help="the job's IT energy, for the CO2e saved: 500kWh, 2MWh")
    e.add_argument("--like", metavar="RUN", help="a recorded run like the job (its energy; "
                                                "its duration, zone and PUE unless given)")
    p.add_argument("--pue", type=float, help="PUE applied to the energy (default: the --like "
                                             "run's, else 1.0)")
    p.add_argument("--provider", help="live forecast provider (default: the "
                                      "intensity_provider setting, else the shipped profile)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def zone_of(text: str | None) -> str:
    from ..config import load_config

    zone = text or load_config({"zone": None}).zone
    if not zone:
        raise UsageError("no zone: pass --zone (e.g. --zone DE) or set the zone setting "
                         "(WATTPRINT_ZONE=DE)")
    return zone


def local(t: datetime, tz_name: str | None) -> str:
    if tz_name:
        try:
            from zoneinfo import ZoneInfo

            return t.astimezone(ZoneInfo(tz_name)).strftime("%a %H:%M") + " local"
        except Exception:  # noqa: BLE001 - UTC only
            pass
    return ""


def handle(args: argparse.Namespace) -> int:
    from .. import inputs
    from .._format import format_duration, format_mass
    from ..accounting import resolve_zone
    from ..reduce._outlook import typical_week
    from ..reduce._wait import now as planning_now
    from ..reduce.when import plan_when
    from ._reduce_common import deadline_flag, duration_flag, energy_flag, live_provider

    now = planning_now()  # WATTPRINT_NOW when set
    job = energy_flag(args)
    energy_j, energy_from = job.energy_j, job.energy_from
    zone = resolve_zone(zone_of(args.zone or job.zone))
    duration_s = duration_flag("--duration", args.duration) or job.duration_s
    if not duration_s:
        raise UsageError("--duration is needed: how long the job runs, e.g. --duration 6h")
    pue = inputs.pue("--pue", args.pue) or job.pue or 1.0
    plan = plan_when(zone, duration_s, now=now,
                     within_s=duration_flag("--within", args.within),
                     deadline=deadline_flag(args.deadline, now), energy_j=energy_j, pue=pue,
                     provider=live_provider(args.provider))
    past = _past_days(plan, zone)
    if args.json:
        data = plan.to_dict()
        data["energy_from"] = energy_from
        data["past_days"] = past
        print(json.dumps(data, indent=2))
        return 0
    week = typical_week(zone.key)
    tz_name = week[1] if week else None
    src = {"live": f"live forecast ({plan.outlook.dataset}; {plan.outlook.live_hours} h)",
           "shipped-profile": "shipped typical week (Electricity Maps hourly 2023, ODbL)"}
    print(f"{zone.label} — a {format_duration(duration_s)} job, ending by "
          f"{plan.latest_end:%Y-%m-%d %H:%M} UTC")
    print(f"  source: {src.get(plan.outlook.source, plan.outlook.source)}; all figures "
          "estimated")

    def row(label: str, w) -> str:
        return (f"  {label:<11} {w.start:%a %H:%M} UTC {local(w.start, tz_name):>15}  "
                f"{w.mean_g_per_kwh:6.0f} gCO2e/kWh")

    print(row("start now", plan.now_window))
    print(row("best start", plan.best) + (f"  ({plan.saving_pct:.0f} % cleaner)"
                                          if plan.wait_s else ""))
    print(row("worst start", plan.worst))
    if plan.wait_s:
        print(f"  cost of waiting: starts {format_duration(plan.wait_s)} from now and ends "
              "as much later")
        if past is not None:
            print(f"  checked on the actual hours of the {past['days']} {past['which']}: "
                  f"cleaner on {past['cleaner_on']} of them "
                  f"({past['saving_pct_low']:+.0f} % to {past['saving_pct_high']:+.0f} %)"
                  + ("" if past["cleaner_on"] == past["days"] else
                     "; the typical week is an average, not a promise"))
    else:
        print("  no later start in the window is cleaner: start now")
    if energy_j is not None:
        print(f"  for {_energy(energy_j)} ({energy_from}) × PUE {pue:g}: "
              f"{format_mass(plan.co2e_g(plan.now_window), co2e=True)} now, "
              f"{format_mass(plan.co2e_g(plan.best), co2e=True)} at the best start; "
              f"saves {format_mass(plan.co2e_saved_g, co2e=True)}")
    for note in (*plan.outlook.notes, *plan.notes):
        print(f"  note: {note}")
    print(f"  ({plan.candidates} candidate starts compared)")
    return 0


def _past_days(plan: Any, zone: Any) -> dict[str, Any] | None:
    """How the best start of the shipped typical week did on the actual hours of the days
    it averages (same month and weekday of the hourly year), or None (a live forecast, no
    wait, no hourly data)."""
    from ..reduce.when import day_savings, days_compared

    if plan.outlook.source != "shipped-profile" or not plan.wait_s:
        return None
    savings = day_savings(zone.key, plan.now, plan.best.start - plan.now, plan.duration_s)
    if not savings:
        return None
    return {"days": len(savings), "which": days_compared(plan.now),
            "cleaner_on": sum(x > 0 for x in savings),
            "saving_pct_low": min(savings) * 100, "saving_pct_high": max(savings) * 100}


def _energy(energy_j: float) -> str:
    from .._format import format_energy

    return format_energy(energy_j)
