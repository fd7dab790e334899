"""``wattprint push [RUN...]``: send the runs a team server has not acknowledged yet.

Without RUN: every final run of the ledger waiting for the server (never pushed, or
edited since its last push: tags, recovery). ``--all``: send again what the server
acknowledged already (every final run, or the RUNs named). ``--dry-run``: say what
would be sent, send nothing. The server and the token come from ``--server`` /
``--token``, else ``WATTPRINT_SERVER`` / ``WATTPRINT_TOKEN`` or the ``server`` /
``token`` settings.

Exit status: 0 when every run asked for is acknowledged by the server; 1 when some are
not (a one-line reason on stderr; they stay in the outbox); 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
import time

from .._printable import printable
from ._common import open_ledger

USES_LEDGER = True
#: Seconds before the progress line appears, and between its lines when not a terminal.
PROGRESS_AFTER_S = 1.0
PROGRESS_EVERY_S = 10.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="runs to push (ids, unique prefixes, last, or a job id); default: "
                        "every run not acknowledged by the server yet")
    p.add_argument("--server", metavar="URL",
                   help="the team server, http(s)://host[:port][/path] (default: "
                        "WATTPRINT_SERVER or the `server` setting)")
    p.add_argument("--token", metavar="TOKEN",
                   help="API token (default: WATTPRINT_TOKEN or the `token` setting; "
                        "prefer the variable: a flag is visible to other users in ps)")
    p.add_argument("--all", dest="everything", action="store_true",
                   help="send again runs the server already acknowledged")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would be sent (chunks, size); send nothing")


class _Progress:
    """``pushing 12/300 runs`` on stderr once a push takes more than a second: rewritten
    in place on a terminal, a line every few seconds otherwise."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, done: int, total: int, run_id: str) -> None:
        now = time.monotonic()
        if now - self.started < PROGRESS_AFTER_S or done == total:
            return
        if not self.tty and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        line = f"wattprint push: {done}/{total} runs ({now - self.started:.0f} s)"
        if self.tty:
            self.width = max(self.width, len(line))
            sys.stderr.write("\r" + line.ljust(self.width))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def handle(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..errors import UsageError
    from ..push import push
    from ..push._target import target_from

    config = load_config({"ledger": getattr(args, "ledger", None)})
    target = target_from(config.values, server=args.server, token=args.token,
                         sources=config.sources)
    if target is None:
        raise UsageError("no team server configured: set WATTPRINT_SERVER=URL (or the "
                         "`server` setting, or pass --server URL)")
    progress = _Progress()
    with open_ledger(args, write=not args.dry_run) as ledger:
        try:
            report = push(ledger, args.runs, target=target, everything=args.everything,
                          dry_run=args.dry_run, progress=progress)
        finally:
            progress.clear()
    if not report.runs and report.stopped is None and not report.not_tried:
        print(f"nothing to push: {target.server} has acknowledged every final run")
        return 0
    print("\n".join(printable(line) for line in report.summary().split("\n")))
    if report.stopped is not None:
        print(f"wattprint: error: {printable(report.stopped)}", file=sys.stderr)
        return 1
    if not report.ok:
        first = report.failed[0]
        print(f"wattprint: error: {len(report.failed)} run(s) not pushed ({first.run_id}: "
              f"{printable(first.reason)}); they stay in the outbox", file=sys.stderr)
        return 1
    return 0
