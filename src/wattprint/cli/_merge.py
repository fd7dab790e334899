"""``wattprint merge OTHER.db…``: bring other hosts' ledgers into this one, so the parts of
a distributed job recorded on several machines show as one job (``wattprint runs``,
``wattprint show JOB``). Runs already present (same id) are skipped: merging twice
changes nothing. The other ledgers are only read."""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from ._common import open_ledger

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("others", nargs="+", metavar="OTHER",
                   help="ledger files of other hosts (copied there with scp, rsync…)")
    p.add_argument("--no-samples", dest="samples", action="store_false",
                   help="copy the runs' totals, devices and phases but not their power "
                        "samples (smaller; charts of those runs will be empty)")


def handle(args: argparse.Namespace) -> int:
    from ..ledger import Ledger

    for path in args.others:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such ledger file; give the path of another "
                             "host's ledger.db")
    with open_ledger(args, write=True) as ledger:
        for path in args.others:
            with Ledger(path, readonly=True) as other:
                copied = ledger.import_runs(other, samples=args.samples)
            print(f"{path}: {len(copied)} run(s) copied")
    print("see the jobs with `wattprint runs`; one in full with `wattprint show JOB`")
    return 0
