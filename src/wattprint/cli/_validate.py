"""``wattprint validate``: reproduce the published training and inference figures shipped
with wattprint and print, per row, the inputs used, the estimate and its range, the
published value and the error; then the summary and the targets of issue 5.

    wattprint validate            # every row
    wattprint validate --summary  # the summaries and targets only
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--summary", action="store_true", help="summaries and targets only")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def handle(args: argparse.Namespace) -> int:
    from ..estimate import run_validation

    report = run_validation()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.text(rows=not args.summary))
    return 0
