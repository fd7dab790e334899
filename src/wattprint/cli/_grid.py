"""``wattprint grid ZONE``: annual intensity by year, renewable share, and for zones with
hourly data the typical day (best and worst hours, local time)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("zone", help="zone key, country, state, province or cloud region")
    p.add_argument("--since", type=int, default=2015,
                   help="first year to list (default 2015; datasets reach back to 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _bar(value: float, top: float, width: int = 30) -> str:
    return "#" * max(1, round(value / top * width)) if top else ""


def handle(args: argparse.Namespace) -> int:
    from ..accounting import _tables, resolve_zone
    from ..accounting.grid import annual_table, daily_profile

    zone = resolve_zone(args.zone)
    rows = [r for r in annual_table(zone) if r.year >= args.since]
    profile = daily_profile(zone)
    if args.json:
        print(json.dumps({
            "zone": zone.to_dict(), "annual": [asdict(r) for r in rows],
            "daily_profile": None if profile is None else {
                **asdict(profile), "best_hours": profile.best_hours,
                "worst_hours": profile.worst_hours, "spread_pct": profile.spread_pct},
            "datasets": {d: _tables.dataset(d).licence for d in {r.dataset for r in rows}},
        }, indent=2, ensure_ascii=False))
        return 0
    print(f"{zone.label} — grid carbon intensity")
    if zone.note and zone.cloud_region:
        print(f"  {zone.note}")
    if not rows:
        print("  no annual figures shipped for this zone; accounting falls back to its "
              "country or the world average")
    else:
        print(f"\n  {'year':<5} {'gCO2e/kWh':>10} {'renew.%':>8} {'CF %':>6}  dataset")
        for r in rows:
            ren = "" if r.renewable_pct is None else f"{r.renewable_pct:.0f}"
            cfe = "" if r.carbon_free_pct is None else f"{r.carbon_free_pct:.0f}"
            print(f"  {r.year:<5} {r.intensity_g_per_kwh:>10.0f} {ren:>8} {cfe:>6}  {r.dataset}")
        print("\n  CF % = carbon-free share (Google CFE for gcp regions). Licences:")
        for d in sorted({r.dataset for r in rows}):
            info = _tables.dataset(d)
            print(f"    {d}: {info.title} — {info.licence}")
    if profile is None:
        print("\n  no hourly data shipped for this zone (hourly zones: "
              f"{', '.join(_tables.hourly_zones())})")
        return 0
    top = max(profile.mean_by_hour)
    print(f"\n  Typical day, {profile.year}, local time ({profile.timezone}); "
          "Electricity Maps hourly (ODbL):")
    for h, v in enumerate(profile.mean_by_hour):
        mark = " best" if h in profile.best_hours else " worst" if h in profile.worst_hours else ""
        print(f"    {h:02d}:00 {v:6.0f} {_bar(v, top)}{mark}")
    fmt = ", ".join
    print(f"  best hours:  {fmt(f'{h:02d}:00' for h in sorted(profile.best_hours))}"
          f"   worst hours: {fmt(f'{h:02d}:00' for h in sorted(profile.worst_hours))}"
          f"   (best is {profile.spread_pct:.0f} % below worst)")
    if profile.estimated_hours > 0.1 * 8760:
        print(f"  note: {profile.estimated_hours} of 8760 hours are Electricity Maps estimates")
    return 0
