"""Weights & Biases: energy metrics in the run's history and summary, and the wattprint
report (JSON + summary) as a W&B artifact. Needs ``pip install 'wattprint[wandb]'``.

    from wattprint.integrations.wandb import log_run

    wandb.init(project="llm")
    with wattprint.track("train") as run:
        ...
    log_run(run.result)            # into wandb.run

The training callbacks take ``log_to=("wandb",)`` and log through :class:`WandbSink`.
Offline mode (``WANDB_MODE=offline``) works as usual: everything is synced later.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
from typing import Any, Mapping

from ..result import RunResult
from ._report import write_report
from ._require import require

__all__ = ["WandbSink", "log_run"]

ARTIFACT_TYPE = "wattprint-report"


log = logging.getLogger("wattprint")


def _wandb() -> Any:
    return require("wandb", "wandb", feature="Weights & Biases logging")


class WandbSink:
    """Logs to one W&B run: ``run``, else ``wandb.run`` when first used, else a new run
    it starts (``wandb.init(project=project, name=name)``) and finishes itself. With
    ``live=False`` only the final report is logged (e.g. when Lightning's
    ``WandbLogger`` already receives the live metrics); with ``final_metrics=False`` the
    report adds the ``wattprint/…`` summary keys and the artifact only (the framework's
    logger sends the final record). ``create=False``: never start a W&B run."""

    kind = "wandb"

    def __init__(self, run: Any = None, *, live: bool = True, project: str | None = None,
                 name: str | None = None, artifact: bool = True,
                 final_metrics: bool = True, create: bool = True) -> None:
        _wandb()
        self.run = run
        self.live = live
        self.final_metrics = final_metrics
        self.create = create
        self.artifact = artifact
        self._project = project
        self._name = name
        self._owned = False

    def _resolve(self) -> Any:
        if self.run is None:
            wandb = _wandb()
            if wandb.run is not None:
                self.run = wandb.run
            elif not self.create:
                raise RuntimeError("no W&B run to attach the wattprint report to")
            else:
                self.run = wandb.init(project=self._project or "wattprint", name=self._name)
                self._owned = True
        return self.run

    def _ready(self) -> bool:
        """False (with a warning) for a ``create=False`` sink with no run to ride on."""
        if self.create or self.run is not None or _wandb().run is not None:
            return True
        log.warning("wattprint: no W&B run is active, so the report was not attached "
                    "(the framework's W&B integration started none)")
        return False

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not self._ready():
            return
        run = self._resolve()
        clean = {k: float(v) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and math.isfinite(v)}
        if clean:
            # W&B keeps its own step counter (frameworks' callbacks log into it too):
            # the framework's step goes in as a value, never as W&B's step.
            if step is not None:
                clean["energy/global_step"] = float(step)
            run.log(clean)

    def log_report(self, result: RunResult, metrics: Mapping[str, float],
                   accounting: Any = None, *, step: int | None = None) -> None:
        """Final metrics into the history and the summary, the report as an artifact;
        finishes the W&B run if this sink started it."""
        if not self._ready():
            return
        run = self._resolve()
        if self.final_metrics:
            self.log_metrics(metrics, step=step)
            run.summary.update(dict(metrics))
        info = {"wattprint/basis": result.basis, "wattprint/status": result.status}
        if result.run_id:
            info["wattprint/run_id"] = result.run_id
        if accounting is not None:
            info["wattprint/zone"] = accounting.zone.key
        run.summary.update(info)
        if self.artifact:
            wandb = _wandb()
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"wattprint-{result.run_id or run.id}")
            art = wandb.Artifact(name, type=ARTIFACT_TYPE,
                                 metadata={"energy_j": result.energy_j, "basis": result.basis})
            with tempfile.TemporaryDirectory(prefix="wattprint-wandb-") as tmp:
                for path in write_report(tmp, result, metrics, accounting):
                    art.add_file(path)
                run.log_artifact(art)  # add_file copied the files: the folder can go
        self.close()

    def close(self) -> None:
        if self._owned and self.run is not None:
            self.run.finish()
            self._owned = False


def log_run(result: RunResult, *, run: Any = None, carbon: bool = True,
            zone: str | None = None, pue: float | None = None,
            artifact: bool = True) -> Any:
    """Log a finished run's metrics and report to W&B (``run``, else ``wandb.run``, else a
    new run); return the W&B run."""
    from . import _carbon
    from .metrics import run_metrics

    sink = WandbSink(run, name=result.name, artifact=artifact)
    accounting = _carbon.account_run(result, zone=zone, pue=pue) if carbon else None
    target = sink._resolve()
    sink.log_report(result, run_metrics(result, accounting), accounting)
    return target
