"""MLflow: energy metrics and the wattprint report (JSON + summary) as artifacts of an
MLflow run. Needs ``pip install 'wattprint[mlflow]'``.

    import wattprint
    from wattprint.integrations.mlflow import log_run

    with mlflow.start_run(), wattprint.track("train", ledger=True) as run:
        ...
    log_run(run.result)            # metrics + artifacts wattprint/… in that MLflow run

The training callbacks take ``log_to=("mlflow",)`` and log through :class:`MlflowSink`.
Metric names: :mod:`wattprint.integrations.metrics`.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from typing import Any, Mapping

from ..result import RunResult
from ._report import write_report
from ._require import require

__all__ = ["MlflowSink", "log_run"]

ARTIFACT_DIR = "wattprint"


log = logging.getLogger("wattprint")


def _mlflow() -> Any:
    return require("mlflow", "mlflow", feature="MLflow logging")


class MlflowSink:
    """Logs to one MLflow run: ``run_id``, else the active run (``mlflow.active_run()``)
    when first used, else a new run it starts and ends itself. ``client`` (an
    ``MlflowClient``) or ``tracking_uri`` choose the server or store. With
    ``live=False`` only the final report is logged (live metrics come another way, e.g.
    Lightning's ``MLFlowLogger``); with ``final_metrics=False`` the report logs tags and
    artifacts only (the framework's own logger sends the final record). ``create=False``:
    never start an MLflow run (the report is skipped, with a warning, when none is
    active), for a sink that rides on a run the framework's MLflow integration owns.
    ``artifact_path``: the folder of the report files in the run (``wattprint``)."""

    kind = "mlflow"

    def __init__(self, run_id: str | None = None, *, client: Any = None,
                 tracking_uri: str | None = None, live: bool = True,
                 run_name: str | None = None, final_metrics: bool = True,
                 create: bool = True, artifact_path: str = ARTIFACT_DIR) -> None:
        _mlflow()
        self.run_id = run_id
        self.live = live
        self.final_metrics = final_metrics
        self.create = create
        self.artifact_path = artifact_path
        self._client = client
        self._tracking_uri = tracking_uri
        self._run_name = run_name
        self._owned = False

    def _resolve(self) -> tuple[Any, str]:
        mlflow = _mlflow()
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self._tracking_uri)
        if self.run_id is None:
            active = mlflow.active_run()
            if active is not None:
                self.run_id = active.info.run_id
            elif not self.create:
                raise RuntimeError("no active MLflow run to attach the wattprint report to")
            else:
                if self._tracking_uri is not None:
                    mlflow.set_tracking_uri(self._tracking_uri)
                self.run_id = mlflow.start_run(run_name=self._run_name).info.run_id
                self._owned = True
        return self._client, self.run_id

    def _ready(self) -> bool:
        """False (with a warning) for a ``create=False`` sink with no run to ride on."""
        if self.create or self.run_id is not None or _mlflow().active_run() is not None:
            return True
        log.warning("wattprint: no MLflow run is active, so the report was not attached "
                    "(the framework's MLflow integration started none)")
        return False

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not self._ready():
            return
        from mlflow.entities import Metric

        client, run_id = self._resolve()
        now_ms = int(time.time() * 1000)
        batch = [Metric(k, float(v), now_ms, int(step or 0)) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and math.isfinite(v)]
        if batch:
            client.log_batch(run_id, metrics=batch)

    def log_report(self, result: RunResult, metrics: Mapping[str, float],
                   accounting: Any = None, *, step: int | None = None) -> None:
        """The final metrics, tags (``wattprint.run_id``, ``wattprint.basis``…) and the
        report files under ``wattprint/``; ends the MLflow run if this sink started it."""
        if not self._ready():
            return
        client, run_id = self._resolve()
        if self.final_metrics:
            self.log_metrics(metrics, step=step)
        tags = {"wattprint.basis": result.basis, "wattprint.status": result.status,
                "wattprint.mode": result.mode}
        if result.run_id:
            tags["wattprint.run_id"] = result.run_id
        if accounting is not None:
            tags["wattprint.zone"] = accounting.zone.key
        for key, value in tags.items():
            client.set_tag(run_id, key, value)
        with tempfile.TemporaryDirectory(prefix="wattprint-mlflow-") as tmp:
            write_report(tmp, result, metrics, accounting)
            client.log_artifacts(run_id, tmp, artifact_path=self.artifact_path)
        self.close()

    def close(self) -> None:
        if self._owned:
            mlflow = _mlflow()
            active = mlflow.active_run()
            if active is not None and active.info.run_id == self.run_id:
                mlflow.end_run()
            self._owned = False


def log_run(result: RunResult, *, run_id: str | None = None, client: Any = None,
            tracking_uri: str | None = None, carbon: bool = True, zone: str | None = None,
            pue: float | None = None, step: int | None = None) -> str:
    """Log a finished run's metrics and report to MLflow; return the MLflow run id.

    The MLflow run is ``run_id``, else the active one, else a new one. ``carbon``
    accounts CO2e (zone and PUE from the arguments or the configuration)."""
    from . import _carbon
    from .metrics import run_metrics

    sink = MlflowSink(run_id, client=client, tracking_uri=tracking_uri,
                      run_name=result.name)
    accounting = _carbon.account_run(result, zone=zone, pue=pue) if carbon else None
    sink.log_report(result, run_metrics(result, accounting), accounting, step=step)
    assert sink.run_id is not None
    return sink.run_id
