"""``wattprint runs``: list recorded runs, newest first, with filters and sorting.

Reads only the runs' summary columns, so it stays fast with millions of samples, and
streams them, so it stays small with hundreds of thousands of runs."""

from __future__ import annotations

import argparse
import json
import marshal
import sys
import tempfile
from typing import Any, Iterable

from ..ledger._records import RunSummary
from ._common import (add_filter_arguments, align, cells_of, filters_from, fmt_duration,
                      fmt_energy, fmt_time, open_ledger, outbox_note)

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


#: Formatted rows written to the temporary file at a time.
SPOOL_ROWS = 500
HEADERS = ("ID", "STARTED", "STATUS", "DURATION", "ENERGY", "BASIS", "PROJECT", "TAGS", "NAME")
RIGHT = (3, 4)


def handle(args: argparse.Namespace) -> int:
    """Runs are streamed from the ledger, never all held in memory: a first pass counts
    them, finds their jobs, formats the rows into a temporary file and measures the
    columns; a second one prints them aligned (``--all`` on a hundred thousand runs takes
    seconds and a few MiB)."""
    filters = filters_from(args)
    limit = None if args.all or args.limit <= 0 else args.limit
    query = dict(filters, sort=args.sort, descending=not args.asc, limit=limit, per_job=True)
    with open_ledger(args, write=False) as ledger, tempfile.TemporaryFile() as spool:
        path = ledger.path
        count, widths, job_firsts, batch = 0, [len(h) for h in HEADERS], [], []
        for r in ledger.iter_runs(**query, summary=True):
            count += 1
            if r.job_id:  # one per job: the job's row waits for the job's figures
                job_firsts.append(r)
            if args.json:
                continue
            if r.job_id:
                batch.append((True, tuple(r)))
            else:
                cells = _row(r, None)
                _widen(widths, cells)
                batch.append((False, cells))
            if len(batch) == SPOOL_ROWS:
                marshal.dump(batch, spool)
                batch = []
        marshal.dump(batch, spool)
        jobs = {r.job_id: ledger.job(r.job_id) for r in job_firsts}
        for r in job_firsts:
            _widen(widths, _row(r, jobs[r.job_id]))
        total = (ledger.count(**filters, per_job=True) if limit is not None
                 and count == limit else count)
        if args.json:
            _print_json(ledger.iter_runs(**query), jobs)
            return 0
        if not count:
            print(f"no runs match (ledger: {path})" if any(filters.values())
                  else f"no runs recorded yet (ledger: {path}); record one with "
                       "`wattprint run -- CMD`")
            return 0
        write = sys.stdout.write
        write(align(HEADERS, widths, RIGHT) + "\n")
        spool.seek(0)
        for _ in range(count // SPOOL_ROWS + 1):  # the batches dumped above
            for is_job, data in marshal.load(spool):
                if is_job:
                    summary = RunSummary(*data)
                    data = _row(summary, jobs[summary.job_id])
                write(align(data, widths, RIGHT) + "\n")
        note = outbox_note(ledger)
    if total > count:
        print(f"({count} of {total} runs; --all or -n N to see more)")
    if note:
        print(f"({note})")
    return 0


def _widen(widths: list[int], cells: list[str]) -> None:
    for i, cell in enumerate(cells):
        if len(cell) > widths[i]:
            widths[i] = len(cell)


def _row(r: Any, job: Any) -> list[str]:
    """The cells of a run's row; a job of several parts is one row with its figures."""
    name = r.name or ""
    if job is not None and len(job.parts) > 1:
        parts = f" [{len(job.parts)} parts]"
        name = name[:48 - len(parts)] + parts
        return cells_of((job.job_id, fmt_time(job.started_at), job.status,
                         fmt_duration(job.duration_s), fmt_energy(job.energy_j), job.basis,
                         r.project or "", ",".join(r.tags), name))
    return cells_of((r.id, fmt_time(r.started_at), r.status, fmt_duration(r.duration_s),
                     fmt_energy(r.energy_j), r.basis or "-", r.project or "",
                     ",".join(r.tags), name if len(name) <= 48 else name[:47] + "…"))


def _print_json(runs: Iterable[Any], jobs: dict[str, Any]) -> None:
    """A JSON array of the runs, written one run at a time; the same text as
    ``json.dumps(list_of_runs, indent=1)``."""
    write = sys.stdout.write
    first = True
    for r in runs:
        d = r.listing_dict()
        job = jobs.get(r.job_id) if r.job_id else None
        if job is not None and len(job.parts) > 1:
            d["job"] = {k: v for k, v in job.to_dict().items()
                        if k not in ("phases", "by_host")}
        item = json.dumps(d, indent=1, default=str).replace("\n", "\n ")
        write(("[\n " if first else ",\n ") + item)
        first = False
    write("[]\n" if first else "\n]\n")
