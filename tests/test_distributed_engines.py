"""Distributed jobs under the engines that need daemons: a real single-host Slurm (``srun``,
``sbatch``, a two-"node" job on one machine) and a local Ray cluster (a ``ray.train``
TorchTrainer with two workers). Fixtures: ``tests/conftest.py``."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from _cli import cli_env, wp_json
from _services._proc import clean_env

DIST = Path(__file__).parent / "dist"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env({**cli_env(tmp_path), "WATTPRINT_RUNTIME_DIR": str(tmp_path / "rt"),
                      "WATTPRINT_GATHER_TIMEOUT_S": "20", **extra})


def _ranks(out: Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]
    return sorted(found, key=lambda r: r["job"]["rank"])


def test_srun_two_tasks_are_one_job_gathered_through_the_ledger(slurm_cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = slurm_cluster.run(["srun", "-n", "2", sys.executable, str(DIST / "plain_rank.py"),
                              str(out)], env=_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr + slurm_cluster.logs()
    r0, r1 = _ranks(out)
    assert r0["job"]["engine"] == "slurm" and r0["job"]["job_id"] == r1["job"]["job_id"]
    assert r0["job"]["job_id"].endswith(".0")  # job id and step
    assert (r0["job"]["world_size"], r1["job"]["rank"]) == (2, 1)
    job = r0["job_result"]  # no process group: rank 0 read rank 1's part from the ledger
    assert job["missing_ranks"] == [] and len(job["by_rank"]) == 2
    assert job["energy_j"] == pytest.approx(r0["energy_j"] + r1["energy_j"], rel=1e-9)
    listed = wp_json(tmp_path, "runs")
    assert len(listed) == 1 and listed[0]["job"]["job_id"] == r0["job"]["job_id"]


def test_sbatch_job_step_is_one_job(slurm_cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    batch = slurm_cluster.sbatch(
        f"srun {sys.executable} {DIST / 'plain_rank.py'} {out}\n", "-n", "2",
        env=_env(tmp_path), cwd=tmp_path)
    assert (batch.state, batch.exit_code) == ("COMPLETED", 0), batch.output
    r0, r1 = _ranks(out)
    job_id = r0["job"]["job_id"]
    assert job_id == r1["job"]["job_id"] and job_id.startswith("slurm:")
    assert job_id.endswith(f":{batch.job_id}.0")  # cluster name, job id, step
    shown = wp_json(tmp_path, "show", r0["job"]["job_id"])
    assert shown["status"] == "finished" and [p["rank"] for p in shown["by_rank"]] == [0, 1]


def test_two_slurm_nodes_on_one_machine_count_host_devices_once(slurm_two_nodes, tmp_path):
    """``srun -N 2``: both tasks are local rank 0 of their "node", yet they share this
    machine's CPU package and memory. In machine mode exactly one of them counts the
    whole host (host identity comes from the machine, not from SLURM_NODEID)."""
    out = tmp_path / "out"
    out.mkdir()
    proc = slurm_two_nodes.run(["srun", "-N", "2", "-n", "2", sys.executable,
                                str(DIST / "plain_rank.py"), str(out), "--mode", "machine"],
                               env=_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr + slurm_two_nodes.logs()
    r0, r1 = _ranks(out)
    assert (r0["job"]["node_rank"], r1["job"]["node_rank"]) == (0, 1)
    assert r0["job"]["local_rank"] == r1["job"]["local_rank"] == 0
    assert r0["job"]["host_id"] == r1["job"]["host_id"]
    counted = [r for r in (r0, r1) if r["devices"]]
    assert len(counted) == 1, (r0["devices"], r1["devices"])
    assert {"cpu-model", "ram-model"} <= set(counted[0]["devices"])
    job = r0["job_result"]
    assert job["energy_j"] == pytest.approx(counted[0]["energy_j"], rel=1e-9)


RAY_DRIVER = textwrap.dedent("""
    import json, os, sys
    import ray
    import ray.train
    import torch
    import torch.distributed as dist
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer, prepare_model

    out, ledger = sys.argv[1], sys.argv[2]

    def loop(config):
        import wattprint
        model = prepare_model(torch.nn.Linear(16, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with wattprint.track("ray-job", ledger=config["ledger"]) as run:
            for _ in range(5):
                loss = model(torch.randn(32, 16)).pow(2).mean()
                loss.backward()
                opt.step()
                opt.zero_grad()
                run.count(samples=32)
        rank = ray.train.get_context().get_world_rank()
        with open(os.path.join(config["out"], f"rank{rank}.json"), "w") as f:
            json.dump({"job": run.job.to_dict(), "energy_j": run.result.energy_j,
                       "job_result": run.job_result.to_dict() if run.job_result else None}, f)
        ray.train.report({"done": 1})

    ray.init()
    TorchTrainer(loop, train_loop_config={"out": out, "ledger": ledger},
                 scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
                 run_config=RunConfig(storage_path=out, name="wp")).fit()
""")


def test_ray_train_torch_trainer_is_one_job(ray_cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ledger = tmp_path / "ledger.db"
    proc = ray_cluster.run_python(RAY_DRIVER, str(out), str(ledger), timeout=300,
                                  env={"WATTPRINT_RUNTIME_DIR": str(tmp_path / "rt")})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    r0, r1 = _ranks(out)
    assert r0["job"]["engine"] == "ray" and r0["job"]["job_id"] == r1["job"]["job_id"]
    job = r0["job_result"]
    assert job["missing_ranks"] == [] and job["counters"]["samples"] == 2 * 5 * 32
    assert job["energy_j"] == pytest.approx(r0["energy_j"] + r1["energy_j"], rel=1e-9)
    listed = wp_json(tmp_path, "runs", env=_env(tmp_path, WATTPRINT_LEDGER=str(ledger)))
    assert len(listed) == 1
