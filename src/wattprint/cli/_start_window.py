"""``wattprint run --start-within 12h``: plan the cleanest start (``wattprint when``'s
rule) and wait for it before the command starts. On a terminal a countdown shows; Enter
(or SIGUSR1 from anywhere) starts now; Ctrl-C cancels and the command is not run. What
was planned and how long was waited goes into the run's settings (``start_window``)."""

from __future__ import annotations

import argparse
import select
import signal
import sys
import threading
from typing import Any

from .._format import format_duration
from ..errors import UsageError


def _watch_enter(event: threading.Event, stop: threading.Event) -> None:
    """Set ``event`` when a line is typed on the terminal."""
    while not stop.is_set():
        try:
            ready, _, _ = select.select([sys.stdin], [], [], 0.5)
        except (OSError, ValueError):
            return
        if ready:
            sys.stdin.readline()
            event.set()
            return


def wait_for_window(args: argparse.Namespace, config: Any) -> dict[str, Any] | None:
    """The schedule to record, after waiting; None when the user cancelled."""
    from ..reduce import _wait
    from ..reduce.when import plan_when
    from ._reduce_common import duration_flag, live_provider

    if not config.zone:
        raise UsageError("--start-within needs a zone: pass --zone (e.g. --zone DE) or set "
                         "WATTPRINT_ZONE")
    within_s = duration_flag("--start-within", args.start_within)
    job_s = duration_flag("--expected-duration", args.expected_duration) or 3600.0
    plan = plan_when(config.zone, job_s, now=_wait.now(), within_s=within_s,
                     provider=live_provider(None))
    record = {"start_within_s": within_s, "expected_duration_s": job_s,
              "planned_start": plan.best.start.isoformat(),
              "intensity_now_g_per_kwh": plan.now_window.mean_g_per_kwh,
              "intensity_planned_g_per_kwh": plan.best.mean_g_per_kwh,
              "source": plan.outlook.source, "dataset": plan.outlook.dataset,
              "basis": "estimated", "waited_s": 0.0, "how": "no wait"}
    if plan.wait_s <= 0:
        if not config.quiet:
            print(f"wattprint: now is the cleanest start within {args.start_within} "
                  f"({plan.best.mean_g_per_kwh:.0f} gCO2e/kWh, {plan.outlook.source}); "
                  "starting", file=sys.stderr)
        return record
    head = (f"wattprint: waiting for the cleanest start, {plan.best.start:%a %H:%M} UTC: "
            f"{plan.best.mean_g_per_kwh:.0f} instead of {plan.now_window.mean_g_per_kwh:.0f} "
            f"gCO2e/kWh ({plan.saving_pct:.0f} % cleaner, {plan.outlook.source})")
    tty = sys.stderr.isatty() and not config.quiet
    start_now = threading.Event()
    stop_watch = threading.Event()
    width = 0

    def tick(remaining_s: float) -> None:
        nonlocal width
        line = (f"  starts in {_clock(remaining_s)} — Enter starts now, Ctrl-C cancels "
                "(the command is not run)")
        width = max(width, len(line))
        sys.stderr.write("\r" + line.ljust(width))
        sys.stderr.flush()

    previous = signal.signal(signal.SIGUSR1, lambda *_: start_now.set())
    try:
        if tty and sys.stdin.isatty():
            threading.Thread(target=_watch_enter, args=(start_now, stop_watch), daemon=True,
                             name="wattprint-enter").start()
        if not config.quiet:
            print(head + ("" if tty else f"; starts in {format_duration(plan.wait_s)} "
                          f"(kill -USR1 {_pid()} starts now, Ctrl-C cancels)"),
                  file=sys.stderr, flush=True)
        result = _wait.wait(plan.wait_s, start_now=start_now, on_tick=tick if tty else None)
    except KeyboardInterrupt:
        if tty:
            sys.stderr.write("\n")
        print("wattprint: cancelled while waiting for the start window; the command was "
              "not run", file=sys.stderr)
        return None
    finally:
        stop_watch.set()
        signal.signal(signal.SIGUSR1, previous)
    if tty:
        sys.stderr.write("\r" + " " * width + "\r")
    if not config.quiet:
        how = "starting now, as asked" if result.how == "started_now" else "window reached"
        print(f"wattprint: {how} after {format_duration(result.waited_s)}", file=sys.stderr)
    record.update(waited_s=result.waited_s, how=result.how)
    return record


def _pid() -> int:
    import os

    return os.getpid()


def _clock(seconds: float) -> str:
    s = int(seconds + 0.999)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
