"""``wattprint rm RUN...``: delete runs, with their devices, phases and samples, in one
transaction. A run still being recorded is refused unless ``--force``."""

from __future__ import annotations

import argparse

from ._common import open_ledger

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run ids, unique prefixes, 'last' or 'last~N'")
    p.add_argument("--force", action="store_true",
                   help="also delete runs that are still being recorded")


def handle(args: argparse.Namespace) -> int:
    with open_ledger(args, write=True) as ledger:
        removed = ledger.delete(args.runs, force=args.force)
    for run_id in removed:
        print(f"removed {run_id}")
    return 0
