"""Integrations with the tools ML people already use; each imported only when used.

=========================================  =============================================
``integrations.lightning.WattprintCallback``       PyTorch Lightning (``wattprint[lightning]``)
``integrations.transformers.WattprintTrainerCallback``  Hugging Face Trainer (``wattprint[hf]``)
``integrations.inference.measure_inference``       energy per request / generated token,
                                                   prefill and decode (any callable;
                                                   Transformers ``generate`` and pipelines)
``integrations.mlflow.log_run``, ``MlflowSink``    MLflow metrics + report artifact
                                                   (``wattprint[mlflow]``)
``integrations.wandb.log_run``, ``WandbSink``      Weights & Biases (``wattprint[wandb]``)
``integrations.model_card.write_model_card``       Hugging Face ``co2_eq_emissions`` block
``integrations.metrics``                           the metric names all of them log
=========================================  =============================================

Importing this package imports none of those libraries; a missing one raises
:class:`MissingExtraError` (an ``ImportError``) with the ``pip install`` command.
Guide: docs/integrations.md.
"""

from __future__ import annotations

from typing import Any

from ._require import MissingExtraError
from .inference import InferenceMeter, measure_inference
from .metrics import phase_metrics, run_metrics
from .model_card import write_model_card

__all__ = [
    "MissingExtraError", "InferenceMeter", "measure_inference", "run_metrics",
    "phase_metrics", "write_model_card", "WattprintCallback", "WattprintTrainerCallback",
]

_LAZY = {"WattprintCallback": "lightning", "WattprintTrainerCallback": "transformers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
