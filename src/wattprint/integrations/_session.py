"""What the training callbacks share: the run (the callback's own, or one the user
started), flat phase switching, counting, live metrics, the final record, the
experiment-tracker sinks and the model card.

Phases are kept flat: entering ``validation`` while ``train`` is open closes the ``train``
window and leaving ``validation`` opens a new one, so ``train`` never includes the
validation inside it and the phases add up to the run. Inside a phase the user opened
around ``fit()`` they nest under it as usual (``finetune/train``).

Progress and budgets: the callbacks report the framework's step and total
(:meth:`TrainingSession.progress`), so ``run.forecast()`` and forecast budgets work, and
``forecast/…`` metrics join the live figures. While the framework can stop cleanly
(:attr:`TrainingSession.clean_stop`, during training) a budget stop is never raised into
its loop: the session takes it over (``Tracker.accept_stop``) and sets
:attr:`TrainingSession.stopping`, and the callback asks the framework to stop; the run
ends ``stopped`` with the budget's reason.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import inputs
from ..errors import BudgetExceeded, UsageError
from ..result import COUNTER_UNITS, RunResult
from ..tracker import Phase, Tracker
from . import _carbon
from .metrics import forecast_metrics, per_unit, phase_metrics, run_metrics

__all__ = ["TrainingSession", "resolve_sinks"]

log = logging.getLogger("wattprint")
SINK_NAMES = ("mlflow", "wandb")


def resolve_sinks(log_to: Iterable[Any] | str | None, *,
                  run_name: str | None = None) -> list[Any]:
    """Sink objects for ``log_to``: ``"mlflow"``, ``"wandb"``, or objects with
    ``log_metrics(metrics, step)`` and ``log_report(result, metrics, accounting)``.
    ``run_name`` names the MLflow / W&B run a sink starts when none is active."""
    if log_to is None:
        return []
    items = [log_to] if isinstance(log_to, str) else list(log_to)
    _check_log_to(items)
    sinks: list[Any] = []
    for item in items:
        if item == "mlflow":
            from .mlflow import MlflowSink

            sinks.append(MlflowSink(run_name=run_name))
        elif item == "wandb":
            from .wandb import WandbSink

            sinks.append(WandbSink(name=run_name))
        else:
            sinks.append(item)
    return sinks


class _PhaseLive:
    """Live totals of one phase, from the tracker's running energy (updated at each
    sampler tick). Closed windows are replaced by the tracker's exact phase totals
    (:meth:`Tracker.phase_totals`); the final record is always exact."""

    __slots__ = ("energy_j", "counters", "path")

    def __init__(self) -> None:
        self.energy_j = 0.0
        self.counters: dict[str, float] = {}
        self.path: str | None = None  # "train", or "finetune/train" inside a user's phase


class TrainingSession:
    """One callback's view of its run.

    ``run`` is a running :class:`~wattprint.Tracker` the user owns (the session adds
    phases, counts and logs, and never stops it), or None: the session starts its own
    tracker with ``tracker_options`` at :meth:`begin` and stops it at :meth:`finish`.
    """

    def __init__(self, run: Tracker | None, *, name: str | None, default_name: str,
                 log_to: Iterable[Any] | str | None, write_model_card: bool,
                 model_card_dir: str | None, training_type: str, zone: str | None,
                 pue: float | None, carbon: bool, tracker_options: Mapping[str, Any]) -> None:
        if run is not None and not isinstance(run, Tracker):
            raise UsageError(f"run={run!r} must be a wattprint tracker (from wattprint.track() "
                             "or wattprint.start()), or None to let the callback create one")
        if run is not None and (tracker_options or name is not None):
            raise UsageError("tracker options (name, ledger, project, tags, sensors…) apply "
                             "only when the callback creates the run; pass them to "
                             "wattprint.track() instead")
        if run is not None and write_model_card:
            raise UsageError("write_model_card=True needs the callback to own the run; with "
                             "your own run, call wattprint.integrations.write_model_card(dir, "
                             "run.result) after it stops")
        if zone is None and run is not None:
            zone = run.zone
        if zone is None:
            zone = tracker_options.get("zone")
        if write_model_card or carbon:
            _carbon.check_zone(zone)
        inputs.pue("pue", pue)  # now, not in the accounting at the end of a long job
        Tracker(**{"name": name, **tracker_options})  # validate the options now, not at fit()
        self._user_run = run
        self._name = name
        self._default_name = default_name
        self._options = dict(tracker_options)
        self._sinks_spec = log_to
        _check_log_to(self._spec_list())
        self.sinks: list[Any] | None = None
        #: sinks the framework supplies for each run (e.g. the Trainer's ``report_to``)
        self.framework_sinks: Callable[[], list[Any]] | None = None
        self.write_model_card = write_model_card
        self.model_card_dir = model_card_dir
        self.training_type = training_type
        self.zone = zone
        self.pue = pue
        self.carbon = carbon
        self.tracker: Tracker | None = run
        self.owned = False
        self.results: list[RunResult] = []
        #: on global rank 0 of a distributed job: each run's whole-job figures
        self.job_results: list[Any] = []
        self.last_record: dict[str, float] = {}
        self.warnings: list[str] = []
        self._current: Phase | None = None
        self._paused: list[str] = []
        self._live: dict[str, _PhaseLive] = {}
        self._phase_mark_j = 0.0
        self._window: tuple[float, float, float] = (0.0, 0.0, 0.0)
        #: True while the framework can end the work cleanly (set by the callback).
        self.clean_stop = False
        #: True once a budget stop was taken over: the callback asks the framework to stop.
        self.stopping = False
        self._own_total = "total_work" in tracker_options
        self._progress_off = False

    # -- run lifecycle --------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.tracker is not None and self.tracker.running

    def begin(self, stage: str | None = None) -> Tracker:
        """Make sure a run is being measured (start the session's own if needed)."""
        if self.tracker is not None and self.tracker.running:
            return self.tracker
        if self._user_run is not None:
            raise UsageError("the run given to the wattprint callback is not running; use "
                             "`with wattprint.track(...) as run:` around training, or "
                             "run.start() before it")
        name = self._name or (f"{self._default_name}-{stage}" if stage else self._default_name)
        self.tracker = Tracker(name, **self._options).start()
        self.owned = True
        self._live = {}
        self._paused = []
        self._current = None
        self.stopping = False
        self._progress_off = False
        self._window = (self.tracker.elapsed_s, 0.0, 0.0)
        return self.tracker

    def sinks_for(self, extra: Sequence[Any] = ()) -> list[Any]:
        """The experiment-tracker sinks, created on first use (``extra``: sinks the
        framework supplies, e.g. one bound to Lightning's MLFlowLogger)."""
        if not self.acts_for_job:
            return []  # another rank of the job logs and writes, once, with its totals
        if self.sinks is None:
            extra = list(extra)
            if not extra and self.framework_sinks is not None:
                extra = self.framework_sinks()
            self.sinks = extra + resolve_sinks(
                [s for s in self._spec_list() if not any(_same_kind(s, e) for e in extra)],
                run_name=self.tracker.name if self.tracker is not None else None)
        return self.sinks

    def _spec_list(self) -> list[Any]:
        spec = self._sinks_spec
        if not spec:
            return []
        return [spec] if isinstance(spec, str) else list(spec)

    def wants(self, kind: str) -> bool:
        return kind in self._spec_list()

    @property
    def acts_for_job(self) -> bool:
        """False on every process of a distributed job but global rank 0: sinks, model
        cards and final records are written once per job (wattprint.distributed)."""
        job = getattr(self.tracker, "job", None)
        return job is None or job.is_global_zero

    def finish(self, *, exit_code: int | None = 0, step: int | None = None,
               model_card_dir: str | None = None, card: bool = True) -> dict[str, float]:
        """Close this session's phases; stop an owned run and return its final record
        (an owned run's is exact; a user's run gives the live figures so far). ``card``:
        whether this is the end of training, where the model card is written."""
        self.leave_all()
        if self.tracker is None:
            return {}
        if not self.owned:
            record = self.live_record()
            self.last_record = record
            return record
        result = self.tracker.stop(exit_code=exit_code)
        self.owned = False
        self.results.append(result)
        if not self.acts_for_job:
            record = run_metrics(result, None)  # this rank's part; logged by nobody
            self.last_record = record
            return record
        job_result = self.tracker.job_result
        if job_result is not None and self.tracker.job is not None:
            # global rank 0: everything below reports the whole job
            result = job_result.to_result(name=result.name)
            result.run_id = self.results[-1].run_id
            self.job_results.append(job_result)
        accounting = (_carbon.try_account_run(result, zone=self.zone, pue=self.pue,
                                              warnings=self.warnings)
                      if self.carbon else None)
        record = run_metrics(result, accounting)
        self.last_record = record
        for sink in self.sinks_for():
            try:
                sink.log_report(result, record, accounting, step=step)
            except Exception as err:  # noqa: BLE001 - training is over; keep the run
                log.error("wattprint: logging the report to %s failed: %r",
                          type(sink).__name__, err)
                self.warnings.append(f"{type(sink).__name__}: {err!r}")
        self.sinks = None  # the next run (test after fit…) binds its own MLflow / W&B run
        card_dir = model_card_dir or self.model_card_dir
        if self.write_model_card and card and exit_code == 0:
            if card_dir is None:
                self.warnings.append("write_model_card=True but no save directory is known; "
                                     "pass model_card_dir=")
                log.error("wattprint: %s", self.warnings[-1])
            else:
                from .model_card import write_model_card

                try:
                    write_model_card(card_dir, result, training_type=self.training_type,
                                     accounting=accounting, zone=self.zone, pue=self.pue)
                except Exception as err:  # noqa: BLE001
                    log.error("wattprint: writing the model card in %s failed: %r",
                              card_dir, err)
                    self.warnings.append(f"model card: {err!r}")
        return record

    @property
    def result(self) -> RunResult | None:
        return self.results[-1] if self.results else None

    # -- phases ---------------------------------------------------------------------------
    @property
    def phase(self) -> str | None:
        return self._current.name if self._current is not None else None

    def enter(self, name: str) -> None:
        """Open phase ``name``, pausing the phase that is open (it resumes on leave)."""
        if self.tracker is None or not self.tracker.running:
            return
        if self._current is not None:
            if self._current.name == name:
                return
            self._paused.append(self._current.name)
            self._close()
        self._open(name)

    def leave(self, name: str) -> None:
        """Close phase ``name`` if it is open and resume the one it paused."""
        if self._current is None or self._current.name != name:
            return
        self._close()
        if self._paused and self.tracker is not None and self.tracker.running:
            self._open(self._paused.pop())

    def leave_all(self) -> None:
        self._paused.clear()
        if self._current is not None:
            self._close()

    def _open(self, name: str) -> None:
        assert self.tracker is not None
        phase = self.tracker.phase(name)
        self._take_stop()
        try:
            phase.start()
        except BudgetExceeded:  # a stop that came in just now: raised before entering
            if not self.clean_stop:
                raise
            self.stopping = True
            phase.start()
        self._current = phase
        self._live.setdefault(name, _PhaseLive()).path = self._current.path
        self._phase_mark_j = self.tracker.energy_j

    def _close(self) -> None:
        assert self._current is not None and self.tracker is not None
        phase, self._current = self._current, None
        self._live[phase.name].energy_j += max(self.tracker.energy_j - self._phase_mark_j, 0.0)
        if self.tracker.running:  # a stopped tracker has closed it already
            phase.stop()

    # -- counting and live figures --------------------------------------------------------
    def count(self, **units: float | None) -> None:
        clean = {u: float(v) for u, v in units.items() if v}
        if not clean or self.tracker is None or not self.tracker.running:
            return
        self._take_stop()
        try:
            self.tracker.count(**clean)
        except BudgetExceeded:  # counted already; the stop came in just now
            if not self.clean_stop:
                raise
            self.stopping = True
        if self._current is not None:
            counters = self._live[self._current.name].counters
            for unit, value in clean.items():
                counters[unit] = counters.get(unit, 0.0) + value

    # -- progress, forecast and budgets ---------------------------------------------------
    def progress(self, steps: float, total: float | None) -> None:
        """Where training stands: ``steps`` done (absolute) of ``total`` (the framework's
        estimate; None when unknown). A ``total_work`` given to the callback wins; a run
        whose work is counted in another unit is left alone. Cheap: call it per step."""
        tracker = self.tracker
        if self._progress_off or tracker is None or not tracker.running:
            return
        if self._own_total:
            total = None
        elif total is None or not total > 0:
            return
        self._take_stop()
        try:
            tracker.progress(steps=steps, total=total)
        except UsageError as err:  # the user's run counts its work in another unit
            self._progress_off = True
            self.warnings.append(f"training progress not reported: {err}")
            log.warning("wattprint: training progress not reported: %s", err)
        except BudgetExceeded:
            if not self.clean_stop:
                raise
            self.stopping = True

    def _take_stop(self) -> None:
        """Take over a pending budget stop while the framework can end cleanly."""
        tracker = self.tracker
        if self.clean_stop and tracker is not None and tracker.stop_requested \
                and tracker.accept_stop() is not None:
            self.stopping = True

    def check_stop(self) -> bool:
        """Whether the framework should stop now (a budget stop taken over). Cheap."""
        self._take_stop()
        return self.stopping

    def live_forecast(self) -> dict[str, float]:
        """``forecast/…`` of the run now, or {} without a forecast (no total yet)."""
        if self.tracker is None or not self.tracker.running:
            return {}
        try:
            return forecast_metrics(self.tracker.forecast())
        except Exception as err:  # noqa: BLE001 - a live figure must not stop training
            log.warning("wattprint: forecast failed: %r", err)
            return {}

    def live_phase(self, name: str) -> dict[str, float]:
        """``energy/<name>/…`` and ``count/<name>/…`` so far (the open window included)."""
        p = self._live.get(name)
        if p is None or self.tracker is None:
            return {}
        energy, counters = p.energy_j, p.counters
        closed = self.tracker.phase_totals().get(p.path or name)
        if closed is not None:
            energy = closed.energy_j
        if self._current is not None and self._current.name == name:
            energy += max(self.tracker.energy_j - self._phase_mark_j, 0.0)
        elif closed is not None:
            counters = closed.counters
        return phase_metrics(name, energy, counters)

    def live_window(self, steps_unit: str = "steps", phase: str = "train") -> dict[str, float]:
        """Run totals so far, plus ``power/w`` and ``energy/step_j`` over the window since
        the previous call (``power/carried`` 1 when no sampler update came in that
        window and they are the last estimate), and the ``forecast/…`` figures when
        there is a forecast."""
        tracker = self.tracker
        if tracker is None or tracker.elapsed_s <= 0:
            return {}
        now_s, energy_j = tracker.elapsed_s, tracker.energy_j
        steps = self._live.get(phase, _PhaseLive()).counters.get(steps_unit, 0.0)
        t0, e0, s0 = self._window
        out = {"energy/total_j": energy_j, "power/mean_w": energy_j / now_s}
        if energy_j > e0 or not tracker.running:
            self._window = (now_s, energy_j, steps)
            if now_s > t0:
                out["power/w"] = (energy_j - e0) / (now_s - t0)
            if steps > s0:
                out["energy/step_j"] = (energy_j - e0) / (steps - s0)
            out["power/carried"] = 0.0
        else:
            # No sampler update since the window began (CPU models and buffered GPU
            # counters update about once a second): not 0 W, but the last estimate,
            # flagged. The window stays open, so the next update's energy is spread
            # over all of it rather than counted in a window too short.
            power_w = tracker.power_w
            if power_w > 0:
                out["power/w"] = power_w
                if steps > s0:
                    out["energy/step_j"] = power_w * (now_s - t0) / (steps - s0)
                out["power/carried"] = 1.0
        out.update(self.live_forecast())
        return out

    def live_record(self) -> dict[str, float]:
        """Everything known so far, in the final record's names."""
        tracker = self.tracker
        if tracker is None:
            return {}
        counters = {u: v for u, v in tracker.counters.items() if u in COUNTER_UNITS}
        energy_j = tracker.energy_j
        out = {"energy/total_j": energy_j,
               "power/mean_w": energy_j / tracker.elapsed_s if tracker.elapsed_s > 0 else 0.0}
        out.update({f"energy/{k}": v for k, v in per_unit(energy_j, counters).items()})
        out.update({f"count/{u}": float(n) for u, n in counters.items() if n > 0})
        for name in self._live:
            out.update(self.live_phase(name))
        return out

    def log_live(self, metrics: Mapping[str, float], step: int | None) -> None:
        """Send live metrics to the sinks that take them."""
        for sink in self.sinks_for():
            if getattr(sink, "live", True):
                try:
                    sink.log_metrics(dict(metrics), step=step)
                except Exception as err:  # noqa: BLE001 - never stop training for a log
                    log.error("wattprint: logging to %s failed: %r", type(sink).__name__, err)


def _check_log_to(items: list[Any]) -> None:
    """Fail at setup, not at the end of training: unknown names, missing libraries."""
    from ._require import require

    for item in items:
        if item == "mlflow":
            require("mlflow", "mlflow", feature="log_to='mlflow'")
        elif item == "wandb":
            require("wandb", "wandb", feature="log_to='wandb'")
        elif isinstance(item, str):
            raise UsageError(f"log_to={item!r} is not a known experiment tracker; use "
                             f"{' or '.join(map(repr, SINK_NAMES))}, or a sink object")
        elif not (hasattr(item, "log_metrics") and hasattr(item, "log_report")):
            raise UsageError(f"log_to item {item!r} is not a sink: it needs log_metrics() "
                             "and log_report() (see wattprint.integrations.mlflow.MlflowSink)")


def _same_kind(spec: Any, sink: Any) -> bool:
    return isinstance(spec, str) and getattr(sink, "kind", None) == spec


class SessionViews:
    """The public figures both framework callbacks expose, read from their session."""

    _session: TrainingSession

    @property
    def run(self) -> Tracker | None:
        """The tracker being recorded into (the callback's own, or yours)."""
        return self._session.tracker

    @property
    def result(self) -> RunResult | None:
        """The last finished run the callback owned."""
        return self._session.result

    @property
    def results(self) -> list[RunResult]:
        return list(self._session.results)

    @property
    def record(self) -> dict[str, float]:
        """The metrics logged at the end of the last stage."""
        return dict(self._session.last_record)

    @property
    def warnings(self) -> list[str]:
        return list(self._session.warnings)
