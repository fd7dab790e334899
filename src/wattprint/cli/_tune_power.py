"""``wattprint tune-power [--eta 0.5 | --max-slowdown 0.05] -- CMD``: run a command that
reports its steps, profile GPU power limits during its first steps, keep the best one for
the rest of the run, and put the original limit back when it ends (whatever way it ends).

The command reports each step by writing one line to the file descriptor named in
``WATTPRINT_STEP_FD``: ``wattprint.optimize.step()`` from Python, ``echo >&$WATTPRINT_STEP_FD``
from a shell. Its exit status is wattprint's; signals are forwarded to it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from ..errors import UsageError
from ._common import wrapped_command


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--eta", type=float, default=None,
                   help="energy-time knob, 0 (time only) to 1 (energy only); cost = eta·E "
                        "+ (1-eta)·P_max·T per step (default 0.5)")
    g.add_argument("--max-slowdown", type=float, default=None, metavar="FRACTION",
                   help="least energy within this slowdown of the uncapped step time "
                        "(0.05 = 5 %%)")
    p.add_argument("--gpus", help="NVML indices, comma-separated (default: the visible GPUs)")
    p.add_argument("--limits", help="candidate limits in W, comma-separated (default: the "
                                    "settable range in --step-w steps)")
    p.add_argument("--step-w", type=float, default=50.0, help="W between candidates (50)")
    p.add_argument("--warmup-steps", type=int, default=5, help="steps not measured (5)")
    p.add_argument("--steps-per-limit", type=int, default=5, help="steps measured per "
                                                                 "limit (5)")
    p.add_argument("--json", metavar="PATH", help="write the profile and choice as JSON")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS")


def _ints(flag: str, text: str | None, cast=int) -> list | None:
    if text is None:
        return None
    try:
        return [cast(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{flag} {text!r}: write comma-separated numbers, e.g. {flag} "
                         + ("0,1" if cast is int else "300,400,500")) from None


def _read_steps(fd: int, opt, done: threading.Event) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(4096)
            if not chunk:
                break
            for _ in range(chunk.count(b"\n")):
                opt.step()
    done.set()


def handle(args: argparse.Namespace, *, nvml=None) -> int:
    """``nvml``: the NVML module to act through (default pynvml; tests pass a fake)."""
    from ..optimize import STEP_FD_ENV, PowerLimitOptimizer
    from ._child import ChildSupervisor

    cmd = wrapped_command(args.cmd, "tune-power")
    opt = PowerLimitOptimizer(_ints("--gpus", args.gpus),
                              eta=0.5 if args.eta is None else args.eta,
                              max_slowdown=args.max_slowdown,
                              limits_w=_ints("--limits", args.limits, float),
                              step_w=args.step_w, warmup_steps=args.warmup_steps,
                              steps_per_limit=args.steps_per_limit, guard_signals=False,
                              nvml=nvml)
    with ChildSupervisor() as supervisor:
        opt.start()  # restores at exit too; signals go to the command, then we restore
        try:
            read_fd, write_fd = os.pipe()
            done = threading.Event()
            reader = threading.Thread(target=_read_steps, args=(read_fd, opt, done),
                                      daemon=True, name="wattprint-steps")
            reader.start()
            try:
                supervisor.start(cmd, {**os.environ, STEP_FD_ENV: str(write_fd)},
                                 pass_fds=(write_fd,))
            except OSError as err:
                raise UsageError(f"could not start {cmd[0]!r}: {err.strerror or err}") from err
            finally:
                os.close(write_fd)  # the command holds the only writer now
            returncode = supervisor.wait()
            done.wait(5.0)
        finally:
            opt.close()
    report = opt.report
    if report is not None:
        if opt.steps == 0:
            report.message = (report.message + " " if report.message else "") + (
                f"the command reported no steps (write a line to ${STEP_FD_ENV} per step, "
                "or call wattprint.optimize.step()); nothing was profiled")
        print(report.summary(), file=sys.stderr)
        print(f"  {opt.steps} steps reported; original limit "
              f"{'restored' if report.restored else 'never changed'}", file=sys.stderr)
        if args.json:
            try:
                with open(args.json, "w") as fh:
                    json.dump({**report.to_dict(), "steps": opt.steps}, fh, indent=2)
            except OSError as err:
                print(f"wattprint: warning: could not write --json {args.json}: "
                      f"{err.strerror or err}", file=sys.stderr)
    return returncode if returncode >= 0 else 128 - returncode
