"""``wattprint run [options] -- CMD ARGS…``: run a command and measure its process tree.

The command's CPU time counts in full, children that exited before the end included
(they are reaped inside the tracked tree, so their time flows into it).

The wrapped command always wins. wattprint exits with the command's exit status (128 +
signal number when the command died of a signal), whatever happens to the measuring:
signals sent to wattprint (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are forwarded to the command,
which dies with wattprint when wattprint itself is killed (:mod:`._child`); a ledger that
cannot be opened is a warning — the command runs, the run is kept in memory and saved as
a pending run file that the ledger's next open records (``wattprint pending``); an end
of run that cannot be written (disk full) is saved the same way. Only a budget stop
(:data:`EXIT_BUDGET`) and a command that cannot be started change the status.

The run is recorded in the ledger (unless ``--no-ledger``) with the command line, the exit
code and a status: finished (exit 0), failed (non-zero exit) or interrupted (killed by a
signal).

Budgets (``--budget-kwh``, ``--budget-co2e-kg``, ``--budget-cost`` with ``--price-per-kwh``):
with ``--on-budget stop`` (default) the command is sent SIGTERM when the energy used — or,
when the command reports its progress, the forecast at completion — exceeds a budget,
then SIGKILL after ``--grace-s`` seconds; the run is recorded as ``stopped`` with the
reason, and wattprint exits with :data:`EXIT_BUDGET` (3). ``--on-budget warn`` only
prints the warning. The command reports progress with
``wattprint.forecast.report_progress(done, total, unit)`` (a no-op outside
``wattprint run``), which also puts the forecast in the live line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading

from typing import Any, Callable

from .._format import format_energy, format_mass, format_power
from .._printable import printable
from ..errors import UsageError
from ._common import wrapped_command
from ..tracker import Tracker
from ._child import FORWARDED, ChildSupervisor

USES_LEDGER = True

#: Exit status of ``wattprint run`` when a budget stopped the command.
EXIT_BUDGET = 3

__all__ = ["EXIT_BUDGET", "FORWARDED", "add_arguments", "handle"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="a name for the run (default: the command)")
    p.add_argument("--project", help="the project this run belongs to (setting: project)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="a tag for the run (repeatable; added to the 'tags' setting)")
    p.add_argument("--zone", help="electricity grid zone, e.g. FR or US-CAL-CISO (setting: "
                                  "zone; used for carbon accounting)")
    p.add_argument("--mode", choices=("process", "machine"), default=None,
                   help="process: attribute shared devices to the command's process tree "
                        "(default); machine: count whole devices")
    p.add_argument("--rate", "--rate-hz", dest="rate_hz", type=float, default=None,
                   metavar="HZ", help="sampling rate of fast sensors (default 10)")
    p.add_argument("--no-gpu", dest="gpus", action="store_const", const=False, default=None,
                   help="do not probe GPUs")
    p.add_argument("-q", "--quiet", action="store_const", const=True, default=None,
                   help="no live display and no summary")
    p.add_argument("--no-ledger", action="store_true",
                   help="do not record the run in the ledger")
    p.add_argument("--json", metavar="PATH",
                   help="write the full result as JSON to PATH ('-' for stdout)")
    # -- budgets (wattprint.budget) -----------------------------------------------------
    p.add_argument("--budget-kwh", type=float, metavar="KWH",
                   help="energy budget (IT energy, kWh); see --on-budget")
    p.add_argument("--budget-co2e-kg", type=float, metavar="KG",
                   help="CO2e budget (location-based, facility energy), kg")
    p.add_argument("--budget-cost", type=float, metavar="AMOUNT",
                   help="cost budget (facility energy x --price-per-kwh)")
    p.add_argument("--price-per-kwh", type=float, metavar="PRICE",
                   help="electricity price for cost figures and --budget-cost")
    p.add_argument("--currency", default=None, help="currency of the price (default EUR)")
    p.add_argument("--on-budget", choices=("stop", "warn"), default="stop",
                   help="stop (default): SIGTERM the command, then SIGKILL after --grace-s; "
                        "exit status 3, run recorded as stopped. warn: print a warning")
    p.add_argument("--grace-s", type=float, default=10.0, metavar="S",
                   help="seconds between SIGTERM and SIGKILL when a budget stops the "
                        "command (default 10)")
    # -- carbon-aware start (wattprint.reduce.when) ------------------------------------
    p.add_argument("--start-within", metavar="DURATION",
                   help="wait for the cleanest start within this long (12h): a countdown "
                        "on a terminal, Enter (or SIGUSR1) starts now, Ctrl-C cancels "
                        "without running the command; the wait is recorded with the run")
    p.add_argument("--expected-duration", metavar="DURATION", default=None,
                   help="how long the command will run, for --start-within (default 1h)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                   help="the command to run")


def carbon_hook(settings: Any) -> Callable[[float], float | None] | None:
    """A function from energy so far (J) to grams of CO2e (location-based, annual
    intensity of the configured zone, times PUE), for the live display; None when the
    zone cannot be resolved (the final summary then says why)."""
    from ..accounting import account

    try:
        per_kwh = account(3.6e6, zone=settings.zone, pue=settings.pue)
    except Exception:  # noqa: BLE001 - the live line simply goes without carbon
        return None
    g_per_kwh = per_kwh.co2e_location_g.value
    return lambda energy_j: energy_j / 3.6e6 * g_per_kwh


def accounting_summary(result: Any, settings: Any) -> str:
    """Carbon (and water) of the finished run, with where every factor comes from."""
    from datetime import datetime

    from ..accounting import account

    try:
        when = datetime.fromisoformat(result.started_at) if result.started_at else None
        acc = account(result.energy_j, zone=settings.zone, pue=settings.pue, when=when,
                      duration_s=result.duration_s)
    except Exception as err:  # noqa: BLE001 - a bad zone must not hide the energy figures
        return f"  carbon: not computed ({err})"
    basis = "estimated from modelled energy" if result.basis != "measured" else \
        "from measured energy"
    loc = acc.co2e_location_g
    lines = [f"  CO2e (location-based) {format_mass(loc.value)}, {basis}: "
             f"{acc.intensity_location.value:,.0f} g/kWh, {loc.provenance.describe()}"]
    if acc.pue.value != 1.0:
        lines.append(f"  PUE {acc.pue.value:g} ({acc.pue.provenance.describe()})")
    lines.extend(f"  note: {n}" for n in acc.notes if "ZONE" in n)
    return "\n".join(lines)


def _live(tracker: Tracker, stop: threading.Event,
          carbon_g: Callable[[float], float | None] | None = None,
          progress_file: str | None = None) -> None:
    width = 0
    while not stop.wait(1.0):
        if progress_file:
            _read_progress(tracker, progress_file)
        energy_j = tracker.energy_j
        line = (f"wattprint  {tracker.elapsed_s:8.1f} s  {format_power(tracker.power_w):>9}  "
                f"{format_energy(energy_j, digits=4):>10}")
        grams = carbon_g(energy_j) if carbon_g is not None else None
        if grams is not None:
            line += f"  {format_mass(grams, co2e=True):>14}"
        line += _forecast_text(tracker)
        width = max(width, len(line))
        sys.stderr.write("\r" + line.ljust(width))
        sys.stderr.flush()
    if width:
        sys.stderr.write("\r" + " " * width + "\r")
        sys.stderr.flush()


def _check_flags(args: argparse.Namespace) -> None:
    """Budgets, price and grace period checked by their flags' names (docs/inputs.md)."""
    from .. import inputs
    from ._common import check_flags

    check_flags(args, budget_kwh="budget_kwh", budget_co2e_kg="budget_co2e_kg",
                budget_cost="budget_cost", grace_s="grace_s")
    inputs.price_per_kwh("--price-per-kwh", args.price_per_kwh, args.currency)
    inputs.budget_price("--budget-cost", args.budget_cost, "--price-per-kwh",
                        args.price_per_kwh)


def handle(args: argparse.Namespace) -> int:
    cmd = wrapped_command(args.cmd, "run")
    _check_flags(args)
    if args.json and args.json != "-":
        parent = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(parent):
            raise UsageError(f"--json {args.json}: the folder {parent} does not exist")
    from ..config import load_config

    config = load_config(
        {"ledger": getattr(args, "ledger", None), "project": args.project, "zone": args.zone,
         "mode": args.mode, "rate_hz": args.rate_hz, "gpus": args.gpus, "quiet": args.quiet},
        flag_names={"gpus": "--no-gpu", "rate_hz": "--rate"})
    if config.zone:
        from ..accounting.zones import UnknownZoneError, resolve_zone

        try:
            resolve_zone(config.zone)  # an unknown zone stops here, with close matches
        except UnknownZoneError as err:  # ... naming the flag, file or variable it came from
            raise UnknownZoneError(err.query, err.suggestions,
                                   where=config.sources["zone"]) from None
    from ..ledger._query import clean_tags

    tags = clean_tags([*config.tags, *args.tag])
    schedule = None
    if args.start_within:
        from ._start_window import wait_for_window

        schedule = wait_for_window(args, config)
        if schedule is None:  # cancelled: nothing was run
            return 130
    args.schedule = schedule
    with ChildSupervisor() as supervisor:  # signal handlers before anything starts
        return _run(args, cmd, config, tags, supervisor)


def _run(args: argparse.Namespace, cmd: list[str], config: Any, tags: list[str],
         supervisor: ChildSupervisor) -> int:
    settings = {"pue": config.pue} if config.pue is not None else {}
    if getattr(args, "schedule", None):
        settings["start_window"] = args.schedule
    # Track this process's tree: the child is reaped here, so its CPU time (and that of
    # everything it reaped) flows into this process's children_* times.
    stopper = _BudgetStop(args.grace_s)
    tracker = Tracker(args.name or " ".join(cmd)[:200], mode=config.mode,
                      rate_hz=config.rate_hz, gpus=config.gpus,
                      ledger=None if args.no_ledger else config.ledger,
                      project=config.project, tags=tags, zone=config.zone, command=cmd,
                      settings=settings, budget_kwh=args.budget_kwh,
                      budget_co2e_kg=args.budget_co2e_kg, budget_cost=args.budget_cost,
                      on_budget=stopper if args.on_budget == "stop" else _warn_budget,
                      price_per_kwh=args.price_per_kwh, currency=args.currency,
                      job=_launcher_job())
    tracker.start()
    if tracker.ledger_error is not None:  # the reason was logged by the tracker
        print("wattprint: warning: the command runs anyway; pass --no-ledger to run it "
              "without recording", file=sys.stderr)
    if supervisor.pending:  # signalled before the command started: do not start it
        signum = supervisor.pending[0]
        tracker.stop(exit_code=-signum)
        print(f"wattprint: {signal.Signals(signum).name} before the command started; it "
              "was not run", file=sys.stderr)
        return 128 + signum
    progress_file = _progress_path()
    progress_env = {PROGRESS_ENV: progress_file} if progress_file else {}
    try:
        child = supervisor.start(cmd, {**os.environ, **progress_env, **_job_env(tracker)})
    except OSError as err:
        tracker.stop(exit_code=127)
        _unlink(progress_file)
        raise UsageError(f"could not start {cmd[0]!r}: {err.strerror or err}") from err
    stopper.child = child
    live_stop = threading.Event()
    live = _start_live(tracker, live_stop, config, progress_file)
    returncode = supervisor.wait()
    code = returncode if returncode >= 0 else 128 - returncode
    # From here on nothing changes the command's status but a budget stop.
    live_stop.set()
    if live is not None:
        live.join(timeout=5.0)
    stopper.cancel()  # the command has ended: a late budget event stops nothing
    _unlink(progress_file)
    end_reason = None
    if stopper.event is not None:
        code = EXIT_BUDGET
        end_reason = (f"{stopper.event.message}; wattprint sent SIGTERM"
                      + (" and SIGKILL" if stopper.killed else ""))
    try:
        result = tracker.stop(exit_code=returncode, end_reason=end_reason)
        _report(args, config, tracker, result, stopped=stopper.event is not None)
    except Exception as err:  # noqa: BLE001 - the command's status wins over any report
        print(f"wattprint: warning: the run's report failed ({type(err).__name__}: "
              f"{printable(err)}); the command's exit status is kept", file=sys.stderr)
    _wait_for_push()
    return code


def _wait_for_push() -> None:
    """The recorded run was handed to a background push (when a server is configured):
    wait for it a few seconds at most, here rather than at exit so that its one line of
    failure follows the summary. The exit status stays the command's."""
    if "wattprint.push._auto" not in sys.modules:
        return
    try:
        from ..push._auto import EXIT_WAIT_S, wait

        wait(EXIT_WAIT_S)
    except Exception:  # noqa: BLE001 - the outbox keeps the run
        pass


def _start_live(tracker: Tracker, stop: threading.Event, config: Any,
                progress_file: str | None) -> threading.Thread | None:
    """The live line on a terminal, else a thread that only follows the command's
    progress (forecast budgets); None when no thread can be started. Its CPU counts in
    the run's ``overhead_cpu_s``, with the tracker's own threads."""
    if not config.quiet and sys.stderr.isatty():
        target, name, extra = _live, "wattprint-live", (carbon_hook(config), progress_file)
    else:
        target, name, extra = _follow_progress, "wattprint-progress", (progress_file,)
    try:
        return tracker.start_thread(target, name, tracker, stop, *extra)
    except Exception as err:  # noqa: BLE001 - the command runs on without it
        print(f"wattprint: warning: no live display ({err})", file=sys.stderr)
        return None


def _report(args: argparse.Namespace, config: Any, tracker: Tracker, result: Any, *,
            stopped: bool) -> None:
    if args.json:
        text = json.dumps(result.to_dict(), indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            try:
                with open(args.json, "w") as fh:
                    fh.write(text + "\n")
            except OSError as err:
                print(f"wattprint: warning: could not write --json {args.json}: "
                      f"{err.strerror or err}", file=sys.stderr)
    if not config.quiet:
        print(_printable_lines(result.summary()), file=sys.stderr)
        print(_printable_lines(accounting_summary(result, config)), file=sys.stderr)
        job_text = _job_summary(tracker, None if args.no_ledger else config.ledger)
        if job_text:
            print(_printable_lines(job_text), file=sys.stderr)
    if stopped:
        print(f"wattprint: stopped: {printable(result.end_reason)}", file=sys.stderr)


def _printable_lines(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))


def _unlink(path: str | None) -> None:
    try:
        if path:
            os.unlink(path)
    except OSError:
        pass


# -- distributed jobs ----------------------------------------------------------------------
def _launcher_job() -> Any:
    """``wattprint run`` around a launcher (torchrun, mpirun, a script starting ranks) is
    the job's launcher part: the ranks that track themselves join its job and are left
    out of its process tree, so nothing is counted twice. Inside a job already (``srun
    wattprint run -- …``) it is that job's rank instead (detected as usual)."""
    from ..distributed import JobIdentity, detect_job, host_id
    from ..ledger._ids import new_run_id

    try:
        if detect_job(ray=False) is not None:
            return None
    except UsageError:
        return None
    return JobIdentity(engine="wattprint", job_id=f"wattprint:{new_run_id()}",
                       host_id=host_id(), launcher=True)


def _job_env(tracker: Tracker) -> dict[str, str]:
    job = tracker.job
    if job is None or not job.launcher:
        return {}
    return {"WATTPRINT_LAUNCHER_JOB": job.job_id}


def _job_summary(tracker: Tracker, ledger_path: str | None) -> str | None:
    """The whole job, when ranks inside the command recorded parts of it."""
    job = tracker.job
    if job is None or ledger_path is None or tracker.run_id is None:
        return None
    from ..ledger import Ledger

    try:
        with Ledger(ledger_path, readonly=True) as ledger:
            result = ledger.job(job.job_id)
    except Exception:  # noqa: BLE001 - the summary above stands
        return None
    if len(result.parts) < 2:
        return None
    from ._show import job_lines

    return "\n".join(job_lines(result))


# -- budgets and progress ----------------------------------------------------------------
#: The variable naming the file a command writes its progress to (see report_progress).
PROGRESS_ENV = "WATTPRINT_PROGRESS_FILE"


def _progress_path() -> str | None:
    """A fresh file for the command's progress; None when none can be made (a full
    temporary folder): the command then runs without progress reports."""
    import tempfile

    try:
        fd, path = tempfile.mkstemp(prefix="wattprint-progress-", suffix=".txt")
    except OSError as err:
        print(f"wattprint: warning: no progress file ({err.strerror or err}); forecasts "
              "from the command's progress are off", file=sys.stderr)
        return None
    os.close(fd)
    return path


def _read_progress(tracker: Tracker, path: str) -> None:
    """Feed the tracker the last progress the command wrote (``unit done total``)."""
    try:
        with open(path) as fh:
            parts = fh.read().split()
        if len(parts) != 3:
            return
        unit, done, total = parts[0], float(parts[1]), float(parts[2])
        tracker.progress(total=total, **{unit: done})
    except Exception:  # noqa: BLE001 - a garbled file is skipped; the next write fixes it
        return


def _follow_progress(tracker: Tracker, stop: threading.Event, path: str | None) -> None:
    while path and not stop.wait(1.0):
        _read_progress(tracker, path)


def _forecast_text(tracker: Tracker) -> str:
    try:
        f = tracker.forecast()
    except Exception:  # noqa: BLE001 - the live line goes without a forecast
        return ""
    return f"  {f.short()}" if f is not None else ""


def _warn_budget(event: Any) -> None:
    sys.stderr.write(f"\nwattprint: warning: {event.message}\n")
    sys.stderr.flush()


_warn_budget.label = "warn"  # type: ignore[attr-defined] # recorded as the budget's action


class _BudgetStop:
    """``on_budget`` for ``wattprint run``: SIGTERM to the command at the first exceeded
    budget, SIGKILL to its whole tree after ``grace_s`` if it is still alive."""

    label = "stop"  # recorded as the budget's action

    def __init__(self, grace_s: float) -> None:
        self.grace_s = max(float(grace_s), 0.0)
        self.child: subprocess.Popen | None = None
        self.event: Any = None
        self.killed = False
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, event: Any) -> None:
        if self.event is not None or self.child is None or self._closed:
            if self._closed:
                _warn_budget(event)
            return
        self.event = event
        sys.stderr.write(f"\nwattprint: {event.message}; stopping the command (SIGTERM)\n")
        sys.stderr.flush()
        try:
            self.child.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        self._timer = threading.Timer(self.grace_s, self._kill)
        self._timer.daemon = True
        self._timer.start()

    def _kill(self) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        import psutil

        try:
            procs = psutil.Process(child.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            procs = []
        self.killed = True
        for proc in [*procs]:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            child.kill()
        except ProcessLookupError:
            pass

    def cancel(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
