"""The real-engine fixtures work: Slurm runs one- and two-node steps and batch jobs, Ray
runs a two-worker TorchTrainer on loopback only, torchrun runs gloo ranks. Each test also
pins the launcher variables wattprint's job identity relies on (docs/distributed-engines.md)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

import psutil

from _services import loopback_run, torchrun
from _services._proc import APT_SLURM, require
from _services.rank_probe import read_probes

PROBE = Path(__file__).parent / "_services" / "rank_probe.py"


def test_a_missing_service_fails_naming_its_install_command() -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y slurmctld"):
        require("slurmd-that-does-not-exist", APT_SLURM)


def test_srun_runs_two_tasks_of_one_step(slurm_cluster, tmp_path) -> None:
    proc = slurm_cluster.run(["srun", "-n", "2", sys.executable, str(PROBE), str(tmp_path)],
                             timeout=60)
    assert proc.returncode == 0, proc.stderr + slurm_cluster.logs()
    ranks = read_probes(tmp_path)
    envs = [r["env"] for r in ranks]
    assert [e["SLURM_PROCID"] for e in envs] == ["0", "1"]
    assert {e["SLURM_LOCALID"] for e in envs} == {"0", "1"}
    assert {(e["SLURM_CLUSTER_NAME"], e["SLURM_JOB_ID"], e["SLURM_STEP_ID"], e["SLURM_NTASKS"],
             e["SLURMD_NODENAME"], e["SLURM_NODEID"]) for e in envs} == {
        (slurm_cluster.name, envs[0]["SLURM_JOB_ID"], "0", "2", "localhost", "0")}


def test_srun_two_nodes_places_one_task_on_each(slurm_two_nodes, tmp_path) -> None:
    proc = slurm_two_nodes.run(["srun", "-N", "2", "-n", "2", sys.executable, str(PROBE),
                                str(tmp_path)], timeout=60)
    assert proc.returncode == 0, proc.stderr + slurm_two_nodes.logs()
    envs = [r["env"] for r in read_probes(tmp_path)]
    assert [(e["SLURM_PROCID"], e["SLURMD_NODENAME"], e["SLURM_NODEID"], e["SLURM_LOCALID"])
            for e in envs] == [("0", "n1", "0", "0"), ("1", "n2", "1", "0")]
    assert {e["SLURM_JOB_NUM_NODES"] for e in envs} == {"2"}
    # both "nodes" are this one machine: host identity must not come from SLURM_NODEID
    assert len({r["host"] for r in read_probes(tmp_path)}) == 1


def test_sbatch_runs_a_batch_job_to_completion(slurm_cluster, tmp_path) -> None:
    job = slurm_cluster.sbatch(f"srun {sys.executable} {PROBE} {tmp_path}\necho finished\n",
                               "-n", "2", cwd=tmp_path)
    assert (job.state, job.exit_code, job.output.strip()) == ("COMPLETED", 0, "finished")
    ranks = read_probes(tmp_path)
    envs = [r["env"] for r in ranks]
    assert [(e["SLURM_JOB_ID"], e["SLURM_STEP_ID"], e["SLURM_PROCID"]) for e in envs] == [
        (job.job_id, "0", "0"), (job.job_id, "0", "1")]
    # step tasks are children of the step's slurmstepd, not of the batch script
    assert ranks[0]["ppid"] == ranks[1]["ppid"]
    failed = slurm_cluster.sbatch("echo failing; exit 3\n", cwd=tmp_path)
    assert (failed.state, failed.exit_code) == ("FAILED", 3)


TRAINER = textwrap.dedent("""
    import json, os, sys
    import ray
    import ray.train
    import torch
    import torch.distributed as dist
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer, prepare_model

    out = sys.argv[1]

    def loop(config):
        sys.path.insert(0, config["probe_dir"])
        from rank_probe import probe
        ctx = ray.train.get_context()
        model = prepare_model(torch.nn.Linear(4, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(8, 4), torch.randn(8, 1)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        total = torch.ones(1)
        dist.all_reduce(total)
        probe(config["out"], world_rank=ctx.get_world_rank(), all_reduce=False,
              summed=total.item(), backend=dist.get_backend(),
              job_id=ray.get_runtime_context().get_job_id())
        ray.train.report({"loss": loss.item()})

    ray.init()
    trainer = TorchTrainer(loop, train_loop_config={"out": out, "probe_dir": sys.argv[2]},
                           scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
                           run_config=RunConfig(storage_path=out, name="smoke"))
    trainer.fit()
    print(json.dumps({"driver_job_id": ray.get_runtime_context().get_job_id()}))
""")


def test_ray_train_torch_trainer_two_gloo_workers_on_loopback(ray_cluster, tmp_path) -> None:
    proc = ray_cluster.run_python(TRAINER, str(tmp_path), str(PROBE.parent), timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    driver = json.loads(proc.stdout.strip().splitlines()[-1])
    workers = sorted(read_probes(tmp_path), key=lambda r: r["world_rank"])
    assert [(w["world_rank"], w["env"]["RANK"], w["env"]["WORLD_SIZE"], w["summed"],
             w["backend"]) for w in workers] == [(0, "0", "2", 2.0, "gloo"),
                                                 (1, "1", "2", 2.0, "gloo")]
    assert {w["job_id"] for w in workers} == {driver["driver_job_id"]}
    assert {w["env"]["RAY_JOB_ID"] for w in workers} == {driver["driver_job_id"]}
    assert len({w["pid"] for w in workers}) == 2
    # the namespace has no interface but loopback, and Ray listens on nothing else
    interfaces = ray_cluster.interfaces()
    assert list(interfaces) == ["lo"], interfaces
    hosts = {a.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")
             for a in ray_cluster.listening()}
    assert hosts and hosts <= {*interfaces["lo"], "0.0.0.0", "*", "::"}, hosts


@pytest.mark.services
@pytest.mark.slow
def test_torchrun_two_gloo_ranks_all_reduce(tmp_path) -> None:
    proc = torchrun(PROBE, 2, args=[str(tmp_path), "--all-reduce"], timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = read_probes(tmp_path)
    assert [(r["dist_rank"], r["all_reduce"]) for r in ranks] == [(0, 2.0), (1, 2.0)]
    envs = [r["env"] for r in ranks]
    assert [(e["RANK"], e["LOCAL_RANK"], e["WORLD_SIZE"], e["LOCAL_WORLD_SIZE"],
             e["GROUP_RANK"]) for e in envs] == [("0", "0", "2", "2", "0"),
                                                 ("1", "1", "2", "2", "0")]
    assert len({e["TORCHELASTIC_RUN_ID"] for e in envs}) == 1
    # both ranks are children of the torchrun agent, neither of the other
    assert ranks[0]["ppid"] == ranks[1]["ppid"] not in {r["pid"] for r in ranks}


@pytest.mark.services
def test_loopback_run_has_only_lo_and_leaves_nothing_running() -> None:
    proc = loopback_run(["sh", "-c", "ip -o link; sleep 600 >/dev/null 2>&1 & echo $!"],
                        timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [ln.split(":")[1].strip() for ln in lines[:-1]] == ["lo"]
    pid = int(lines[-1])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
