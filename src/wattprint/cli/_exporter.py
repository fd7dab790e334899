"""``wattprint exporter``: serve this host's devices and runs to Prometheus (see
:mod:`wattprint.telemetry.exporter` and docs/telemetry.md)."""

from __future__ import annotations

import argparse
from typing import Any, Mapping

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=9464, help="port of /metrics (default 9464)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                        "interface)")
    p.add_argument("--rate-hz", type=float, default=1.0, metavar="R",
                   help="sampling rate of the devices (default 1 per second)")
    p.add_argument("--grace-s", type=float, default=300.0, metavar="S",
                   help="seconds a finished run stays in the metrics (default 300)")
    p.add_argument("--zone", help="grid zone of this host for CO2e (default: the configured "
                                  "zone; a run's own zone wins for its series)")
    p.add_argument("--price-per-kwh", type=float, metavar="PRICE",
                   help="electricity price per kWh for wattprint_cost_total")
    p.add_argument("--currency", default=None, help="currency of the price (default EUR)")
    p.add_argument("--state", metavar="PATH", default=None,
                   help="where the counters are kept across restarts (default "
                        "$XDG_STATE_HOME/wattprint/exporter-PORT.json)")
    p.add_argument("--no-runs", action="store_true",
                   help="devices only: do not read runs from the ledger")


def options_from(args: argparse.Namespace) -> Any:
    from ..config import load_config
    from ..telemetry.exporter import ExporterOptions

    config = load_config({"ledger": getattr(args, "ledger", None), "zone": args.zone})
    return ExporterOptions(port=args.port, host=args.host, rate_hz=args.rate_hz,
                           ledger=None if args.no_runs else config.ledger,
                           grace_s=args.grace_s, zone=config.zone, pue=config.pue,
                           price_per_kwh=args.price_per_kwh, currency=args.currency,
                           state_path=args.state, gpus=config.gpus)


def handle(args: argparse.Namespace, *, detect_options: Mapping[str, Any] | None = None) -> int:
    from ..telemetry.exporter import run

    return run(options_from(args).checked(), detect_options=detect_options)
