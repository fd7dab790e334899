"""PyTorch Lightning: :class:`WattprintCallback`, one line in the Trainer.

    from wattprint.integrations.lightning import WattprintCallback

    trainer = L.Trainer(callbacks=[WattprintCallback(ledger=True, project="mnist")])
    trainer.fit(model, train_loader, val_loader)     # one wattprint run: "lightning-fit"
    trainer.test(model, test_loader)                 # another: "lightning-test"

Phases ``train``, ``validation``, ``test`` and ``predict`` (and ``sanity_check``) are
flat: validation inside an epoch pauses ``train``. Optimizer steps, samples (the batch's
first dimension) and tokens (``input_ids`` batches: the attention mask's sum) are counted
for you; ``count_samples=`` / ``count_tokens=`` take your own functions of the batch.
Energy metrics go through ``LightningModule.log`` to the Trainer's loggers (names in
:mod:`wattprint.integrations.metrics`) and the final record of the run to every logger at
the end of the stage.

Progress, forecast and budgets: after each optimizer step the run's progress is
``trainer.global_step`` of ``trainer.estimated_stepping_batches`` (when finite), so
``run.forecast()`` works and ``forecast/…`` metrics are logged with the live figures.
Budgets are tracker options (``budget_kwh=``, ``budget_co2e_kg=``, ``budget_cost=``,
``on_budget=``…); when one stops the run during ``fit``, the callback sets
``trainer.should_stop`` instead of raising in the training loop, and the run is recorded
``stopped`` with the reason.

Without ``run=``, the callback starts a run at each ``fit``/``validate``/``test``/
``predict`` and stops it at the end (``callback.result``, ``callback.results``); with
``run=`` (a running tracker of yours) everything goes into that one run, which you stop.
Works with ``lightning`` (``import lightning.pytorch``) and, when only that is installed,
``pytorch_lightning``; :data:`PLWattprintCallback` is the ``pytorch_lightning`` flavour
when both are. Needs ``pip install 'wattprint[lightning]'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable, Iterable

from ..tracker import Tracker
from ._batches import BatchCounter
from ._carbon import zone_known
from ._require import require
from ._session import SessionViews, TrainingSession

__all__ = ["WattprintCallback"]  # and PLWattprintCallback, built on first access


def _import_lightning() -> ModuleType:
    try:
        return importlib.import_module("lightning.pytorch")
    except ImportError as err:
        if err.name not in ("lightning", "lightning.pytorch"):
            raise
    try:
        return importlib.import_module("pytorch_lightning")
    except ImportError:
        return require("lightning.pytorch", "lightning", feature="WattprintCallback")


class _WattprintHooks(SessionViews):
    """The hooks; mixed into each Lightning flavour's ``Callback``."""

    def __init__(self, run: Tracker | None = None, *, name: str | None = None,
                 log: bool = True, log_every_n_steps: int | None = None,
                 log_to: Iterable[Any] | str | None = None, carbon: bool | None = None,
                 write_model_card: bool = False, model_card_dir: str | None = None,
                 training_type: str = "fine-tuning", zone: str | None = None,
                 pue: float | None = None,
                 count_samples: Callable[[Any], Any] | None = None,
                 count_tokens: Callable[[Any], Any] | None = None,
                 **tracker_options: Any) -> None:
        """``run``: a running tracker to record into (else one run per Trainer stage,
        created with ``name`` and ``tracker_options``: ``ledger``, ``project``, ``tags``,
        ``mode``, ``sensors``, ``budget_kwh``, ``on_budget``…). ``log``: log metrics
        through ``LightningModule.log`` and
        the loggers. ``log_every_n_steps``: window of ``energy/step_j`` (default: the
        Trainer's). ``log_to``: ``"mlflow"``/``"wandb"`` get the report as an artifact
        (bound to the Trainer's MLFlowLogger / WandbLogger when there is one). ``carbon``:
        account CO2e at the end (default: when a zone is set). ``write_model_card``:
        ``co2_eq_emissions`` in ``README.md`` of ``model_card_dir`` (default: the
        checkpoint folder) after ``fit``."""
        super().__init__()
        if carbon is None:
            carbon = write_model_card or zone_known(zone or tracker_options.get("zone"))
        self._session = TrainingSession(
            run, name=name, default_name="lightning", log_to=log_to,
            write_model_card=write_model_card, model_card_dir=model_card_dir,
            training_type=training_type, zone=zone, pue=pue, carbon=carbon,
            tracker_options=tracker_options)
        self.log_metrics = log
        self.log_every_n_steps = log_every_n_steps
        self._counter = BatchCounter(count_samples, count_tokens)
        self._last_global_step = 0
        self._steps_since_window = 0.0
        self._window: dict[str, float] = {}
        self._total_steps: float | None = None
        self._stage = "fit"
        self._logged = StageTotals()

    # -- helpers -------------------------------------------------------------------------
    def _flush_counts(self, steps: float = 0.0) -> None:
        counts = self._counter.flush()
        self._session.count(steps=steps, **counts)

    def _enter(self, name: str) -> None:
        self._flush_counts()
        self._session.enter(name)

    def _leave(self, name: str) -> None:
        self._flush_counts()
        self._session.leave(name)

    def _log(self, pl_module: Any, metrics: dict[str, float], *, on_step: bool,
             to_sinks: bool = True) -> None:
        if self.log_metrics and metrics:
            if on_step or not _distributed(pl_module):
                pl_module.log_dict(metrics, on_step=on_step, on_epoch=not on_step,
                                   logger=True, prog_bar=False, sync_dist=False)
            else:
                # epoch-level values under DDP: reduced across ranks as Lightning expects
                # (no sync_dist warning) - energies, counts and powers add up over the
                # ranks to the job's; ratios are averaged
                for reduce_fx, group in _by_reduction(metrics).items():
                    pl_module.log_dict(group, on_step=False, on_epoch=True, logger=True,
                                       prog_bar=False, sync_dist=True, reduce_fx=reduce_fx)
        if to_sinks and metrics:
            self._session.log_live(metrics, step=getattr(pl_module, "global_step", None))

    def _sinks(self, trainer: Any) -> None:
        """Bind "mlflow"/"wandb" to the Trainer's own logger of that kind, if any."""
        if self._session.sinks is not None:
            return
        extra: list[Any] = []
        for logger in getattr(trainer, "loggers", []):
            kind = type(logger).__name__
            # the loggers get the stage's record (stage_record); the sink adds the report,
            # under a folder per stage: fit and test share the logger's run
            final = not self.log_metrics
            if kind == "MLFlowLogger" and self._session.wants("mlflow"):
                from .mlflow import ARTIFACT_DIR, MlflowSink

                extra.append(MlflowSink(logger.run_id, client=logger.experiment, live=False,
                                        final_metrics=final,
                                        artifact_path=f"{ARTIFACT_DIR}/{self._stage}"))
            elif kind == "WandbLogger" and self._session.wants("wandb"):
                from .wandb import WandbSink

                extra.append(WandbSink(logger.experiment, live=False, final_metrics=final))
        self._session.sinks_for(extra)

    # -- stage ----------------------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        stage = str(getattr(stage, "value", stage))
        self._stage = stage
        self._session.begin(stage)
        self._session.clean_stop = stage == "fit"  # should_stop ends fit cleanly
        self._last_global_step = trainer.global_step
        self._steps_since_window = 0.0
        self._window = {}
        self._counter.flush()
        if trainer.is_global_zero:
            self._sinks(trainer)

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._finish(trainer, exit_code=0, stage=str(getattr(stage, "value", stage)))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._finish(trainer, exit_code=-2 if isinstance(exception, KeyboardInterrupt) else 1,
                     stage=None)

    def _finish(self, trainer: Any, *, exit_code: int, stage: str | None) -> None:
        self._flush_counts()
        card_dir = None
        if stage == "fit":
            card_dir = self._session.model_card_dir or _checkpoint_dir(trainer)
        owned = self._session.owned
        record = self._session.finish(
            exit_code=exit_code, step=trainer.global_step, model_card_dir=card_dir,
            card=stage == "fit" and trainer.is_global_zero)
        self._session.clean_stop = False
        if owned and record and self.log_metrics and trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(self._logged.add(logger, self._stage, record),
                                   step=trainer.global_step)

    # -- phases -----------------------------------------------------------------------------
    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        self._enter("sanity_check")

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self._counter.flush()  # sanity batches are not counted as work
        self._session.leave("sanity_check")

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._last_global_step = trainer.global_step
        self._total_steps = _stepping_batches(trainer)
        self._enter("train")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._leave("train")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._counter.add(batch)
        steps = trainer.global_step - self._last_global_step
        self._last_global_step = trainer.global_step
        self._steps_since_window += steps
        every = self.log_every_n_steps or getattr(trainer, "log_every_n_steps", 50) or 50
        fresh = self._steps_since_window >= every or not self._window
        if fresh:
            self._flush_counts(steps)
            self._steps_since_window = 0.0
        elif steps:
            self._session.count(steps=steps)
        if steps:
            self._progress(trainer)
        if fresh:
            self._window = self._session.live_window()
        # logged every batch (Lightning writes them out every log_every_n_steps); the
        # window figures are recomputed every `every` optimizer steps
        self._log(pl_module, self._window, on_step=True, to_sinks=fresh)

    def _progress(self, trainer: Any) -> None:
        """After counting: the step and total for forecasts and budgets; a budget stop
        ends fit through ``trainer.should_stop``."""
        self._session.progress(trainer.global_step, self._total_steps)
        self._stop_if_asked(trainer)

    def _stop_if_asked(self, trainer: Any) -> None:
        if self._session.check_stop() and not trainer.should_stop:
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._flush_counts()
        self._stop_if_asked(trainer)
        self._log(pl_module, self._session.live_phase("train"), on_step=False)

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self._enter("validation")

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        if not trainer.sanity_checking:
            self._counter.add(batch)
            self._session.count(steps=1)
            self._stop_if_asked(trainer)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:  # the batches are done: close, then log
            self._leave("validation")
            self._log(pl_module, self._session.live_phase("validation"), on_step=False)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self._leave("validation")

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._enter("test")

    def on_test_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                          batch_idx: int, dataloader_idx: int = 0) -> None:
        self._counter.add(batch)
        self._session.count(steps=1)

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._leave("test")
        self._log(pl_module, self._session.live_phase("test"), on_step=False)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        self._leave("test")

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self._enter("predict")

    def on_predict_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                             batch_idx: int, dataloader_idx: int = 0) -> None:
        self._counter.add(batch)
        self._session.count(steps=1)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self._leave("predict")


def stage_record(stage: str, record: dict[str, float]) -> dict[str, float]:
    """A stage's final record under stage-separated names: the run's figures get the
    stage (``energy/total_j`` → ``energy/fit/total_j``, ``count/samples`` →
    ``count/fit/samples``); phase figures keep theirs (``energy/train/total_j``), except a
    phase named like its stage (``test``, ``predict``), whose figures the stage's replace."""
    out: dict[str, float] = {}
    for key, value in record.items():
        head, _, rest = key.partition("/")
        if "/" in rest:  # energy/<phase>/…
            if rest.split("/", 1)[0] != stage:
                out[key] = value
        else:
            out[f"{head}/{stage}/{rest}"] = value
    return out


class StageTotals:
    """What each logger was sent, stage by stage: its headline ``energy/total_j`` (and
    ``carbon/co2e_g``) is the sum of the stages logged to it (fit then test into one
    MLflow or W&B run), next to each stage's own ``energy/<stage>/total_j``."""

    def __init__(self) -> None:
        self._by_logger: dict[int, tuple[Any, list[dict[str, float]]]] = {}

    def add(self, logger: Any, stage: str, record: dict[str, float]) -> dict[str, float]:
        """The metrics to send ``logger`` for ``stage``'s ``record``."""
        entry = self._by_logger.get(id(logger))
        if entry is None or entry[0] is not logger:
            entry = (logger, [])
            self._by_logger[id(logger)] = entry
        sent = entry[1]
        sent.append(record)
        out = stage_record(stage, record)
        out["energy/total_j"] = sum(r.get("energy/total_j", 0.0) for r in sent)
        if all("carbon/co2e_g" in r for r in sent):
            out["carbon/co2e_g"] = sum(r["carbon/co2e_g"] for r in sent)
        return out


def _stepping_batches(trainer: Any) -> float | None:
    """The optimizer steps ``fit`` will make, when Lightning can tell (finite)."""
    try:
        total = float(trainer.estimated_stepping_batches)
    except Exception:  # noqa: BLE001 - no total: no forecast, training goes on
        return None
    return total if 0 < total < float("inf") else None


def _distributed(pl_module: Any) -> bool:
    trainer = getattr(pl_module, "_trainer", None)
    try:
        return trainer is not None and trainer.world_size > 1
    except Exception:  # noqa: BLE001
        return False


def _by_reduction(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """Metrics grouped by how ranks combine: ``sum`` for energies, counts and powers,
    ``mean`` for per-unit ratios, intensities and forecasts."""
    out: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        ratio = "/j_per_" in key or key.startswith(("carbon/", "forecast/"))
        out.setdefault("mean" if ratio else "sum", {})[key] = value
    return out


def _checkpoint_dir(trainer: Any) -> str | None:
    ckpt = getattr(trainer, "checkpoint_callback", None)
    path = getattr(ckpt, "dirpath", None)
    return path or getattr(trainer, "default_root_dir", None)


def _build(pl: ModuleType, name: str) -> type:
    return type(name, (_WattprintHooks, pl.Callback), {
        "__doc__": "Measures a Lightning Trainer's energy: phases, counts, logged metrics, "
                   "ledger, model card. See :mod:`wattprint.integrations.lightning`.",
        "__module__": __name__,
        "__init__": _WattprintHooks.__init__,
    })


WattprintCallback = _build(_import_lightning(), "WattprintCallback")


def __getattr__(name: str) -> Any:
    if name == "PLWattprintCallback":
        pl = require("pytorch_lightning", "lightning", feature="PLWattprintCallback")
        cls = WattprintCallback if issubclass(WattprintCallback, pl.Callback) else \
            _build(pl, "PLWattprintCallback")
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
