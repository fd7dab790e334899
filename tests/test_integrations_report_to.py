"""The ways ML engineers already wire their experiment trackers, read back through the
trackers' own APIs: the Trainer's ``report_to=["mlflow"]`` / ``["wandb"]`` next to
``callbacks=[WattprintTrainerCallback()]`` in either order (MLflow's local SQLite store,
read with ``MlflowClient``; W&B offline, read from the run file), and Lightning's
MLFlowLogger / WandbLogger across ``fit`` then ``test``."""

from __future__ import annotations

import gc

import pytest

from test_integrations_trackers import history_and_summary, wandb  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::UserWarning:lightning"),
              pytest.mark.filterwarnings("ignore:.*LeafSpec"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

ARTIFACTS = {"wattprint/wattprint_report.json", "wattprint/wattprint_summary.txt"}


@pytest.fixture
def mlflow_db(tmp_path, monkeypatch):
    """MLflow on the store a fresh ``pip install 'wattprint[mlflow]'`` uses by default: a
    local SQLite database. Its artifacts go to ``./mlruns`` (MLflow's default artifact
    root for a database store), so the test runs in its own folder, never the checkout."""
    mlflow = pytest.importorskip("mlflow", reason="needs pip install 'wattprint[mlflow]'")
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    yield mlflow
    # the Trainer's MLflowCallback ends the active MLflow run when it is garbage
    # collected: let that happen here, not in the middle of a later test
    gc.collect()
    while mlflow.active_run() is not None:
        mlflow.end_run()
    client = mlflow.tracking.MlflowClient()
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    mlflow.set_tracking_uri(None)
    # every artifact under this test's folder: none in the checkout's ./mlruns
    assert all(r.info.artifact_uri.startswith((tmp_path.as_uri(), str(tmp_path)))
               for r in runs), [r.info.artifact_uri for r in runs]


def _hf():
    pytest.importorskip("transformers", reason="needs pip install 'wattprint[hf]'")
    pytest.importorskip("accelerate", reason="needs pip install 'wattprint[hf]'")
    import _tiny_hf as hf

    from wattprint.integrations.transformers import WattprintTrainerCallback

    return hf, WattprintTrainerCallback


def _hf_trainer(tmp_path, cb, *, first: bool, report_to: list[str]):
    hf, _ = _hf()
    trainer = hf.make_trainer(tmp_path, cb, epochs=1, report_to=report_to)
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    integration = {"mlflow": "MLflowCallback", "wandb": "WandbCallback"}[report_to[0]]
    assert integration in names
    if first:  # the order a user gets with trainer.add_callback / insert(0, ...)
        trainer.callback_handler.callbacks.remove(cb)
        trainer.callback_handler.callbacks.insert(0, cb)
    else:  # the README's one-liner: callbacks=[cb] puts it after report_to's
        trainer.callback_handler.callbacks.remove(cb)
        trainer.callback_handler.callbacks.append(cb)
    return trainer


@pytest.mark.parametrize("first", [False, True], ids=["after-report_to", "before"])
def test_hf_report_to_mlflow_gets_exact_final_metrics_tags_and_report(
        tmp_path, mlflow_db, first) -> None:
    hf, Callback = _hf()
    cb = Callback(sensors=[hf.fake()], rate_hz=50, zone="FR", ledger=tmp_path / "l.db")
    trainer = _hf_trainer(tmp_path, cb, first=first, report_to=["mlflow"])
    trainer.train()
    r = cb.result
    client = mlflow_db.tracking.MlflowClient()
    (run,) = client.search_runs(["0"])  # MLflow's default experiment
    history = client.get_metric_history(run.info.run_id, "energy/total_j")
    assert len(history) >= 2  # live figures at logging_steps, then the final record
    metrics = run.data.metrics
    assert metrics["energy/total_j"] == pytest.approx(r.energy_j)  # exact, not stale
    assert metrics["energy/train/total_j"] == pytest.approx(r.phase("train").energy_j)
    assert metrics["count/validation/samples"] == hf.N_EVAL
    assert metrics["carbon/co2e_g"] > 0
    assert not cb.warnings, cb.warnings
    assert run.data.tags["wattprint.run_id"] == r.run_id
    assert run.data.tags["wattprint.zone"] == "FR"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "wattprint")} == ARTIFACTS
    assert run.info.status == "FINISHED"  # the Trainer's MLflowCallback ended it


@pytest.mark.parametrize("first", [False, True], ids=["after-report_to", "before"])
def test_hf_report_to_wandb_offline_gets_final_metrics_and_report(
        tmp_path, wandb, first) -> None:
    hf, Callback = _hf()
    cb = Callback(sensors=[hf.fake()], rate_hz=50, ledger=tmp_path / "l.db")
    trainer = _hf_trainer(tmp_path, cb, first=first, report_to=["wandb"])
    trainer.train()
    wandb.finish()
    history, summary, artifacts = history_and_summary(tmp_path)
    # the Trainer's WandbCallback prefixes training logs with "train/"
    live = [h for h in history if "train/energy/total_j" in h]
    assert len(live) >= 2
    assert live[-1]["train/energy/total_j"] == pytest.approx(cb.result.energy_j)
    assert summary["train/energy/total_j"] == pytest.approx(cb.result.energy_j)
    assert summary["wattprint/run_id"] == cb.result.run_id
    assert ("wattprint-report", ["wattprint_report.json", "wattprint_summary.txt"]) \
        in artifacts



# -- Lightning loggers: fit then test into one logger run ------------------------------------
def _lit():
    pytest.importorskip("lightning.pytorch", reason="needs pip install 'wattprint[lightning]'")
    import _tiny_lightning as lit

    from wattprint.integrations.lightning import WattprintCallback

    return lit, WattprintCallback


def _fit_and_test(tmp_path, logger, **cb_options):
    lit, Callback = _lit()
    cb = Callback(sensors=[lit.fake()], rate_hz=50, ledger=tmp_path / "l.db", **cb_options)
    t = lit.trainer(tmp_path, cb, logger=logger, max_epochs=1, enable_checkpointing=False)
    model = lit.MLP()
    t.fit(model, lit.loader(lit.N_TRAIN, 0), lit.loader(lit.N_VAL, 1))
    t.test(model, lit.loader(lit.N_TEST, 2))
    fit, test = cb.results
    return lit, fit, test


def test_lightning_mlflow_logger_keeps_fit_and_test_apart(tmp_path, mlflow_db) -> None:
    from lightning.pytorch.loggers import MLFlowLogger

    logger = MLFlowLogger(experiment_name="lit", tracking_uri=mlflow_db.get_tracking_uri())
    lit, fit, test = _fit_and_test(tmp_path, logger, log_to="mlflow", zone="SE")
    client = mlflow_db.tracking.MlflowClient()
    run = client.get_run(logger.run_id)
    m = run.data.metrics
    assert m["energy/fit/total_j"] == pytest.approx(fit.energy_j)  # not overwritten
    assert m["energy/test/total_j"] == pytest.approx(test.energy_j)
    assert m["count/fit/samples"] == lit.N_TRAIN + lit.N_VAL
    assert m["count/test/samples"] == lit.N_TEST
    # the logger run's headline is the whole run: fit + test
    assert m["energy/total_j"] == pytest.approx(fit.energy_j + test.energy_j)
    history = client.get_metric_history(logger.run_id, "energy/fit/total_j")
    assert [h.value for h in history] == [pytest.approx(fit.energy_j)]
    assert m["carbon/co2e_g"] == pytest.approx(m["carbon/fit/co2e_g"] + m["carbon/test/co2e_g"])
    paths = {a.path for d in ("wattprint/fit", "wattprint/test")
             for a in client.list_artifacts(logger.run_id, d)}
    assert paths == {f"wattprint/{s}/{f}" for s in ("fit", "test")
                     for f in ("wattprint_report.json", "wattprint_summary.txt")}
    assert run.data.tags["wattprint.run_id"] == test.run_id  # the last stage's


def test_lightning_wandb_logger_keeps_fit_and_test_apart(tmp_path, wandb) -> None:
    from lightning.pytorch.loggers import WandbLogger

    logger = WandbLogger(project="lit", save_dir=str(tmp_path))
    lit, fit, test = _fit_and_test(tmp_path, logger, log_to="wandb")
    wandb.finish()
    history, summary, artifacts = history_and_summary(tmp_path)
    fits = [h["energy/fit/total_j"] for h in history if "energy/fit/total_j" in h]
    assert fits == [pytest.approx(fit.energy_j)]
    assert summary["energy/fit/total_j"] == pytest.approx(fit.energy_j)
    assert summary["energy/test/total_j"] == pytest.approx(test.energy_j)
    assert summary["energy/total_j"] == pytest.approx(fit.energy_j + test.energy_j)
    assert summary["wattprint/run_id"] == test.run_id
    assert [a[0] for a in artifacts].count("wattprint-report") == 2


def test_a_report_only_sink_never_starts_a_run_of_its_own(tmp_path, mlflow_db, caplog) -> None:
    """trainer.predict() alone: the Trainer's MLflowCallback started no run; the report
    is not attached anywhere else (no stray run), and the log says so."""
    from test_integrations_trackers import finished_run
    from wattprint.integrations.mlflow import MlflowSink

    r = finished_run(tmp_path).result
    MlflowSink(live=False, final_metrics=False, create=False).log_report(
        r, {"energy/total_j": r.energy_j})
    assert mlflow_db.active_run() is None
    client = mlflow_db.tracking.MlflowClient()
    assert not client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert "report was not attached" in caplog.text
