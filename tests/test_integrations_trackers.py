"""MLflow (a local file store) and Weights & Biases (offline mode): metrics and the report
artifact from ``log_run`` and from the training callbacks' ``log_to``."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

import wattprint
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:lightning"),
              pytest.mark.filterwarnings("ignore:.*LeafSpec")]  # torch 2.13 vs lightning 2.6


def finished_run(tmp_path: Path) -> wattprint.Tracker:
    with wattprint.track("report", ledger=tmp_path / "l.db", sensors=[FakeSensor(30.0)],
                         rate_hz=50) as run:
        with run.phase("train"):
            time.sleep(0.05)
            run.count(samples=16, steps=2, tokens=256)
    return run


# -- MLflow ------------------------------------------------------------------------------
@pytest.fixture
def mlflow(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="needs pip install 'wattprint[mlflow]'")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    yield mlflow
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_mlflow_log_run_metrics_tags_and_artifacts(tmp_path, mlflow) -> None:
    from wattprint.integrations.mlflow import log_run

    run = finished_run(tmp_path)
    with mlflow.start_run() as active:
        mlflow_id = log_run(run.result, zone="SE")
    assert mlflow_id == active.info.run_id
    client = mlflow.tracking.MlflowClient()
    data = client.get_run(mlflow_id).data
    r = run.result
    assert data.metrics["energy/total_j"] == pytest.approx(r.energy_j)
    assert data.metrics["energy/train/j_per_token"] == pytest.approx(
        r.phase("train").per_unit["j_per_token"])
    assert data.metrics["count/tokens"] == 256 and data.metrics["carbon/co2e_g"] > 0
    assert data.tags["wattprint.run_id"] == r.run_id and data.tags["wattprint.zone"] == "SE"
    paths = {a.path for a in client.list_artifacts(mlflow_id, "wattprint")}
    assert paths == {"wattprint/wattprint_report.json", "wattprint/wattprint_summary.txt"}
    local = client.download_artifacts(mlflow_id, "wattprint/wattprint_report.json",
                                      str(tmp_path))
    report = json.loads(Path(local).read_text())
    assert report["run"]["run_id"] == r.run_id and report["accounting"]["zone"]["key"] == "SE"
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.get(r.run_id).energy_j == pytest.approx(r.energy_j)


def test_mlflow_without_an_active_run_starts_and_ends_one(tmp_path, mlflow) -> None:
    from wattprint.integrations.mlflow import log_run

    mlflow_id = log_run(finished_run(tmp_path).result, carbon=False)
    assert mlflow.active_run() is None
    info = mlflow.tracking.MlflowClient().get_run(mlflow_id).info
    assert info.status == "FINISHED" and info.run_name == "report"


def test_transformers_callback_logs_live_and_final_metrics_to_mlflow(tmp_path, mlflow) -> None:
    pytest.importorskip("transformers", reason="needs pip install 'wattprint[hf]'")
    pytest.importorskip("accelerate", reason="needs pip install 'wattprint[hf]'")
    import _tiny_hf as hf
    from wattprint.integrations.transformers import WattprintTrainerCallback

    cb = WattprintTrainerCallback(ledger=tmp_path / "l.db", sensors=[hf.fake()],
                                  log_to=("mlflow",))
    with mlflow.start_run() as active:
        hf.make_trainer(tmp_path, cb, epochs=1).train()
    client = mlflow.tracking.MlflowClient()
    history = client.get_metric_history(active.info.run_id, "energy/total_j")
    assert len(history) >= 2 and history[-1].value == pytest.approx(cb.result.energy_j)
    assert client.get_run(active.info.run_id).data.metrics["count/validation/samples"] == \
        hf.N_EVAL
    assert {a.path for a in client.list_artifacts(active.info.run_id, "wattprint")}
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.get(cb.result.run_id).status == "finished"


def test_lightning_report_goes_to_the_mlflow_logger_run(tmp_path, mlflow) -> None:
    pytest.importorskip("lightning.pytorch", reason="needs pip install 'wattprint[lightning]'")
    import _tiny_lightning as lit
    from lightning.pytorch.loggers import MLFlowLogger

    from wattprint.integrations.lightning import WattprintCallback

    logger = MLFlowLogger(experiment_name="lit", tracking_uri=mlflow.get_tracking_uri())
    cb = WattprintCallback(sensors=[lit.fake()], log_to="mlflow")
    lit.trainer(tmp_path, cb, logger=logger, max_epochs=1).fit(
        lit.MLP(), lit.loader(lit.N_TRAIN, 0), lit.loader(lit.N_VAL, 1))
    client = mlflow.tracking.MlflowClient()
    metrics = client.get_run(logger.run_id).data.metrics
    assert metrics["energy/total_j"] == pytest.approx(cb.result.energy_j)
    assert metrics["energy/fit/total_j"] == pytest.approx(cb.result.energy_j)
    assert metrics["count/train/samples"] == lit.N_TRAIN
    assert {a.path for a in client.list_artifacts(logger.run_id, "wattprint/fit")} == {
        "wattprint/fit/wattprint_report.json", "wattprint/fit/wattprint_summary.txt"}


def test_each_lightning_stage_gets_its_own_mlflow_run(tmp_path, mlflow) -> None:
    pytest.importorskip("lightning.pytorch", reason="needs pip install 'wattprint[lightning]'")
    import _tiny_lightning as lit

    from wattprint.integrations.lightning import WattprintCallback

    cb = WattprintCallback(sensors=[lit.fake()], log_to="mlflow")
    t = lit.trainer(tmp_path, cb, max_epochs=1, logger=False, enable_checkpointing=False)
    model = lit.MLP()
    t.fit(model, lit.loader(lit.N_TRAIN, 0))
    t.test(model, lit.loader(lit.N_TEST, 1))
    assert mlflow.active_run() is None
    client = mlflow.tracking.MlflowClient()
    runs = client.search_runs(["0"], order_by=["attributes.start_time ASC"])
    assert [r.info.run_name for r in runs] == ["lightning-fit", "lightning-test"]
    assert [r.data.metrics["count/samples"] for r in runs] == [lit.N_TRAIN, lit.N_TEST]
    assert all(r.info.status == "FINISHED" and client.list_artifacts(r.info.run_id, "wattprint")
               for r in runs)


# -- Weights & Biases, offline ---------------------------------------------------------------
@pytest.fixture
def wandb(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb", reason="needs pip install 'wattprint[wandb]'")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    wandb.teardown()  # W&B reads its settings (WANDB_DIR…) once per process
    yield wandb
    if wandb.run is not None:
        wandb.finish()
    wandb.teardown()


def offline_records(tmp_path: Path) -> list:
    """The records W&B wrote to its offline run file (a LevelDB-style log of protobufs)."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    # a partly written record at the end is left out (read again until "exit" is there)
    data, pos, block, pending, records = path.read_bytes(), 7, 32768, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if pos + 7 + length > len(data):
            break
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:
            records.append(chunk)
        elif kind in (2, 3):
            pending += chunk
        elif kind == 4:
            records.append(pending + chunk)
            pending = b""
    out = []
    for raw in records:
        rec = pb.Record()
        try:
            rec.ParseFromString(raw)
        except Exception:  # noqa: BLE001 - a record still being written
            break
        out.append(rec)
    return out


def history_and_summary(tmp_path: Path) -> tuple[list[dict], dict, list]:
    deadline = time.monotonic() + 20  # W&B's service process may still be writing
    records = offline_records(tmp_path)
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, [r.WhichOneof("record_type") for r in records]
        time.sleep(0.2)
        records = offline_records(tmp_path)
    history, summary, artifacts = [], {}, []
    for rec in records:
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json)
                            for i in rec.history.item})
        elif kind == "summary":
            summary.update({i.key or "/".join(i.nested_key): json.loads(i.value_json)
                            for i in rec.summary.update})
        elif kind == "artifact":
            artifacts.append((rec.artifact.type,
                              sorted(c.path for c in rec.artifact.manifest.contents)))
    return history, summary, artifacts


def test_wandb_log_run_offline(tmp_path, wandb) -> None:
    from wattprint.integrations.wandb import log_run

    run = finished_run(tmp_path)
    wandb.init(project="wattprint-tests")
    log_run(run.result, zone="FR")
    wandb.finish()
    history, summary, artifacts = history_and_summary(tmp_path)
    r = run.result
    assert history[-1]["energy/total_j"] == pytest.approx(r.energy_j)
    assert history[-1]["count/train/tokens"] == 256
    assert summary["energy/j_per_token"] == pytest.approx(r.energy_j / 256)
    assert summary["wattprint/run_id"] == r.run_id and summary["wattprint/zone"] == "FR"
    assert ("wattprint-report", ["wattprint_report.json", "wattprint_summary.txt"]) in artifacts


def test_lightning_callback_logs_to_wandb_offline(tmp_path, wandb) -> None:
    pytest.importorskip("lightning.pytorch", reason="needs pip install 'wattprint[lightning]'")
    import _tiny_lightning as lit
    from wattprint.integrations.lightning import WattprintCallback

    cb = WattprintCallback(ledger=tmp_path / "l.db", sensors=[lit.fake()], log_to=("wandb",),
                           log_every_n_steps=2)
    lit.trainer(tmp_path, cb, max_epochs=1).fit(
        lit.MLP(), lit.loader(lit.N_TRAIN, 0), lit.loader(lit.N_VAL, 1))
    assert wandb.run is None  # the sink started its own W&B run and finished it
    history, summary, artifacts = history_and_summary(tmp_path)
    live = [h for h in history if "energy/step_j" in h]
    assert len(live) >= 2 and all("energy/global_step" in h for h in live)
    assert summary["energy/total_j"] == pytest.approx(cb.result.energy_j)
    assert summary["count/validation/samples"] == lit.N_VAL
    assert artifacts and artifacts[0][0] == "wattprint-report"
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.get(cb.result.run_id).counters["samples"] == lit.N_TRAIN + lit.N_VAL


def test_sinks_fail_at_setup_with_the_pip_command_when_missing(monkeypatch) -> None:
    import sys

    from wattprint.integrations._require import MissingExtraError
    from wattprint.integrations.inference import measure_inference

    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'wattprint\[wandb\]'"):
        measure_inference(log_to="wandb")

