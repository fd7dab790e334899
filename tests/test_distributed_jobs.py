"""Distributed jobs with real engines: one run per job, counted exactly once.

torchrun (gloo, CPU) with 2 and 4 ranks, wrapped in ``wattprint run`` too; Lightning's
own DDP launcher (rank 1 a child of rank 0); hand-launched ranks on two "hosts" with
separate ledgers, merged; a rank killed with SIGKILL. Slurm and Ray, which need their
daemons, are in ``test_distributed_engines.py``.

"Counted once" is checked against the operating system: every process of a job is
reaped inside the test's process tree, so ``getrusage(RUSAGE_CHILDREN)`` is the CPU time
all of them used; the parts' measured CPU time (each part's process tree, which leaves
the other ranks out) can never add up to more than that."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from _cli import WATTPRINT, cli_env, wp, wp_json
from _services import torchrun
from _services._proc import clean_env

pytestmark = pytest.mark.slow

DIST = Path(__file__).parent / "dist"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env({**cli_env(tmp_path), "WATTPRINT_RUNTIME_DIR": str(tmp_path / "rt"),
                      **extra})


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _ranks(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]


def _job_parts(tmp_path: Path, job_id: str) -> list:
    from wattprint.ledger import Ledger

    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        return ledger.job_parts(job_id)


@pytest.mark.parametrize("nproc", [2, 4])
def test_torchrun_job_is_one_run_whose_parts_add_up(tmp_path, nproc):
    out = tmp_path / "out"
    out.mkdir()
    proc = torchrun(DIST / "torch_job.py", nproc=nproc, env=_env(tmp_path),
                    args=[str(out), "--burn", "0.2"], timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = _ranks(out)
    assert len(ranks) == nproc
    job_ids = {r["job"]["job_id"] for r in ranks}
    assert len(job_ids) == 1 and job_ids.pop().startswith("torchrun:")
    # rank 0 gathered every rank's part through the process group's store
    zero = next(r for r in ranks if r["job"]["rank"] == 0)
    job = zero["job_result"]
    assert job["world_size"] == nproc and job["missing_ranks"] == []
    assert [row["rank"] for row in job["by_rank"]] == list(range(nproc))
    assert job["energy_j"] == pytest.approx(sum(r["energy_j"] for r in ranks), rel=1e-9)
    assert job["counters"]["tokens"] == nproc * 10 * 16 * 32
    assert job["counters"]["steps"] == 10  # taken together, not nproc times
    assert all(r["job_result"] is None for r in ranks if r["job"]["rank"] != 0)
    # the ledger: one row for the job; `show JOB` has the same figures
    listed = wp_json(tmp_path, "runs")
    assert len(listed) == 1 and listed[0]["job"]["job_id"] == job["job_id"]
    shown = wp_json(tmp_path, "show", job["job_id"])
    assert shown["energy_j"] == pytest.approx(job["energy_j"], rel=1e-9)
    assert len(shown["by_rank"]) == nproc and shown["status"] == "finished"
    text = wp(tmp_path, "runs").stdout
    assert f"[{nproc} parts]" in text and text.count("\n") == 2  # header + one job row


def test_wattprint_run_around_torchrun_is_the_jobs_launcher_without_overlap(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = _children_cpu_s()
    proc = torchrun(DIST / "torch_job.py", nproc=2, env=_env(tmp_path),
                    args=[str(out), "--burn", "1.5"], prefix=[*WATTPRINT, "run", "--"],
                    timeout=240)
    os_cpu_s = _children_cpu_s() - before
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = _ranks(out)
    job_id = ranks[0]["job"]["job_id"]
    assert job_id.startswith("wattprint:") and {r["job"]["job_id"] for r in ranks} == {job_id}
    assert ranks[0]["job"]["engine"] == "torchrun"  # ranks keep torchrun's ranks
    parts = _job_parts(tmp_path, job_id)
    assert sorted((p.job.launcher, p.job.rank) for p in parts) == [(False, 0), (False, 1),
                                                                   (True, 0)]
    # each rank burnt 1.5 s in its window: had the launcher's tree kept the ranks, the
    # parts would add up to 3 s more than every process of the job used
    parts_cpu_s = sum(p.cpu_s for p in parts)
    assert all(p.cpu_s >= 1.4 for p in parts if not p.job.launcher)
    assert parts_cpu_s <= os_cpu_s * 1.02 + 0.3, (parts_cpu_s, os_cpu_s)
    listed = wp_json(tmp_path, "runs")
    assert len(listed) == 1 and listed[0]["job"]["job_id"] == job_id
    # after the launcher's own summary, the whole job's, with a row per part
    assert f"job {job_id}" in proc.stderr and "launcher" in proc.stderr


LIGHTNING_JOB = r'''
import json, os, sys, warnings
import lightning.pytorch as L
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset
from wattprint.integrations.lightning import WattprintCallback

class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 1))
    def training_step(self, batch, i):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)
    def validation_step(self, batch, i):
        pass
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)

def own():
    t = os.times()
    return t.user + t.system

out = sys.argv[1]
ds = TensorDataset(torch.randn(512, 8), torch.randn(512, 1))
cb = WattprintCallback(ledger=True)
trainer = L.Trainer(strategy="ddp", devices=2, accelerator="cpu", max_epochs=3,
                    callbacks=[cb], enable_progress_bar=False, enable_checkpointing=False,
                    logger=CSVLogger(os.path.join(out, "logs")), enable_model_summary=False)
c0 = own()
trainer.fit(Net(), DataLoader(ds, batch_size=8), DataLoader(ds, batch_size=64))
run = cb.run
with open(os.path.join(out, f"rank{trainer.global_rank}.json"), "w") as f:
    json.dump({"rank": trainer.global_rank, "pid": os.getpid(), "ppid": os.getppid(),
               "own_cpu_s": own() - c0, "job": run.job.to_dict(),
               "cpu_s": run.result.cpu_s, "energy_j": run.result.energy_j,
               "job_result": run.job_result.to_dict() if run.job_result else None}, f)
'''


def test_lightning_ddp_rank_below_rank_zero_is_counted_once(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "lightning_job.py"
    script.write_text(LIGHTNING_JOB)
    proc = subprocess.run([sys.executable, str(script), str(out)], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = _ranks(out)
    assert r1["ppid"] == r0["pid"]  # Lightning's launcher: rank 1 is rank 0's child
    assert r0["job"]["job_id"] == r1["job"]["job_id"] and r0["job"]["engine"] == "torch"
    # rank 0's part holds rank 0's own CPU time, not rank 1's on top of it
    assert r0["cpu_s"] < r0["own_cpu_s"] + 0.5 * r1["cpu_s"], (r0, r1)
    job = r0["job_result"]
    assert job["missing_ranks"] == [] and len(job["by_rank"]) == 2
    assert job["energy_j"] == pytest.approx(r0["energy_j"] + r1["energy_j"], rel=1e-9)
    assert r1["job_result"] is None
    # Lightning is not asked to warn about any wattprint metric (epoch values are synced)
    metrics = ("energy/", "count/", "power/", "forecast/")
    warned = [ln for ln in proc.stderr.splitlines()
              if "sync_dist=True" in ln and any(m in ln for m in metrics)]
    assert warned == []
    listed = wp_json(tmp_path, "runs")
    assert len(listed) == 1 and len(listed[0]["job"]["by_rank"]) == 2
    # the final record logged once, by rank 0, with the job's total
    logged = (out / "logs").rglob("metrics.csv")
    text = "".join(p.read_text() for p in logged)
    assert "energy/total_j" in text


def _launch_plain(tmp_path, out, rank, world, job_id, host, ledger, *extra, timeout=60):
    env = _env(tmp_path, WATTPRINT_JOB_ID=job_id, WATTPRINT_RANK=str(rank),
               WATTPRINT_WORLD_SIZE=str(world), WATTPRINT_HOST_ID=host,
               WATTPRINT_LEDGER=str(ledger), WATTPRINT_GATHER_TIMEOUT_S="1",
               WATTPRINT_RUNTIME_DIR=str(tmp_path / f"rt-{host}"))
    return subprocess.Popen([sys.executable, str(DIST / "plain_rank.py"), str(out), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_hosts_with_their_own_ledgers_merge_into_one_job(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    procs = [_launch_plain(tmp_path, out, 0, 2, "exp-42", "host-a", a),
             _launch_plain(tmp_path, out, 1, 2, "exp-42", "host-b", b)]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    ranks = {r["job"]["rank"]: r for r in _ranks(out)}
    # without a process group rank 0 sees only its own host's ledger: rank 1 is missing
    assert ranks[0]["job_result"]["missing_ranks"] == [1]
    env = _env(tmp_path, WATTPRINT_LEDGER=str(a))
    proc = wp(tmp_path, "merge", str(b), env=env)
    assert proc.returncode == 0 and "1 run(s) copied" in proc.stdout, proc.stderr
    again = wp(tmp_path, "merge", str(b), env=env)
    assert "0 run(s) copied" in again.stdout  # merging twice changes nothing
    shown = wp_json(tmp_path, "show", "exp-42", env=env)
    assert shown["missing_ranks"] == [] and shown["hosts"] == ["host-a", "host-b"]
    # each host counted its own host-level energy: the job is the sum, nothing twice
    assert shown["energy_j"] == pytest.approx(ranks[0]["energy_j"] + ranks[1]["energy_j"],
                                              rel=1e-9)
    assert set(shown["by_host"]) == {"host-a", "host-b"}
    assert shown["counters"]["tokens"] == 4000
    listed = wp_json(tmp_path, "runs", env=env)
    assert len(listed) == 1
    # a report of the job: its energy, and one CPU per machine (two machines here)
    report = wp(tmp_path, "report", "exp-42", "-f", "md", env=env)
    assert report.returncode == 0, report.stderr
    assert "2 × " in report.stdout and "(CPU)" in report.stdout
    # the export keeps every part, each with its job id and place in the job
    exported = wp(tmp_path, "export", "--what", "runs", "--format", "jsonl", env=env)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert sorted((r["job_id"], r["job"]["rank"], r["job"]["host_id"]) for r in rows) == [
        ("exp-42", 0, "host-a"), ("exp-42", 1, "host-b")]


def test_a_rank_killed_mid_job_leaves_the_others_to_finish_and_its_samples_count(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ledger = tmp_path / "ledger.db"
    procs = [_launch_plain(tmp_path, out, 0, 2, "exp-kill", "host-a", ledger, "--burn", "1"),
             _launch_plain(tmp_path, out, 1, 2, "exp-kill", "host-a", ledger, "--burn", "1",
                           "--die")]
    assert procs[0].wait(timeout=60) == 0, procs[0].stderr.read()
    assert procs[1].wait(timeout=60) == -9
    shown = wp_json(tmp_path, "show", "exp-kill")  # a writable open recovers rank 1
    assert shown["status"] == "interrupted"
    parts = {row["rank"]: row for row in shown["by_rank"]}
    assert parts[1]["status"] == "interrupted" and parts[1]["energy_j"] > 0
    assert parts[0]["status"] == "finished"
    assert any("rank 1" in w and "interrupted" in w for w in shown["warnings"])
    assert shown["energy_j"] == pytest.approx(parts[0]["energy_j"] + parts[1]["energy_j"])
    # the job as one run wherever a run is taken: the JSON report has the job's energy,
    # and both ranks' share of this one machine's CPU is one CPU
    report = wp_json_report(tmp_path, "exp-kill")
    assert report["energy"]["energy_j"] == pytest.approx(shown["energy_j"])
    cpus = [g for g in report["hardware"] if g["domain"] == "cpu"]
    assert [g["count"] for g in cpus] == [1]


def wp_json_report(tmp_path, run):
    proc = wp(tmp_path, "report", run, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_hf_trainer_under_torchrun_writes_card_logs_and_mlflow_once_with_the_job_total(
        tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database

    out = tmp_path / "out"
    out.mkdir()
    uri = (tmp_path / "mlruns").as_uri()
    proc = torchrun(DIST / "hf_job.py", nproc=2,
                    env=_env(tmp_path, MLFLOW_TRACKING_URI=uri, HF_HUB_OFFLINE="1",
                             MLFLOW_ALLOW_FILE_STORE="true"),
                    args=[str(out), "mlflow"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = _ranks(out)
    job = r0["job_result"]
    assert job is not None and r1["job_result"] is None
    assert job["energy_j"] == pytest.approx(r0["energy_j"] + r1["energy_j"], rel=1e-9)
    assert job["counters"]["tokens"] == r0["tokens"] + r1["tokens"]
    # rank 0's Trainer log: the final record is the job's, not rank 0's alone
    final = [h for h in r0["log_history"] if "energy/total_j" in h][-1]
    assert final["energy/total_j"] == pytest.approx(job["energy_j"], rel=1e-9)
    assert final["count/tokens"] == job["counters"]["tokens"]
    # the model card: written once, with the job's energy
    from huggingface_hub import ModelCard

    from wattprint.accounting import account

    block = ModelCard.load(out / "out" / "README.md").data.co2_eq_emissions
    assert block["emissions"] == pytest.approx(
        account(job["energy_j"]).co2e_location_g.value, rel=1e-4)
    # MLflow: one run for the job (no run per rank), with the job's total
    client = MlflowClient(tracking_uri=uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    assert len(runs) == 1
    assert runs[0].data.metrics["energy/total_j"] == pytest.approx(job["energy_j"], rel=1e-9)
