"""Hugging Face Transformers: :class:`WattprintTrainerCallback` for ``Trainer``.

    from wattprint.integrations.transformers import WattprintTrainerCallback

    trainer = Trainer(model, args, train_dataset=train, eval_dataset=val,
                      callbacks=[WattprintTrainerCallback(ledger=True, write_model_card=True)])
    trainer.train()                   # one wattprint run: phases train and validation
    trainer.predict(test)             # another: phase test

Phases: ``train``; ``validation`` for ``evaluate()`` (``metric_key_prefix="eval"``; other
prefixes give their own phase); ``test`` for ``predict()``. Evaluation inside training
pauses ``train``. Counted: optimizer steps (``state.global_step``) in training, one step
per prediction batch in evaluation, and samples and tokens of every batch the model sees
(read from the model's inputs by a forward pre-hook: samples are the first dimension of
``input_ids`` or the main input, tokens the sum of ``attention_mask``, else
``input_ids.numel()``; when the Trainer counts tokens itself —
``include_num_input_tokens_seen`` — its count is used for training).

Metrics (names in :mod:`wattprint.integrations.metrics`) are added to the Trainer's logs,
so every ``report_to`` integration (MLflow, W&B, TensorBoard…) receives them: the callback
moves itself to the front of the Trainer's callbacks when the Trainer is built (and again
when training begins), whatever order it was given in. Each training log entry of
``state.log_history`` gets the live figures; an evaluation's phase figures go to the
callbacks with the evaluation's logs and into an entry of their own (never into the
``eval_…`` entry, which ``create_model_card`` turns into table columns); the run stops at
the final log entry (``train_runtime``), which gets the run's final, exact record. With
``report_to`` MLflow or W&B, the report (tags, ``wattprint/…`` artifact files) is attached
to the run that integration logs to.

Progress, forecast and budgets: at each optimizer step the run's progress is
``state.global_step`` of ``state.max_steps``, so ``run.forecast()`` works and the training
log entries get ``forecast/…`` metrics. Budgets are tracker options (``budget_kwh=``,
``on_budget=``…); when one stops the run during ``train()``, the callback sets
``control.should_training_stop`` instead of raising in the training loop, and the run is
recorded ``stopped`` with the reason.

Model card: with ``write_model_card=True`` the ``co2_eq_emissions`` block goes into
``README.md`` in ``args.output_dir`` when ``train()`` ends, and the Trainer's
``create_model_card()`` (which ``push_to_hub()`` calls) keeps it: it rewrites README.md,
then the block that was in it is merged back.

Needs ``pip install 'wattprint[hf]'``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable

from ..tracker import Tracker
from ._batches import samples_in, token_count
from ._carbon import zone_known
from ._require import require
from ._session import SessionViews, TrainingSession

__all__ = ["WattprintTrainerCallback", "eval_phase_name"]

_hf = require("transformers", "hf", feature="WattprintTrainerCallback")
TrainerCallback = _hf.TrainerCallback

log = logging.getLogger("wattprint")

#: Frames of the Trainer that carry the ``metric_key_prefix`` of an evaluation.
_EVAL_FRAMES = ("evaluation_loop", "prediction_loop", "evaluate", "predict")


def eval_phase_name(prefix: str) -> str:
    """The phase of an evaluation with ``metric_key_prefix=prefix``: ``eval`` →
    ``validation`` (``eval_squad`` → ``validation_squad``), anything else as is."""
    prefix = prefix.replace("/", "_") or "eval"
    return "validation" + prefix[4:] if prefix.startswith("eval") else prefix


def _on_stack(kind: type) -> Any:
    """The nearest ``self`` of type ``kind`` on the call stack (the Trainer or its
    CallbackHandler calling an event), or None. The Trainer passes neither to callbacks."""
    frame = sys._getframe(1)
    while frame is not None:
        obj = frame.f_locals.get("self")
        if isinstance(obj, kind):
            return obj
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _report_to_sinks(report_to: Any) -> list[Any]:
    """Report-only sinks riding on the runs of the Trainer's own ``report_to`` MLflow /
    W&B integrations (they log the metrics from the Trainer's logs; the sinks add the
    tags and the report files, and never start a run of their own)."""
    names = [report_to] if isinstance(report_to, str) else list(report_to or ())
    sinks: list[Any] = []
    if "mlflow" in names:
        from .mlflow import MlflowSink

        sinks.append(MlflowSink(live=False, final_metrics=False, create=False))
    if "wandb" in names:
        from .wandb import WandbSink

        sinks.append(WandbSink(live=False, final_metrics=False, create=False))
    return sinks


def _current_eval_prefix() -> str | None:
    """The ``metric_key_prefix`` of the Trainer evaluation on the call stack, or None when
    the model is not being run by ``evaluate()``/``predict()``."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in _EVAL_FRAMES:
            prefix = frame.f_locals.get("metric_key_prefix")
            if isinstance(prefix, str) and isinstance(frame.f_locals.get("self"),
                                                      _hf.Trainer):
                return prefix
        frame = frame.f_back  # type: ignore[assignment]
    return None


class WattprintTrainerCallback(SessionViews, TrainerCallback):  # type: ignore[misc, valid-type]
    """Measures a ``transformers.Trainer``: phases, counts, logs, ledger, model card.

    ``run``: a running tracker to record into (you stop it); else the callback starts a
    run for ``train()`` (and for a standalone ``evaluate()``/``predict()``) with ``name``
    and ``tracker_options`` (``ledger``, ``project``, ``tags``, ``mode``, ``sensors``,
    ``budget_kwh``, ``on_budget``…) and stops it at the end. ``log``: add metrics to
    the Trainer's logs. ``log_to``: ``"mlflow"``/``"wandb"`` (live metrics and the report
    as an artifact). ``carbon``:
    account CO2e at the end (default: when a zone is set). ``write_model_card``:
    ``co2_eq_emissions`` in ``README.md`` of ``model_card_dir`` (default
    ``args.output_dir``) at the end of ``train()``. ``count_samples`` / ``count_tokens``:
    functions of the model's keyword inputs replacing the defaults.
    """

    def __init__(self, run: Tracker | None = None, *, name: str | None = None,
                 log: bool = True, log_to: Iterable[Any] | str | None = None,
                 carbon: bool | None = None, write_model_card: bool = False,
                 model_card_dir: str | None = None, training_type: str = "fine-tuning",
                 zone: str | None = None, pue: float | None = None,
                 count_samples: Callable[[Any], Any] | None = None,
                 count_tokens: Callable[[Any], Any] | None = None,
                 **tracker_options: Any) -> None:
        if carbon is None:
            carbon = write_model_card or zone_known(zone or tracker_options.get("zone"))
        self._session = TrainingSession(
            run, name=name, default_name="transformers", log_to=log_to,
            write_model_card=write_model_card, model_card_dir=model_card_dir,
            training_type=training_type, zone=zone, pue=pue, carbon=carbon,
            tracker_options=tracker_options)
        self.log_metrics = log
        self._count_samples = count_samples or samples_in
        self._count_tokens = count_tokens or token_count
        self._hook: Any = None
        self._hooked: Any = None
        self._armed = True
        self._training = False
        self._trainer_tokens = False
        self._tokens_seen = 0
        self._last_step = 0
        self._eval: str | None = None
        self._standalone_eval = False
        self._pending_tokens: Any = 0
        self._report_to: Any = ()
        self._finished = False

    # -- the forward pre-hook: counts, and where evaluation begins ------------------------
    def _attach(self, model: Any) -> None:
        if model is None or model is self._hooked:
            return
        self._detach()
        self._hook = model.register_forward_pre_hook(self._on_forward, with_kwargs=True)
        self._hooked = model

    def _detach(self) -> None:
        if self._hook is not None:
            self._hook.remove()
        self._hook = self._hooked = None

    def _on_forward(self, module: Any, args: tuple, kwargs: dict) -> None:
        if not module.training and self._eval is None:
            prefix = _current_eval_prefix()
            if prefix is None:
                return  # the model used outside the Trainer: not ours to measure
            self._begin_eval(eval_phase_name(prefix))
        if not self._armed or not self._session.active:
            return
        self._armed = False  # one batch per step: later forwards (generate…) are not batches
        if kwargs:
            inputs = kwargs
        elif args:
            inputs = {getattr(module, "main_input_name", "input_ids"): args[0]}
        else:
            inputs = {}
        samples = self._count_samples(inputs)
        tokens = None
        if not (module.training and self._trainer_tokens):
            tokens = self._count_tokens(inputs)
        if tokens is not None:
            self._pending_tokens = self._pending_tokens + tokens
        if samples:
            self._session.count(samples=samples)

    def _flush_tokens(self) -> None:
        tokens, self._pending_tokens = self._pending_tokens, 0
        tokens = float(tokens.item() if hasattr(tokens, "item") else tokens)
        self._session.count(tokens=tokens)

    def _begin_eval(self, phase: str) -> None:
        if not self._session.active:
            self._session.begin(phase)
            self._standalone_eval = True
        self._flush_tokens()
        self._session.enter(phase)
        self._eval = phase
        self._armed = True

    def _end_eval(self) -> dict[str, float]:
        phase, self._eval = self._eval, None
        if phase is None:
            return {}
        self._flush_tokens()
        self._session.leave(phase)  # closed first: its figures are then the exact ones
        self._armed = True
        return self._session.live_phase(phase)

    def _claim_first(self, args: Any) -> None:
        """Be the first callback, so the ``report_to`` integrations (and every callback
        after this one) see the energy metrics this callback adds to the logs; and bind
        the report to those integrations' runs. Moving within the list being iterated is
        safe: only callbacks already called shift."""
        handler = _on_stack(_hf.trainer_callback.CallbackHandler)
        if handler is not None and handler.callbacks and handler.callbacks[0] is not self \
                and any(cb is self for cb in handler.callbacks):
            handler.callbacks[:] = [self] + [cb for cb in handler.callbacks if cb is not self]
        report_to = getattr(args, "report_to", None) or ()
        if report_to != self._report_to:
            self._report_to = report_to
            self._session.framework_sinks = lambda: _report_to_sinks(report_to)

    # -- Trainer events -------------------------------------------------------------------
    def on_init_end(self, args: Any, state: Any, control: Any, model: Any = None,
                    **kwargs: Any) -> None:
        self._attach(model)
        self._claim_first(args)
        trainer = _on_stack(_hf.Trainer)
        if trainer is not None:  # create_model_card()/push_to_hub() keep the co2 block
            from .model_card import keep_block_through

            keep_block_through(trainer)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kwargs: Any) -> None:
        self._attach(model)
        self._claim_first(args)
        self._finished = False
        self._session.begin("train")
        self._training = True
        self._standalone_eval = False
        self._trainer_tokens = getattr(args, "include_num_input_tokens_seen", "no") not in (
            "no", False, None)
        self._tokens_seen = state.num_input_tokens_seen
        self._last_step = state.global_step
        self._armed = True
        self._session.clean_stop = True  # should_training_stop ends train() cleanly
        self._session.enter("train")
        self._session.live_window()  # starts the first window

    def _count_step(self, state: Any) -> None:
        steps = state.global_step - self._last_step
        self._last_step = state.global_step
        if self._trainer_tokens:
            seen = state.num_input_tokens_seen
            self._session.count(tokens=seen - self._tokens_seen)
            self._tokens_seen = seen
        self._session.count(steps=steps)

    def on_substep_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._armed = True

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._count_step(state)
        max_steps = getattr(state, "max_steps", 0)
        self._session.progress(state.global_step, max_steps if max_steps > 0 else None)
        self._stop_if_asked(control)
        self._armed = True

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._stop_if_asked(control)

    def _stop_if_asked(self, control: Any) -> None:
        """A budget stop taken over during train(): end training cleanly."""
        if self._training and self._session.check_stop():
            control.should_training_stop = True

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._eval is not None:
            self._session.count(steps=1)
        self._armed = True

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None,
               **kwargs: Any) -> None:
        if logs is None or not self._session.active:
            return
        if self._eval is not None and any(k.startswith(_prefix_of(self._eval) + "_")
                                          for k in logs):
            metrics = self._end_eval()
            if metrics and self.log_metrics:
                logs.update(metrics)  # to the callbacks, not into the eval_… history entry
                state.log_history.append({**metrics, "epoch": state.epoch,
                                          "step": state.global_step})
            self._session.log_live(metrics, step=state.global_step)
            return
        if _is_train_summary(logs) and self._training:
            # the last log of train(): the run ends here, so the report_to integrations
            # (which log this entry and may end their runs at on_train_end) get the exact
            # final record, not the last live window
            record = self._finish(args, state, exit_code=0, card=state.is_world_process_zero)
            if record and self.log_metrics:
                logs.update(record)
            return
        self._flush_tokens()
        self._publish(state, logs, self._session.live_window())

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kwargs: Any) -> None:
        self._after_eval(args, state)
        self._stop_if_asked(control)

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None,
                   **kwargs: Any) -> None:
        self._after_eval(args, state)

    def _after_eval(self, args: Any, state: Any) -> None:
        if self._eval is not None:  # predict() logs nothing: record the phase here
            metrics = self._end_eval()
            if metrics and self.log_metrics:
                state.log_history.append({**metrics, "step": state.global_step})
            self._session.log_live(metrics, step=state.global_step)
        if self._standalone_eval and not self._training:
            self._standalone_eval = False
            self._finish(args, state, exit_code=0, card=False)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._finished:  # train() ended without its summary log entry
            self._finish(args, state, exit_code=0, card=state.is_world_process_zero)
        self._training = False
        self._session.clean_stop = False

    def _finish(self, args: Any, state: Any, *, exit_code: int,
                card: bool) -> dict[str, float]:
        if self._training:
            self._finished = True
        if self._eval is not None:
            self._end_eval()
        self._flush_tokens()
        owned = self._session.owned
        record = self._session.finish(
            exit_code=exit_code, step=state.global_step, card=card,
            model_card_dir=self._session.model_card_dir or getattr(args, "output_dir", None))
        if owned and record and self.log_metrics:
            last = state.log_history[-1] if state.log_history else None
            if last is not None and _is_train_summary(last) and card:
                last.update(record)
            else:
                state.log_history.append({**record, "step": state.global_step})
        return record

    def _publish(self, state: Any, logs: dict, metrics: dict[str, float]) -> None:
        if not metrics:
            return
        if self.log_metrics:
            logs.update(metrics)  # seen by the callbacks after this one
            last = state.log_history[-1] if state.log_history else None
            if last is not None and all(last.get(k) == v for k, v in logs.items()
                                        if k not in metrics):
                last.update(metrics)
        self._session.log_live(metrics, step=state.global_step)


def _is_train_summary(logs: dict) -> bool:
    """The log entry ``train()`` writes once at the end (``train_loss``, no ``loss``)."""
    return "train_loss" in logs and "loss" not in logs


def _prefix_of(phase: str) -> str:
    return "eval" + phase[len("validation"):] if phase.startswith("validation") else phase
