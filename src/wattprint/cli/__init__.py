"""The ``wattprint`` command line. Each subcommand lives in its own module.

User errors (bad arguments, a missing command, a run id that does not exist) print one
line naming the problem and the fix, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from .. import __version__
from ..errors import WattprintError

__all__ = ["main", "build_parser"]

#: (name, module, help) — modules are imported only when their command runs.
COMMANDS = (
    ("run", "_run", "run a command and measure its energy: wattprint run -- python train.py"),
    ("doctor", "_doctor", "show the power sensors found here, the ones not usable, and the fix"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description="Measure, estimate and reduce the energy of AI training and inference.")
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log sensor details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name, module, help_ in COMMANDS:
        mod = importlib.import_module(f".{module}", __name__)
        p = sub.add_parser(name, help=help_, description=help_)
        mod.add_arguments(p)
        p.set_defaults(handler=mod.handle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except WattprintError as err:
        print(f"wattprint: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wattprint: interrupted", file=sys.stderr)
        return 130
