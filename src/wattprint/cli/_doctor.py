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


def _print_factors(prov: dict) -> None:
    """The model's matched hardware, coefficients, uncertainty and their sources."""
    pad = " " * 20
    if prov.get("matched_name"):
        print(f"{pad}matched: {prov['matched_name']} ({prov.get('match_method')})")
    sources = []
    for key, coef in (prov.get("coefficients") or {}).items():
        unit = coef.get("unit", "")
        print(f"{pad}{key} = {coef['value']:.4g}{' ' + unit if unit else ''}")
        if coef.get("source") and coef["source"] not in sources:
            sources.append(coef["source"])
    if prov.get("uncertainty"):
        print(f"{pad}uncertainty: +/-{prov['uncertainty']:.0%}")
    for src in sources:
        print(f"{pad}source: {src}")


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
            print(f"  {s.name:<18} {s.domain:<7} {s.kind:<9} {s.device}")
            _print_factors(s.provenance())
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
