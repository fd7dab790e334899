"""``wattprint doctor``: which sensors work here, which do not, why, and how to fix it."""

from __future__ import annotations

import argparse
import json
import platform

from ..sensors import detect


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--mode", choices=("process", "machine"), default="process",
                   help="which models to describe (default: process)")
    p.add_argument("--rapl-root", default="/sys/class/powercap", help=argparse.SUPPRESS)
    p.add_argument("--cpuinfo", default="/proc/cpuinfo", help=argparse.SUPPRESS)


def handle(args: argparse.Namespace) -> int:
    from .._proctree import ProcessTree

    detection = detect(mode=args.mode, tree=ProcessTree() if args.mode == "process" else None,
                       rapl_root=args.rapl_root, cpuinfo_path=args.cpuinfo)
    try:
        if args.json:
            data = {"host": platform.node(), "platform": platform.platform(),
                    **detection.as_dict()}
            print(json.dumps(data, indent=2, default=str))
            return 0
        print(f"wattprint doctor on {platform.node()} ({platform.platform()})\n")
        print("Usable:")
        if not detection.sensors:
            print("  nothing - energy cannot be measured or modelled here")
        for s in detection.sensors:
            prov = s.provenance()
            extra = ""
            if s.kind == "modelled":
                unc = prov.get("uncertainty")
                extra = f"  (modelled{f', +/-{unc:.0%}' if unc else ''}: {prov.get('method', '')})"
            print(f"  {s.name:<18} {s.domain:<7} {s.kind:<9} {s.device}{extra}")
        print("\nNot usable:")
        if not detection.unavailable:
            print("  (none)")
        for u in detection.unavailable:
            print(f"  {u.source:<18} {u.reason}: {u.message}")
            if u.fix:
                print(f"  {'':<18} fix: {u.fix}")
        if detection.sensors and all(s.kind == "modelled" for s in detection.sensors):
            print("\nNo power sensor is readable here: wattprint will model energy from "
                  "utilisation and reference data, and label every figure as modelled.")
        return 0
    finally:
        for s in detection.sensors:
            s.close()
