"""The public measuring API: ``track()`` as context manager or decorator, ``start()/stop()``,
named nestable phases and work counters.

    with wattprint.track("finetune") as run:
        with run.phase("train"):
            ...
            run.count(tokens=4096, samples=8, steps=1)
    print(run.result.summary())

Pass ``ledger=True`` (the configured ledger), a path or a :class:`wattprint.ledger.Ledger`
to record the run, with ``project=`` and ``tags=``; ``wattprint run`` always records.

Faults inside wattprint (a sensor that dies, a vendor library that misbehaves) are logged
loudly on the ``wattprint`` logger and never raised into the tracked program; misuse of
the API (stop before start, a negative count) raises :class:`~wattprint.errors.UsageError`.

Forecasts and budgets (:mod:`wattprint.forecast`, :mod:`wattprint.budget`): give the total
work (``total_work={"steps": N}`` or ``run.progress(steps=i, total=N)``) and
``run.forecast()`` predicts energy, duration, CO2e and cost at completion;
``budget_kwh=``, ``budget_co2e_kg=``, ``budget_cost=`` with ``on_budget=`` warn, call a
function or stop the run (``BudgetExceeded`` at the next count/progress/phase boundary).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar, overload

from . import inputs
from ._recording import Recording
from .errors import BudgetExceeded, LedgerError, UsageError
from .result import COUNTER_UNITS, DeviceEnergy, PhaseEnergy, RunResult, aggregate
from .sampler import Sampler, SampleSink, Snapshot
from .sensors import Detection, detect
from .sensors.base import Sensor

if TYPE_CHECKING:  # imported when a tracker is made, to keep `import wattprint` light
    from ._proctree import ProcessTree

__all__ = ["Tracker", "Phase", "track", "start"]

log = logging.getLogger("wattprint")
F = TypeVar("F", bound=Callable[..., Any])
MODES = ("process", "machine")


class Phase:
    """A named window of a run. Use as a context manager, or call :meth:`start` and
    :meth:`stop` from callbacks (``on_train_epoch_start`` / ``_end``).

    After :meth:`stop`, :attr:`duration_s` and :attr:`by_device_j` describe the window
    just closed: its seconds and the energy attributed to it per counted sensor, by
    sensor name (``nvml:0``, ``rapl:package-0``…; a nested sensor such as RAPL core is
    left out, as from the totals), so per-device power of one window needs no sampling
    of its own. The run's phase totals (:meth:`Tracker.phase_totals`) sum every window
    of a path by domain."""

    def __init__(self, tracker: "Tracker", name: str, sync: Any = None) -> None:
        self._tracker = tracker
        self.name = name
        self.sync = sync
        self.path: str | None = None
        self.duration_s: float | None = None
        self.by_device_j: dict[str, float] = {}
        self._start: Snapshot | None = None
        self._counters: dict[str, float] = {}

    def start(self) -> "Phase":
        if self._start is not None:
            raise UsageError(f"phase {self.name!r} was already started; use a new "
                             "run.phase(...) for each window")
        self._tracker._enter_phase(self)
        return self

    def stop(self) -> None:
        if self._start is None:
            raise UsageError(f"phase {self.name!r} was stopped before it was started")
        self._tracker._exit_phase(self)

    def __enter__(self) -> "Phase":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if exc[0] is None:  # a pending budget stop surfaces here, never over another error
            self._tracker._outlook.boundary()


class _PhaseTotals:
    __slots__ = ("energy_j", "duration_s", "entries", "by_domain", "counters")

    def __init__(self) -> None:
        self.energy_j = 0.0
        self.duration_s = 0.0
        self.entries = 0
        self.by_domain: dict[str, float] = {}
        self.counters: dict[str, float] = {}


class Tracker:
    """Measures the energy of a block of code, a function or a process tree.

    ``mode="process"`` (default) attributes shared devices to the process tree rooted at
    ``pid`` (default: this process), exited children included; ``mode="machine"`` counts
    whole devices. ``sensors`` replaces detection with your own list (e.g.
    :class:`wattprint.testing.FakeSensor`); the run closes them when it stops, which
    releases a vendor sensor's handles (NVML's) — ``close_sensors=False`` leaves them open
    for another run (closing them is then yours). ``rate_hz`` is the sampling rate of fast
    sensors (counters and polled power).

    Recording in the run ledger is opt-in: ``ledger`` is ``True`` (the configured ledger,
    see :mod:`wattprint.config`), a path, a :class:`wattprint.ledger.Ledger`, or
    ``None``/``False`` (default: not recorded). ``project``, ``tags``, ``zone``,
    ``command`` (default: ``sys.argv``) and ``settings`` (extra settings such as
    ``{"pue": 1.2}``) are recorded with the run. A ledger that fails is logged and never
    stops the tracked program; the run keeps what was already written.

    Forecast and budgets: ``total_work`` (``{"steps": N}``, or later
    ``run.progress(steps=i, total=N)``) enables :meth:`forecast`; ``price_per_kwh`` and
    ``currency`` price it. ``budget_kwh`` (IT energy), ``budget_co2e_kg``, ``budget_cost``
    with ``on_budget`` = ``"stop"`` (default: :class:`~wattprint.errors.BudgetExceeded` at
    the next count/progress/phase boundary, status ``stopped``; a loop that ends itself
    on :attr:`stop_requested` calls :meth:`accept_stop`), ``"warn"`` or a function
    receiving a :class:`wattprint.budget.BudgetEvent`. See :mod:`wattprint.budget`.

    Live figures while running: :attr:`energy_j`, :attr:`power_w`, :attr:`elapsed_s`,
    :attr:`counters` and :meth:`phase_totals` (the closed phase windows so far).

    Telemetry (:mod:`wattprint.telemetry`): ``prometheus_port`` (a port, or
    ``"HOST:PORT"``; 127.0.0.1 by default) serves the run's series at ``/metrics`` while it
    runs; ``prometheus_pushgateway`` (a URL) pushes the final ones at stop; ``otel=True``
    reports them through OpenTelemetry's global MeterProvider (or pass a MeterProvider).

    Distributed jobs (:mod:`wattprint.distributed`): under torchrun, Lightning DDP, Ray
    Train, Slurm or MPI the tracker finds its job from the launcher (``job=None``,
    default; a job id string or a :class:`~wattprint.distributed.JobIdentity` to say it,
    ``False`` to measure this process alone). It then measures only what this rank owns
    (its GPUs, its own share of the host), records its part with the job's id, and on
    global rank 0 :attr:`job_result` is the whole job after :meth:`stop`.
    """

    def __init__(self, name: str | None = None, *, mode: str = "process",
                 pid: int | None = None, sensors: Sequence[Sensor] | None = None,
                 rate_hz: float = 10.0, gpus: bool = True,
                 rapl_root: str = "/sys/class/powercap",
                 sink: SampleSink | None = None,
                 detect_options: dict[str, Any] | None = None,
                 ledger: Any = None, project: str | None = None, tags: Sequence[str] = (),
                 zone: str | None = None, command: Sequence[str] | None = None,
                 settings: Mapping[str, Any] | None = None,
                 total_work: Mapping[str, float] | None = None,
                 budget_kwh: float | None = None, budget_co2e_kg: float | None = None,
                 budget_cost: float | None = None, on_budget: Any = "stop",
                 price_per_kwh: float | None = None, currency: str | None = None,
                 job: Any = None, prometheus_port: Any = None,
                 prometheus_pushgateway: str | None = None, otel: Any = False,
                 close_sensors: bool = True) -> None:
        if mode not in MODES:
            raise UsageError(f"mode={mode!r} is not a tracking mode; use 'process' (the "
                             "tracked process tree) or 'machine' (whole devices)")
        rate_hz = inputs.check("rate_hz", "rate_hz", 10.0 if rate_hz is None else rate_hz)
        if name is not None and not isinstance(name, str):
            raise UsageError(f"name={name!r} must be a string")
        if not (job is None or job is True or job is False or isinstance(job, str)
                or type(job).__name__ == "JobIdentity"):
            raise UsageError(f"job={job!r} is not a job; pass a job id string, a "
                             "wattprint.distributed.JobIdentity, False (not part of a job) "
                             "or nothing (detected from the launcher)")
        if prometheus_port is not None or prometheus_pushgateway is not None or otel:
            from .telemetry._inprocess import check_options

            check_options(prometheus_port, prometheus_pushgateway, otel)
        self._telemetry_options = dict(prometheus_port=prometheus_port,
                                       prometheus_pushgateway=prometheus_pushgateway,
                                       otel=otel)
        self._telemetry: Any = None
        self.name = name
        self.mode = mode
        self.pid = pid
        self._job_option = job
        #: this process's place in a distributed job (detected at start), or None
        self.job: Any = None
        self._registry: Any = None
        self._job_result: Any = None
        self.rate_hz = float(rate_hz)
        self._given_sensors = list(sensors) if sensors is not None else None
        if not close_sensors and sensors is None:
            raise UsageError("close_sensors=False keeps the sensors given with sensors= "
                             "open; without sensors= the run opens and closes its own")
        self._close_sensors = bool(close_sensors)
        self._gpus = gpus
        self._rapl_root = rapl_root
        self._sink = sink
        self._detect_options = dict(detect_options or {})
        self._lock = threading.RLock()
        self._sampler: Sampler | None = None
        self._tree: ProcessTree | None = None
        self.detection: Detection | None = None
        self._started_at: str | None = None
        self._t0: float | None = None
        self._t1: float | None = None
        self._counters: dict[str, float] = {}
        self._phase_stack: list[Phase] = []
        self._phases: dict[str, _PhaseTotals] = {}
        self._warnings: list[str] = []
        self._result: RunResult | None = None
        self._status = "finished"
        self._exit_code: int | None = None
        self._cpu_s: float | None = None
        self._recording = Recording(ledger, project=project, tags=tags, zone=zone,
                                    command=command, settings=settings)
        self.project, self.tags, self.zone = (self._recording.project, self._recording.tags,
                                              self._recording.zone)
        # -- forecast and budgets (wattprint.budget.LiveOutlook) ---------------------------
        pue = self._recording.settings.get("pue")
        if isinstance(pue, (int, float)):
            inputs.pue('settings["pue"]', pue)
        from .budget import Budget, LiveOutlook

        self._outlook = LiveOutlook(
            total_work=dict(total_work) if total_work else None,
            budget=Budget(budget_kwh, budget_co2e_kg, budget_cost, on_budget),
            price_per_kwh=price_per_kwh, currency=currency, zone=zone,
            pue=float(pue) if isinstance(pue, (int, float)) else None)
        self._recording.settings.update(self._outlook.settings())
        self._outlook_options = dict(total_work=total_work, budget_kwh=budget_kwh,
                                     budget_co2e_kg=budget_co2e_kg, budget_cost=budget_cost,
                                     on_budget=on_budget, price_per_kwh=price_per_kwh,
                                     currency=currency)
        self._end_reason: str | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._t0 is not None and self._t1 is None

    def start(self) -> "Tracker":
        """Begin measuring. Raises :class:`UsageError` if already started."""
        with self._lock:
            if self._t0 is not None:
                raise UsageError("this tracker was already started; create a new "
                                 "wattprint.track() for each run")
            from ._proctree import ProcessTree, machine_busy_cpu_s

            released = [s.name for s in self._given_sensors or () if s.released]
            if released:
                raise UsageError(
                    f"sensor {', '.join(released)} was closed when an earlier run stopped "
                    "(a run closes the sensors it is given, releasing their NVML / AMD SMI "
                    "handles), so it would read nothing; give this run new sensors, or "
                    "pass close_sensors=False to the runs that share them and close them "
                    "yourself after the last")
            registry = self._join_job()
            root = os.getpid() if self.pid is None else int(self.pid)
            self._tree = None
            if self.mode == "process":
                self._tree = ProcessTree(
                    self.pid,
                    exclude=(None if registry is None else
                             lambda: registry.peers(exclude=root)),
                    counted=None if registry is None else registry.counted)
            if registry is not None:
                self._register(root)
            sensors = self._own(self._open_sensors())
            share_source = None
            if self._tree is not None:
                tree = self._tree
                share_source = lambda: (tree.cpu_s(), machine_busy_cpu_s())  # noqa: E731
            try:
                self._sampler = Sampler(
                    sensors, rate_hz=self.rate_hz, cpu_share_source=share_source,
                    close_sensors=self._close_sensors)
            except UsageError:
                raise
            self._recording.begin(self)
            self._sampler.sink = self._recording.sink_for(self._sink)
            self._started_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            self._t0 = t0 = time.monotonic()
            threads = self._sampler.threads  # every thread of the run counts its CPU here
            self._recording.start_flushing(self._t0, threads)
            self._outlook.begin(self._outlook_state, self._warnings, self.run_id,
                                lambda: time.monotonic() - t0, threads=threads)
            try:
                self._sampler.start()
            except Exception as err:  # noqa: BLE001 - never kill the user's program
                log.error("wattprint: could not start sampling (%r); this run will report "
                          "no energy", err)
                self._warnings.append(f"sampling could not start: {err!r}")
            self._start_telemetry()
            _running_at_exit(self)
            return self

    def _start_telemetry(self) -> None:
        """Serve / register the run's metrics when asked (wattprint.telemetry)."""
        opts = self._telemetry_options
        if opts["prometheus_port"] is None and opts["prometheus_pushgateway"] is None \
                and not opts["otel"]:
            return
        from .telemetry._inprocess import RunTelemetry

        settings = self._recording.settings
        price = self._outlook_options.get("price_per_kwh")
        currency = self._outlook_options.get("currency")
        if price is None and isinstance(settings.get("price_per_kwh"), (int, float)):
            price, currency = settings["price_per_kwh"], settings.get("currency")
        pue = settings.get("pue")
        self._telemetry = RunTelemetry(
            self, port=opts["prometheus_port"], pushgateway=opts["prometheus_pushgateway"],
            otel=opts["otel"], zone=self.zone, price_per_kwh=price, currency=currency,
            pue=float(pue) if isinstance(pue, (int, float)) else None,
            threads=self._sampler.threads)
        try:
            self._telemetry.start()
        except Exception as err:  # noqa: BLE001 - never kill the user's program
            log.error("wattprint: starting the run's telemetry failed: %r", err)

    # -- distributed jobs (wattprint.distributed) -----------------------------------------
    def _join_job(self) -> Any:
        """Find this process's job; return its registry on this machine, whose other
        ranks the process tree leaves out (None when not in a job). The process is
        announced there by :meth:`_register` once its tree has its starting CPU."""
        from .distributed import as_identity

        try:
            self.job = as_identity(self._job_option)
        except UsageError as err:
            if self._job_option not in (None, True):
                raise
            log.warning("wattprint: %s; measuring this process alone", err)
            self._warnings.append(f"the distributed job could not be identified: {err}")
            return None
        if self.job is None:
            return None
        from .distributed._registry import JobRegistry

        self._registry = JobRegistry(self.job.job_id, self.job.host_id)
        return self._registry

    def _register(self, root: int) -> None:
        """Announce this rank in its job's registry, with the CPU its tree had at start
        (what a launcher's tree above it then leaves to it)."""
        assert self.job is not None and self._registry is not None
        start = self._tree.counted_marks_s[0] if self._tree is not None else None
        try:
            self._registry.register("launcher" if self.job.launcher else str(self.job.rank),
                                    pid=root, cpu_start_s=start)
        except OSError as err:
            log.warning("wattprint: could not register this rank (%s); other ranks below "
                        "this process may be counted twice", err)
            self._warnings.append(f"rank registration failed: {err}")
            self._registry = None

    def _own(self, sensors: list[Sensor]) -> list[Sensor]:
        """In a job, keep what this process measures: its share of the GPUs, and the host
        devices once per machine in machine mode (see wattprint.distributed)."""
        if self.job is None or self._given_sensors is not None:
            return sensors
        from .distributed import owned_gpus

        gpus = [s for s in sensors if s.domain == "gpu"]
        keep_gpu = {id(gpus[i]) for i in owned_gpus(len(gpus), self.job)}
        host_owner = True
        if self.mode == "machine":
            # whole devices: each counted by the one process holding its lock on this
            # machine (a launcher around the ranks starts first and holds them all)
            registry = self._registry
            if registry is not None:
                keep_gpu = {id(g) for g in gpus if id(g) in keep_gpu and registry.claim(g.name)}
            if any(s.domain != "gpu" for s in sensors):
                host_owner = (registry.claim_host() if registry is not None
                              else self.job.local_rank == 0)
        kept, dropped = [], []
        for s in sensors:
            mine = id(s) in keep_gpu if s.domain == "gpu" else host_owner
            (kept if mine else dropped).append(s)
        for s in dropped:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass
        if dropped:
            log.info("wattprint: %s of job %s measures %d device(s); %s measured by other "
                     "ranks", "launcher" if self.job.launcher else f"rank {self.job.rank}",
                     self.job.job_id, len(kept), ", ".join(s.name for s in dropped))
        return kept

    @property
    def job_result(self) -> Any:
        """On global rank 0 of a distributed job, after :meth:`stop`: the whole job's
        :class:`wattprint.distributed.JobResult` (every rank's part gathered at stop);
        None on other ranks, before stop, and outside a job."""
        return self._job_result

    def _finish_job(self) -> None:
        """Withdraw from the machine's job registry and gather the job's parts."""
        if self._registry is not None:
            stop = self._tree.counted_marks_s[1] if self._tree is not None else None
            self._registry.close(cpu_stop_s=stop)
        if self.job is None or self._result is None:
            return
        from .distributed import JobPart
        from .distributed._gather import gather_parts

        part = JobPart.from_result(self._result, self.job, host=_hostname(),
                                  exit_code=self._exit_code)
        try:
            # without a process group the parts meet in the ledger: only if recorded
            self._job_result = gather_parts(
                self.job, part,
                ledger_parts=self._recording.job_parts if self.run_id else None)
        except Exception as err:  # noqa: BLE001 - never fail the user's program
            log.error("wattprint: gathering the job's parts failed: %r", err)

    def start_thread(self, target: Callable[..., Any], name: str,
                     *args: Any) -> threading.Thread:
        """Run ``target(*args)`` on a daemon thread whose CPU counts in the result's
        ``overhead_cpu_s`` with the run's own threads (``wattprint run``'s live line).
        Only while the run is running: join the thread before :meth:`stop`."""
        if self._sampler is None:
            raise UsageError("start_thread() needs a started run; call start() first")
        return self._sampler.threads.start(target, name, *args)

    def _open_sensors(self) -> list[Sensor]:
        if self._given_sensors is not None:
            return self._given_sensors
        try:
            self.detection = detect(mode=self.mode, tree=self._tree, gpus=self._gpus,
                                    rapl_root=self._rapl_root, **self._detect_options)
        except Exception as err:  # noqa: BLE001
            log.error("wattprint: sensor detection failed (%r); run `wattprint doctor`", err)
            self._warnings.append(f"sensor detection failed: {err!r}")
            return []
        sensors = self.detection.sensors
        if not sensors:
            msg = ("no power sensor or model could be used on this machine; energy will be "
                   "0. Run `wattprint doctor` to see why.")
            log.error("wattprint: %s", msg)
            self._warnings.append(msg)
        elif all(s.kind == "modelled" for s in sensors):
            self._warnings.append(
                "no power sensors are readable here: every figure is modelled from "
                "utilisation and reference data (see each device's provenance and the range)")
        return sensors

    def stop(self, *, exit_code: int | None = None,
             end_reason: str | None = None) -> RunResult:
        """Stop measuring and return the :class:`RunResult`. Open phases are closed.

        ``exit_code`` (of the tracked command) sets the status: 0 finished, negative
        (killed by a signal) interrupted, positive failed; it is recorded in the ledger.
        ``end_reason`` says why the caller ended the run itself (``wattprint run`` stopping
        a command over budget); the run's status is then ``stopped``."""
        with self._lock:
            if end_reason is not None and self._result is None:
                self._end_reason = str(end_reason)
            if exit_code is not None and self._result is None:
                self._exit_code = int(exit_code)
                self._status = ("finished" if exit_code == 0 else
                                "interrupted" if exit_code < 0 else "failed")
            if self._t0 is None:
                raise UsageError("stop() was called before start(); call start() first, or "
                                 "use `with wattprint.track(): ...`")
            if self._result is not None:
                return self._result
            _RUNNING.pop(id(self), None)
            self._outlook.end()
            guard = self._outlook.guard
            if self._end_reason is None and guard is not None and guard._raised:
                self._end_reason = guard.stop_event.message  # type: ignore[union-attr]
            if self._end_reason is not None:
                self._status = "stopped"
            while self._phase_stack:
                phase = self._phase_stack[-1]
                self._warnings.append(f"phase {phase.path!r} was still open at stop and "
                                      "was closed")
                self._exit_phase(phase)
            assert self._sampler is not None
            try:
                self._sampler.stop()
            except Exception as err:  # noqa: BLE001
                log.error("wattprint: stopping the sampler failed: %r", err)
                self._warnings.append(f"stopping the sampler failed: {err!r}")
            self._t1 = time.monotonic()
            if guard is not None and not guard.stop_requested:
                guard.check()  # a run that ended over budget says so (warn / callback)
            if self._tree is not None:
                try:
                    self._cpu_s = self._tree.cpu_s()
                except Exception as err:  # noqa: BLE001
                    log.warning("wattprint: could not read the process tree's CPU time: %s",
                                err)
            self._recording.stop_flushing()  # its thread's CPU is final in the result
            self._result = self._build_result()
            self._recording.finish(self._result, exit_code=self._exit_code)
            self._finish_job()
            if self._telemetry is not None:
                try:
                    self._telemetry.finish(self._result)
                except Exception as err:  # noqa: BLE001
                    log.error("wattprint: finishing the run's telemetry failed: %r", err)
            return self._result

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UsageError("the run has no result yet: it is still running or was never "
                             "started; call stop() or leave the `with` block first")
        return self._result

    def __enter__(self) -> "Tracker":
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._status = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            if issubclass(exc_type, BudgetExceeded) and self._end_reason is None:
                self._end_reason = str(exc)
        self.stop()

    def _stop_at_exit(self, exc: BaseException | None) -> None:
        """Stop a run the program never stopped, as the interpreter exits: the final
        reading is taken and the ledger gets the real end instead of a later recovery."""
        with self._lock:
            if self._result is not None:
                return
            if isinstance(exc, KeyboardInterrupt):
                self._status = "interrupted"
                why = "the program was interrupted (KeyboardInterrupt)"
            elif exc is not None:
                self._status = "failed"
                why = f"the program ended with an uncaught {type(exc).__name__}: {exc}"
            else:
                why = "the program ended without calling stop()"
            self._warnings.append(f"{why}; the run was stopped at interpreter exit")
        self.stop()

    def __call__(self, func: F) -> F:
        """Use a tracker's settings as a decorator: each call is measured as its own run."""
        return _decorate(func, self._settings())

    def _settings(self) -> dict[str, Any]:
        return dict(name=self.name, mode=self.mode, pid=self.pid,
                    sensors=self._given_sensors, close_sensors=self._close_sensors,
                    rate_hz=self.rate_hz, gpus=self._gpus, rapl_root=self._rapl_root, sink=self._sink,
                    detect_options=self._detect_options, **self._recording.options(),
                    **self._outlook_options, job=self._job_option,
                    **self._telemetry_options)

    # -- phases and counters --------------------------------------------------------------
    def phase(self, name: str, *, sync: Any = None) -> Phase:
        """A named window of this run; nest them freely ("train" then "eval" inside it).

        ``sync``: wait for the work queued on the accelerator before the window opens and
        closes, so each phase is billed for its own kernels (CUDA runs them
        asynchronously: without it, ``train`` work still running is billed to ``eval``).
        ``None`` (default): on when torch has initialised CUDA in this process, else off;
        ``True`` / ``False``; or a function to call (another framework's synchronize)."""
        if not isinstance(name, str) or not name or "/" in name:
            raise UsageError(f"phase name {name!r} is not valid; use a non-empty string "
                             "without '/' (nesting is expressed by nesting the blocks)")
        if not (sync is None or isinstance(sync, bool) or callable(sync)):
            raise UsageError(f"phase {name!r}: sync={sync!r} must be True, False, None "
                             "(automatic) or a function that waits for the device")
        return Phase(self, name, sync)

    def _snapshot(self) -> Snapshot:
        assert self._sampler is not None
        return self._sampler.snapshot()

    def _enter_phase(self, phase: Phase) -> None:
        self._outlook.boundary()
        _synchronize(phase.sync)  # outside the lock: a long wait blocks no other thread
        with self._lock:
            if not self.running:
                raise UsageError(f"phase {phase.name!r} entered outside a running run; "
                                 "start the run first")
            parent = self._phase_stack[-1].path if self._phase_stack else None
            phase.path = f"{parent}/{phase.name}" if parent else phase.name
            phase._counters = dict(self._counters)
            phase._start = self._snapshot()
            self._phase_stack.append(phase)
            self._phases.setdefault(phase.path, _PhaseTotals())  # report in entry order
        self._outlook.observe(force=True)

    def _exit_phase(self, phase: Phase) -> None:
        _synchronize(phase.sync)
        with self._lock:
            if not self._phase_stack or self._phase_stack[-1] is not phase:
                open_ = self._phase_stack[-1].path if self._phase_stack else "none"
                raise UsageError(f"phase {phase.name!r} stopped out of order; the innermost "
                                 f"open phase is {open_!r}. Stop inner phases first.")
            end = self._snapshot()
            start = phase._start
            assert start is not None and phase.path is not None
            self._phase_stack.pop()
            totals = self._phases.setdefault(phase.path, _PhaseTotals())
            totals.entries += 1
            totals.duration_s += end.time_s - start.time_s
            by_device: dict[str, float] = {}
            for sensor, e0, e1 in zip(self._sampler.sensors if self._sampler else [],
                                      start.attributed_j, end.attributed_j):
                if sensor.nested_in is not None:
                    continue
                delta = max(e1 - e0, 0.0)
                by_device[sensor.name] = delta
                totals.energy_j += delta
                totals.by_domain[sensor.domain] = totals.by_domain.get(sensor.domain, 0.0) + delta
            for unit, value in self._counters.items():
                d = value - phase._counters.get(unit, 0.0)
                if d:
                    totals.counters[unit] = totals.counters.get(unit, 0.0) + d
            phase.duration_s = end.time_s - start.time_s
            phase.by_device_j = by_device
            phase._start = None
        if self.running:
            self._outlook.observe(force=True)

    def count(self, **units: float) -> None:
        """Add work done: ``run.count(tokens=512, samples=4, steps=1)``.

        Gives J/token, J/sample, J/step and J/request for the run and each open phase."""
        bad = sorted(set(units) - set(COUNTER_UNITS))
        if bad:
            raise UsageError(f"unknown counter {', '.join(bad)}; count one of "
                             f"{', '.join(COUNTER_UNITS)}")
        units = {unit: inputs.check("work_count", unit, value) for unit, value in units.items()}
        with self._lock:
            for unit, value in units.items():
                self._counters[unit] = self._counters.get(unit, 0.0) + value
        if self.running:
            self._outlook.counted(units)
            self._outlook.boundary()

    # -- forecast and budgets (the work is in budget.LiveOutlook) ----------------------------
    def progress(self, total: float | None = None, **done: float) -> None:
        """Where the run stands: ``run.progress(steps=1200, total=10_000)`` — the amount
        done so far (absolute, not an increment) of one unit, and its total (once is
        enough; or ``Tracker(total_work={"steps": 10_000})``). Feeds :meth:`forecast`;
        a unit never passed to :meth:`count` also gets its counter (for J/step)."""
        if len(done) != 1:
            raise UsageError("progress() takes one unit of work, e.g. "
                             "run.progress(steps=1200, total=10_000)")
        (unit, value), = done.items()
        if unit not in COUNTER_UNITS:
            raise UsageError(f"unknown unit of work {unit!r}; use one of "
                             f"{', '.join(COUNTER_UNITS)}")
        value = inputs.check("work_count", unit, value)
        if not self.running:
            raise UsageError("progress() outside a running run; start the run first")
        with self._lock:
            self._outlook.progress(unit, value, total, self._counters)
        self._outlook.boundary()

    def forecast(self) -> Any:
        """The run at completion as predicted now — a :class:`wattprint.forecast.Forecast`
        (energy, duration, CO2e and cost as low / central / high) — or None while the
        total work is unknown or nothing has been done yet."""
        return self._outlook.forecast()

    @property
    def stop_requested(self) -> bool:
        """True once a budget with ``on_budget="stop"`` was exceeded (for loops that want
        to end cleanly without waiting for ``BudgetExceeded``: see :meth:`accept_stop`)."""
        guard = self._outlook.guard
        return guard is not None and guard.stop_requested

    def accept_stop(self) -> Any:
        """Take over a pending budget stop: the caller ends the work itself (a training
        loop asked to finish cleanly) instead of getting
        :class:`~wattprint.errors.BudgetExceeded` at the next count/progress/phase
        boundary. The run still ends with status ``stopped`` and the budget's message as
        its ``end_reason``. Returns the :class:`wattprint.budget.BudgetEvent` that asked
        for the stop, or None (and changes nothing) when no stop is pending."""
        guard = self._outlook.guard
        return guard.accept() if guard is not None else None

    @property
    def budget_events(self) -> list[Any]:
        """Every :class:`wattprint.budget.BudgetEvent` of this run so far."""
        guard = self._outlook.guard
        return list(guard.events) if guard is not None else []

    def _outlook_state(self) -> tuple[float, float, dict[str, float], str | None]:
        try:  # called from the budget thread too: the stack may change under it
            phase = self._phase_stack[-1].path
        except IndexError:
            phase = None
        return self.elapsed_s, self.energy_j, self._counters, phase

    # -- live figures -----------------------------------------------------------------------
    @property
    def elapsed_s(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._t1 or time.monotonic()) - self._t0

    @property
    def energy_j(self) -> float:
        """Energy so far (attributed, counted sensors)."""
        if self._result is not None:
            return self._result.energy_j
        if self._sampler is None:
            return 0.0
        return sum(t.attributed_j + t.pending_j * t.provisional_share
                   for s, t in zip(self._sampler.sensors, self._sampler.totals)
                   if s.nested_in is None)

    @property
    def power_w(self) -> float:
        """Power over the last sampling interval (attributed, counted sensors)."""
        if self._sampler is None or not self.running:
            return 0.0
        return sum(t.power_w for s, t in zip(self._sampler.sensors, self._sampler.totals)
                   if s.nested_in is None)

    @property
    def counters(self) -> dict[str, float]:
        return dict(self._counters)

    # -- ledger (the work is in _recording.Recording) ----------------------------------------
    @property
    def run_id(self) -> str | None:
        """The run's id in the ledger, or None when it is not recorded."""
        return self._recording.run_id

    @property
    def ledger_error(self) -> LedgerError | None:
        """Why recording in the ledger failed, if it did."""
        return self._recording.error

    @property
    def sensors(self) -> list[Sensor]:
        """The sensors measuring this run (empty before :meth:`start`)."""
        return list(self._sampler.sensors) if self._sampler is not None else []

    @property
    def gpus(self) -> bool:
        """Whether GPUs are probed (the ``gpus`` option)."""
        return bool(self._gpus)

    def add_warning(self, text: str) -> None:
        """Carry ``text`` in the run's warnings (the result and the ledger)."""
        with self._lock:
            if self._result is not None:
                self._result.warnings.append(text)
            else:
                self._warnings.append(text)

    def work_so_far(self) -> tuple[dict[str, float], list[PhaseEnergy]] | None:
        """Counters and closed-phase totals so far (None when the tracker is busy):
        what the ledger flushes during the run so an interrupted run keeps its J/token."""
        if not self._lock.acquire(timeout=0.05):
            return None
        try:
            return dict(self._counters), self._closed_phases()
        finally:
            self._lock.release()

    # -- phase totals ---------------------------------------------------------------------
    def phase_totals(self) -> dict[str, PhaseEnergy]:
        """The totals of the phase windows closed so far, by phase path (``"train"``,
        ``"finetune/eval"``), in the order the phases were first entered: energy,
        duration, entries, energy by domain and the counts made inside them — the same
        :class:`~wattprint.result.PhaseEnergy` as ``run.result.phases``. A window still
        open is not included until it closes (a phase never closed yet is absent); after
        :meth:`stop` they are the final totals. Safe to call from any thread."""
        with self._lock:
            return {p.name: p for p in self._closed_phases()}

    def _closed_phases(self) -> list[PhaseEnergy]:
        """Totals of the closed phase windows (call with the lock held)."""
        return [PhaseEnergy(name=path, energy_j=p.energy_j, duration_s=p.duration_s,
                            entries=p.entries, by_domain=dict(p.by_domain),
                            counters=dict(p.counters))
                for path, p in self._phases.items() if p.entries]

    # -- result -------------------------------------------------------------------------
    def _build_result(self) -> RunResult:
        assert self._t0 is not None and self._t1 is not None and self._sampler is not None
        duration = self._t1 - self._t0
        devices: list[DeviceEnergy] = []
        warnings = list(self._warnings)
        for sensor, t in zip(self._sampler.sensors, self._sampler.totals):
            counted = sensor.nested_in is None
            try:
                prov = dict(sensor.provenance())
            except Exception as err:  # noqa: BLE001
                prov = {"kind": sensor.kind, "error": repr(err)}
            gaps = [[g[0] - self._t0, (g[1] - self._t0) if g[1] is not None else None]
                    for g in t.gaps]
            devices.append(DeviceEnergy(
                name=sensor.name, domain=sensor.domain, kind=sensor.kind, device=sensor.device,
                energy_j=t.attributed_j, device_energy_j=t.energy_j,
                mean_power_w=t.attributed_j / duration if duration > 0 else 0.0,
                peak_power_w=t.peak_power_w, samples=t.samples, counted=counted,
                bridged_j=t.bridged_j, gaps=gaps, errors=t.errors, last_error=t.last_error,
                replaced_by=t.replaced_by, provenance=prov))
            if t.errors:
                warnings.append(f"sensor {sensor.name} failed {t.errors} time(s) "
                                f"(last: {t.last_error}); {t.bridged_j:.1f} J bridged")
        totals = aggregate(devices)
        phases = self._closed_phases()  # all closed: stop() closed the open ones
        return RunResult(name=self.name, mode=self.mode, started_at=self._started_at or "",
                         duration_s=duration, energy_j=totals.energy_j,
                         energy_low_j=totals.energy_low_j, energy_high_j=totals.energy_high_j,
                         by_domain=totals.by_domain, devices=devices,
                         phases=phases, counters=dict(self._counters),
                         peak_power_w=self._sampler.peak_power_w, status=self._status,
                         warnings=warnings, cpu_s=self._cpu_s, end_reason=self._end_reason,
                         overhead_cpu_s=self._sampler.threads.cpu_s())


#: Trackers started in this process and not stopped yet, stopped at interpreter exit.
_RUNNING: dict[int, tuple[int, Tracker]] = {}
_RUNNING_LOCK = threading.Lock()


def _running_at_exit(tracker: Tracker) -> None:
    with _RUNNING_LOCK:
        if not _RUNNING:
            atexit.unregister(_stop_at_exit)  # registered once, whatever the history
            atexit.register(_stop_at_exit)
        _RUNNING[id(tracker)] = (os.getpid(), tracker)


def _stop_at_exit() -> None:
    """Stop the trackers this process left running (an exception the program did not
    catch, a missing ``stop()``, a ``transformers.Trainer.train()`` that raised). Runs
    before the daemon sampler threads are torn down, so the final reading is real."""
    exc: BaseException | None = None
    if not hasattr(sys, "ps1"):  # an interactive session keeps stale exceptions here
        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    with _RUNNING_LOCK:
        running = [t for pid, t in _RUNNING.values() if pid == os.getpid()]  # not a fork's
        _RUNNING.clear()
    for tracker in running:
        try:
            tracker._stop_at_exit(exc)
        except Exception as err:  # noqa: BLE001 - the program is exiting: log, go on
            log.error("wattprint: could not stop run %r at exit: %r", tracker.name, err)


def _synchronize(sync: Any) -> None:
    """Wait for queued accelerator work at a phase boundary (see :meth:`Tracker.phase`).
    Never raises: a failing synchronize is logged and the boundary taken as it is."""
    if sync is False:
        return
    try:
        if callable(sync) and sync is not True:
            sync()
            return
        torch = sys.modules.get("torch")  # never imported here
        if torch is None:
            return
        cuda = getattr(torch, "cuda", None)
        if cuda is not None and cuda.is_initialized():
            cuda.synchronize()
    except Exception as err:  # noqa: BLE001 - the user's program goes on
        log.warning("wattprint: synchronising the device at a phase boundary failed: %r",
                    err)


def _hostname() -> str:
    import socket

    return socket.gethostname() or "localhost"


def _decorate(func: F, settings: dict[str, Any]) -> F:
    if settings.get("name") is None:
        settings = {**settings, "name": getattr(func, "__qualname__", None)}

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracker = Tracker(**settings)
        with tracker:
            try:
                return func(*args, **kwargs)
            finally:
                wrapper.last_tracker = tracker  # type: ignore[attr-defined]

    wrapper.last_tracker = None  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@overload
def track(func: F, /) -> F: ...
@overload
def track(name: str | None = None, /, **options: Any) -> Tracker: ...


def track(name_or_func: Any = None, /, **options: Any) -> Any:
    """Measure a block or a function.

    ``with track("name") as run: ...`` measures the block; ``@track`` or
    ``@track("name", mode="machine")`` measures each call of the function (the last
    call's tracker is ``func.last_tracker``). Options are those of :class:`Tracker`.
    """
    if callable(name_or_func) and not isinstance(name_or_func, str):
        return _decorate(name_or_func, Tracker(**options)._settings())
    return Tracker(name_or_func, **options)


def start(name: str | None = None, /, **options: Any) -> Tracker:
    """Start measuring now; call ``.stop()`` on the returned tracker to get the result."""
    return Tracker(name, **options).start()
