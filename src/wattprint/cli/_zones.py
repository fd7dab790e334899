"""``wattprint zones [QUERY]``: search the grid zones and cloud regions wattprint knows."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="?", default="",
                   help="part of a zone key, name, ISO code or cloud region (e.g. 'cal', "
                        "'germany', 'aws:eu')")
    p.add_argument("--kind", choices=("country", "province", "grid-region", "us-state",
                                      "cn-province", "world", "region", "cloud"),
                   help="only zones of this kind")
    p.add_argument("--limit", type=int, default=50, help="show at most N (default 50; 0: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def handle(args: argparse.Namespace) -> int:
    from ..accounting import resolve_zone, search_zones
    from ..accounting.zones import UnknownZoneError

    from ._common import check_flags

    check_flags(args, limit="limit")
    kind = None if args.kind == "cloud" else args.kind
    found = search_zones(args.query, kind=kind)
    if args.kind == "cloud":
        found = [z for z in found if z.cloud_region]
    if not found and args.query:
        try:  # an exact alias that is not a substring (e.g. "SE3") still resolves
            found = [resolve_zone(args.query)]
        except UnknownZoneError as err:
            if args.json:
                print(json.dumps({"query": args.query, "zones": [],
                                  "suggestions": list(err.suggestions)}))
                return 1
            print(f"no zone matches {args.query!r}"
                  + (f"; did you mean {', '.join(err.suggestions)}?" if err.suggestions else ""))
            return 1
    total = len(found)
    shown = found[: args.limit] if args.limit else found
    if args.json:
        print(json.dumps({"query": args.query, "total": total,
                          "zones": [z.to_dict() for z in shown]}, indent=2, ensure_ascii=False))
        return 0
    for z in shown:
        key = z.cloud_region or z.key
        target = f"-> {z.key} ({z.name})" if z.cloud_region else z.name
        print(f"{key:<28} {z.kind:<12} {target}")
    if total > len(shown):
        print(f"... {total - len(shown)} more (--limit 0 shows all)")
    return 0
