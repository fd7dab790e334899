"""The GPU power-limit optimiser (:mod:`wattprint.optimize`) as a Lightning callback and a
Transformers ``TrainerCallback``: profile limits over the first steps of ``fit`` /
``train()``, keep the best, restore the original at the end.

    from wattprint.integrations.power import PowerLimitCallback          # Lightning
    trainer = L.Trainer(callbacks=[PowerLimitCallback(max_slowdown=0.05)])

    from wattprint.integrations.power import PowerLimitTrainerCallback   # Transformers
    trainer = Trainer(..., callbacks=[PowerLimitTrainerCallback(eta=0.5)])

Options are :class:`~wattprint.optimize.PowerLimitOptimizer`'s (``eta``,
``max_slowdown``, ``gpus``, ``limits_w``, ``warmup_steps``…); ``callback.report`` is its
report. One step is one training batch (Lightning) or one optimizer step (Transformers).
The original limit comes back at the end of training, on an exception (Lightning's
``on_exception``; for Transformers, the ``atexit`` and SIGTERM guard), and on Ctrl-C. In a
distributed job each rank tunes its own GPU (``LOCAL_RANK``). Needs the ``lightning`` or
``hf`` extra.
"""

from __future__ import annotations

from typing import Any

from ..optimize import PowerLimitOptimizer, PowerReport
from ._require import require

__all__ = ["PowerLimitCallback", "PowerLimitTrainerCallback"]  # built on first access


class _PowerHooks:
    def __init__(self, optimizer: PowerLimitOptimizer | None = None, **options: Any) -> None:
        """``optimizer``: one you built (tests pass one on a FakeNVML); else one is made
        from ``options`` when training starts."""
        self._given = optimizer
        self._options = options
        self.optimizer: PowerLimitOptimizer | None = None

    @property
    def report(self) -> PowerReport | None:
        return self.optimizer.report if self.optimizer is not None else None

    def _begin(self) -> None:
        if self.optimizer is None:
            self.optimizer = self._given or PowerLimitOptimizer(**self._options)
            self.optimizer.start()

    def _step(self) -> None:
        if self.optimizer is not None:
            self.optimizer.step()

    def _end(self) -> None:
        if self.optimizer is not None:
            self.optimizer.close()


def _lightning_class() -> type:
    from .lightning import _import_lightning

    pl = _import_lightning()

    class PowerLimitCallback(_PowerHooks, pl.Callback):  # type: ignore[misc, name-defined]
        """Lightning: see :mod:`wattprint.integrations.power`."""

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            self._begin()

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any,
                               batch: Any, batch_idx: int) -> None:
            self._step()

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            self._end()

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            self._end()

    PowerLimitCallback.__module__ = __name__
    return PowerLimitCallback


def _transformers_class() -> type:
    hf = require("transformers", "hf", feature="PowerLimitTrainerCallback")

    class PowerLimitTrainerCallback(_PowerHooks, hf.TrainerCallback):  # type: ignore[misc, name-defined]
        """Transformers: see :mod:`wattprint.integrations.power`."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._begin()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._step()

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._end()

    PowerLimitTrainerCallback.__module__ = __name__
    return PowerLimitTrainerCallback


def __getattr__(name: str) -> Any:
    builders = {"PowerLimitCallback": _lightning_class,
                "PowerLimitTrainerCallback": _transformers_class}
    if name in builders:
        cls = builders[name]()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
