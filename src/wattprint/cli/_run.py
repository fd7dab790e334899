"""``wattprint run [options] -- CMD ARGS…``: run a command and measure its process tree.

The command's CPU time counts in full, children that exited before the end included
(they are reaped inside the tracked tree, so their time flows into it). Signals sent to
wattprint (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are forwarded to the child; wattprint exits
with the child's exit status (128 + signal number when the child died of a signal).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading

from ..errors import UsageError
from ..tracker import Tracker

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="a name for the run (default: the command)")
    p.add_argument("--mode", choices=("process", "machine"), default="process",
                   help="process: attribute shared devices to the command's process tree "
                        "(default); machine: count whole devices")
    p.add_argument("--rate", type=float, default=10.0, metavar="HZ",
                   help="sampling rate of fast sensors (default 10)")
    p.add_argument("--no-gpu", action="store_true", help="do not probe GPUs")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no live display and no summary")
    p.add_argument("--json", metavar="PATH",
                   help="write the full result as JSON to PATH ('-' for stdout)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                   help="the command to run")


def _live(tracker: Tracker, stop: threading.Event) -> None:
    width = 0
    while not stop.wait(1.0):
        line = (f"wattprint  {tracker.elapsed_s:8.1f} s  {tracker.power_w:8.1f} W  "
                f"{tracker.energy_j / 3600:10.4f} Wh")
        width = max(width, len(line))
        sys.stderr.write("\r" + line.ljust(width))
        sys.stderr.flush()
    if width:
        sys.stderr.write("\r" + " " * width + "\r")
        sys.stderr.flush()


def handle(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; put the command after '--', for example: "
                         "wattprint run -- python train.py")
    if os.sep not in cmd[0] and shutil.which(cmd[0]) is None:
        raise UsageError(f"command not found: {cmd[0]!r}; check the spelling or give its "
                         "full path")
    if args.json and args.json != "-":
        parent = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(parent):
            raise UsageError(f"--json {args.json}: the folder {parent} does not exist")

    # Track this process's tree: the child is reaped here, so its CPU time (and that of
    # everything it reaped) flows into this process's children_* times.
    tracker = Tracker(args.name or " ".join(cmd)[:200], mode=args.mode, rate_hz=args.rate,
                      gpus=not args.no_gpu)
    tracker.start()
    try:
        child = subprocess.Popen(cmd)
    except OSError as err:
        tracker.stop()
        raise UsageError(f"could not start {cmd[0]!r}: {err.strerror or err}") from err

    previous = {}

    def forward(signum: int, _frame: object) -> None:
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        previous[sig] = signal.signal(sig, forward)
    live_stop = threading.Event()
    live = None
    if not args.quiet and sys.stderr.isatty():
        live = threading.Thread(target=_live, args=(tracker, live_stop), daemon=True)
        live.start()
    try:
        while True:
            try:
                returncode = child.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - handler forwards instead
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        live_stop.set()
        if live is not None:
            live.join()
        if child.poll() is None:
            child.wait()
        tracker._status = "finished" if child.returncode == 0 else "failed"
        result = tracker.stop()

    if args.json:
        text = json.dumps(result.to_dict(), indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
    if not args.quiet:
        print(result.summary(), file=sys.stderr)
    return returncode if returncode >= 0 else 128 - returncode
