"""``wattprint runs``: list recorded runs, newest first, with filters and sorting.

Reads only the runs' summary columns, so it stays fast with millions of samples."""

from __future__ import annotations

import argparse
import json

from ._common import (add_filter_arguments, filters_from, fmt_duration, fmt_energy,
                      fmt_time, open_ledger, table)

USES_LEDGER = True
DEFAULT_LIMIT = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_filter_arguments(p)
    p.add_argument("--sort", default="started",
                   choices=("started", "energy", "duration", "power", "name", "project",
                            "status"),
                   help="order by this column (default: started)")
    p.add_argument("--asc", action="store_true",
                   help="ascending order (default: descending - newest, largest first)")
    p.add_argument("-n", "--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                   help=f"show at most N runs (default {DEFAULT_LIMIT}; 0 or --all: every run)")
    p.add_argument("--all", action="store_true", help="show every matching run")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")


def handle(args: argparse.Namespace) -> int:
    filters = filters_from(args)
    limit = None if args.all or args.limit <= 0 else args.limit
    with open_ledger(args, write=False) as ledger:
        runs = ledger.runs(**filters, sort=args.sort, descending=not args.asc, limit=limit,
                           per_job=True)
        total = (ledger.count(**filters, per_job=True) if limit is not None
                 and len(runs) == limit else len(runs))
        jobs = {r.job_id: ledger.job(r.job_id) for r in runs if r.job_id}
        path = ledger.path
    if args.json:
        out = []
        for r in runs:
            d = r.to_dict()
            for key in ("devices", "phases", "counters", "per_unit"):
                d.pop(key, None)
            job = jobs.get(r.job_id) if r.job_id else None
            if job is not None and len(job.parts) > 1:
                d["job"] = {k: v for k, v in job.to_dict().items()
                            if k not in ("phases", "by_host")}
            out.append(d)
        print(json.dumps(out, indent=1, default=str))
        return 0
    if not runs:
        print(f"no runs match (ledger: {path})" if any(filters.values())
              else f"no runs recorded yet (ledger: {path}); record one with "
                   "`wattprint run -- CMD`")
        return 0
    rows = []
    for r in runs:
        name = r.name or ""
        job = jobs.get(r.job_id) if r.job_id else None
        if job is not None and len(job.parts) > 1:  # one row for the whole job
            parts = f" [{len(job.parts)} parts]"
            name = name[:48 - len(parts)] + parts
            rows.append((job.job_id, fmt_time(job.started_at), job.status,
                         fmt_duration(job.duration_s), fmt_energy(job.energy_j), job.basis,
                         r.project or "", ",".join(r.tags), name))
            continue
        rows.append((r.id, fmt_time(r.started_at), r.status, fmt_duration(r.duration_s),
                     fmt_energy(r.energy_j), r.basis or "-", r.project or "",
                     ",".join(r.tags), name if len(name) <= 48 else name[:47] + "…"))
    print("\n".join(table(("ID", "STARTED", "STATUS", "DURATION", "ENERGY", "BASIS",
                           "PROJECT", "TAGS", "NAME"), rows, right=(3, 4))))
    if total > len(runs):
        print(f"({len(runs)} of {total} runs; --all or -n N to see more)")
    return 0
