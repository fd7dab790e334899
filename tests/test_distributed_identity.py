"""Job identity from the launchers' environments, GPU ownership, the rank registry and the
process tree that leaves the other ranks out, and the merge rules."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from wattprint.distributed import (JobIdentity, JobPart, as_identity, detect_job, merge_parts,
                                   owned_gpus, slurm_tasks_on_node)
from wattprint.distributed._registry import JobRegistry
from wattprint.errors import UsageError
from wattprint.result import DeviceEnergy, PhaseEnergy

HOST = {"WATTPRINT_HOST_ID": "host-a"}


def test_plain_process_is_not_a_job():
    assert detect_job({}, ray=False) is None
    # a single-rank torch env without a rendezvous port is not a job either
    assert detect_job({"RANK": "0", "WORLD_SIZE": "1"}, ray=False) is None


def test_torchrun_identity():
    env = {**HOST, "TORCHELASTIC_RUN_ID": "r1", "RANK": "3", "WORLD_SIZE": "4",
           "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "GROUP_RANK": "1",
           "MASTER_ADDR": "n0", "MASTER_PORT": "29500"}
    job = detect_job(env, ray=False)
    assert job == JobIdentity(engine="torchrun", job_id="torchrun:r1", rank=3, world_size=4,
                              local_rank=1, local_world_size=2, node_rank=1, host_id="host-a")
    assert not job.is_global_zero


def test_torchrun_default_rdzv_id_is_told_apart_by_endpoint_and_agent():
    base = {**HOST, "TORCHELASTIC_RUN_ID": "none", "RANK": "0", "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1"}
    a = detect_job({**base, "MASTER_PORT": "1", "TORCHELASTIC_AGENT_PID": "10"}, ray=False)
    b = detect_job({**base, "MASTER_PORT": "2", "TORCHELASTIC_AGENT_PID": "10"}, ray=False)
    assert a.job_id != b.job_id and a.job_id.startswith("torchrun:")


def test_srun_inside_torchrun_is_torchruns_job():
    env = {**HOST, "SLURM_JOB_ID": "77", "SLURM_PROCID": "0", "SLURM_NTASKS": "1",
           "TORCHELASTIC_RUN_ID": "x", "RANK": "1", "WORLD_SIZE": "2"}
    job = detect_job(env, ray=False)
    assert (job.engine, job.rank, job.world_size) == ("torchrun", 1, 2)


def test_slurm_identity_and_tasks_per_node():
    env = {**HOST, "SLURM_JOB_ID": "77", "SLURM_STEP_ID": "0", "SLURM_PROCID": "3",
           "SLURM_NTASKS": "4", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_TASKS_PER_NODE": "2(x2)"}
    job = detect_job(env, ray=False)
    assert (job.engine, job.job_id, job.rank, job.world_size, job.local_rank,
            job.local_world_size, job.node_rank) == ("slurm", "slurm:77.0", 3, 4, 1, 2, 1)
    # job ids restart at 1 on every cluster: the cluster's name keeps them apart
    named = detect_job({**env, "SLURM_CLUSTER_NAME": "alps"}, ray=False)
    assert named.job_id == "slurm:alps:77.0"
    assert slurm_tasks_on_node("2(x3),1", 3) == 1
    assert slurm_tasks_on_node("2(x3),1", 4) is None
    assert slurm_tasks_on_node("garbage", 0) is None


def test_mpi_identity_needs_a_job_name():
    env = {**HOST, "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
           "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}
    assert detect_job(env, ray=False) is None
    job = detect_job({**env, "PMIX_NAMESPACE": "prterun-x-1@1"}, ray=False)
    assert (job.engine, job.job_id, job.local_world_size) == ("mpi", "mpi:prterun-x-1@1", 2)


def test_override_and_launcher_variables():
    job = detect_job({**HOST, "WATTPRINT_JOB_ID": "exp-7", "WATTPRINT_RANK": "1",
                      "WATTPRINT_WORLD_SIZE": "2"}, ray=False)
    assert (job.engine, job.job_id, job.rank, job.world_size) == ("manual", "exp-7", 1, 2)
    # ranks under `wattprint run -- torchrun` keep torchrun's ranks, join the launcher's job
    job = detect_job({**HOST, "WATTPRINT_LAUNCHER_JOB": "wattprint:abc",
                      "TORCHELASTIC_RUN_ID": "r", "RANK": "1", "WORLD_SIZE": "2"}, ray=False)
    assert (job.engine, job.job_id, job.rank) == ("torchrun", "wattprint:abc", 1)


def test_bad_engine_values_are_clear_errors():
    with pytest.raises(UsageError, match="RANK='x'"):
        detect_job({"TORCHELASTIC_RUN_ID": "r", "RANK": "x", "WORLD_SIZE": "2"}, ray=False)
    with pytest.raises(UsageError, match="rank 5 of world size 2"):
        detect_job({"TORCHELASTIC_RUN_ID": "r", "RANK": "5", "WORLD_SIZE": "2"}, ray=False)
    with pytest.raises(UsageError, match="job=3"):
        as_identity(3)
    assert as_identity(False) is None
    assert as_identity("mine", {**HOST}).job_id == "mine"


@pytest.mark.parametrize("n_gpus, local_ranks, expected", [
    (8, 8, [[0], [1], [2], [3], [4], [5], [6], [7]]),
    (8, 2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
    (2, 4, [[0], [1], [], []]),
    (1, 4, [[0], [0], [0], [0]]),  # each rank sees only its own GPU
])
def test_every_gpu_is_measured_by_exactly_one_rank(n_gpus, local_ranks, expected):
    owned = [owned_gpus(n_gpus, JobIdentity("torchrun", "j", rank=r, world_size=local_ranks,
                                            local_rank=r, local_world_size=local_ranks))
             for r in range(local_ranks)]
    assert owned == expected
    if n_gpus > 1:
        flat = sorted(g for o in owned for g in o)
        assert flat == list(range(n_gpus))
    assert owned_gpus(4, None) == [0, 1, 2, 3]


BURN = ("import os, sys, time\n"
        "from wattprint.distributed._registry import JobRegistry\n"
        "JobRegistry('job-x', 'h', root=sys.argv[1]).register('1')\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < float(sys.argv[2]): pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.read()\n")


def _child(root, seconds):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", BURN, str(root), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def test_a_rank_below_another_is_left_out_of_its_tree_even_after_it_is_reaped(tmp_path):
    """Lightning's DDP launcher: rank 1 is a child of rank 0. Rank 0's tree must not
    count rank 1's CPU, neither while it runs nor when rank 0 reaps it (Linux then adds
    the child's CPU time to the parent's children times)."""
    from wattprint._proctree import ProcessTree

    registry = JobRegistry("job-x", "h", root=str(tmp_path))
    registry.register("0")
    tree = ProcessTree(exclude=lambda: registry.peers(exclude=os.getpid()), refresh_s=0.0)
    plain = ProcessTree(refresh_s=0.0)
    child = _child(tmp_path, 1.0)
    assert child.stdout.readline().strip() == "done"
    deadline = time.monotonic() + 60
    while not registry.peers(exclude=os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert registry.peers(exclude=os.getpid()) == {child.pid}
    assert plain.cpu_s() >= 0.9  # the control: a plain tree sees the child's second
    assert tree.cpu_s() < 0.5
    child.communicate("")  # the child exits; this process reaps it
    assert plain.cpu_s() >= 0.9
    assert tree.cpu_s() < 0.5
    registry.close()


MARKED = ("import sys\n"
          "from wattprint.distributed._registry import JobRegistry\n"
          "r = JobRegistry('job-m', 'h', root=sys.argv[1])\n"
          "r.register('1', cpu_start_s=1.25)\n"
          "print('up', flush=True)\n"
          "sys.stdin.readline()\n"
          "r.close(cpu_stop_s=3.5)\n")


def test_a_rank_below_a_member_leaves_its_marks_for_it_and_one_alone_leaves_nothing(tmp_path):
    """The marks of what a rank counted itself reach the member above it (whose tree left
    it out), which uses them up once it has reaped the rank; a rank with no member above
    removes its own file at its stop."""
    above = JobRegistry("job-m", "h", root=str(tmp_path))
    above.register("launcher", cpu_start_s=0.0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", MARKED, str(tmp_path)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "up"
    deadline = time.monotonic() + 60
    while child.pid not in above.peers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert above.counted(child.pid) == (1.25, None)  # still measuring itself
    child.communicate("stop\n", timeout=60)
    assert above.counted(child.pid) == (1.25, 3.5)
    assert above.counted(child.pid, final=True) == (1.25, 3.5)
    assert sorted(os.listdir(above.folder)) == ["launcher.pid"]
    assert above.counted(child.pid) == (None, None)  # used up
    above.close(cpu_stop_s=9.0)  # nobody above the launcher: its file goes
    assert os.listdir(above.folder) == []
    # a rank whose registration someone else's file took over gives no marks
    alone = JobRegistry("job-n", "h", root=str(tmp_path))
    alone.register("0", cpu_start_s=2.0)
    assert alone.peers() == {os.getpid()}
    with open(os.path.join(alone.folder, "0.pid"), "w", encoding="ascii") as f:
        f.write("1 1 7.0 8.0\n")
    assert alone.counted(os.getpid()) == (None, None)
    alone.close(cpu_stop_s=5.0)


def test_registry_ignores_dead_members_and_one_process_owns_the_host(tmp_path):
    a = JobRegistry("job-y", "h", root=str(tmp_path))
    b = JobRegistry("job-y", "h", root=str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    a.register("0")
    b.register("1", pid=dead.pid)
    assert a.peers() == {os.getpid()}
    assert a.claim_host() is True
    # another open file description of the same lock: a second process would fail
    assert b.claim_host() is False
    a.close()
    assert b.claim_host() is True
    b.close()


def _dev(energy_j, domain="cpu", kind="modelled"):
    return DeviceEnergy(name=domain, domain=domain, kind=kind, device="", energy_j=energy_j,
                        device_energy_j=energy_j, mean_power_w=0.0, peak_power_w=1.0,
                        samples=1, counted=True, provenance={"uncertainty": 0.1})


def _part(rank, energy_j, status="finished", world=2, host="h", counters=None, run_id=None):
    job = JobIdentity("torchrun", "j", rank=rank, world_size=world, local_rank=rank,
                      host_id=host)
    return JobPart(job=job, status=status, started_at="2026-12-01T00:00:00+00:00",
                   duration_s=10.0 + rank, devices=[_dev(energy_j)],
                   phases=[PhaseEnergy("train", energy_j, 9.0, 1, {"cpu": energy_j},
                                       dict(counters or {}))],
                   counters=dict(counters or {}), run_id=run_id or f"run{rank}{host}")


def test_merge_rules():
    job = merge_parts([_part(0, 100.0, counters={"tokens": 10, "steps": 5}),
                       _part(1, 50.0, status="failed", counters={"tokens": 30, "steps": 5})])
    assert job.energy_j == 150.0 and job.status == "failed"
    assert job.counters == {"tokens": 40, "steps": 5}  # steps are taken together
    assert job.per_unit["j_per_token"] == 150.0 / 40
    assert job.duration_s == 11.0 and job.missing_ranks == []
    assert sum(r["energy_j"] for r in job.by_rank()) == job.energy_j
    assert job.phases[0].energy_j == 150.0 and job.phases[0].counters["tokens"] == 40
    assert any("rank 1" in w and "failed" in w for w in job.warnings)
    # a part merged twice (the same ledger imported twice) counts once
    again = merge_parts([_part(0, 100.0), _part(0, 100.0), _part(1, 50.0)])
    assert again.energy_j == 150.0
    # status order: running > failed > interrupted > stopped > finished
    assert merge_parts([_part(0, 1, "interrupted"), _part(1, 1)]).status == "interrupted"
    assert merge_parts([_part(0, 1, "running"), _part(1, 1, "failed")]).status == "running"


def test_missing_ranks_are_named():
    job = merge_parts([_part(0, 10.0, world=4), _part(2, 10.0, world=4)])
    assert job.missing_ranks == [1, 3]
    assert "2 of 4 ranks left no record" in job.warnings[0]


def test_parts_travel_as_plain_data():
    part = _part(1, 12.5, counters={"tokens": 3})
    back = JobPart.from_dict(part.to_dict())
    assert back == part
    with pytest.raises(ValueError, match="different jobs"):
        other = _part(0, 1.0)
        other.job = JobIdentity("slurm", "k")
        merge_parts([part, other])



# -- ownership inside real trackers (NVML faked: no GPU on this machine) -----------------
def _tracker(job, mode, nvml, tmp_path):
    import wattprint

    return wattprint.Tracker(mode=mode, job=job, rapl_root=str(tmp_path / "no-rapl"),
                             detect_options={"nvml": nvml}).start()


@pytest.mark.parametrize("mode", ["process", "machine"])
def test_each_gpu_and_the_host_are_measured_once_per_machine(tmp_path, monkeypatch, mode):
    from wattprint.testing.fake_nvml import FakeNVML

    monkeypatch.setenv("WATTPRINT_RUNTIME_DIR", str(tmp_path / "rt"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = FakeNVML(4)
    ranks = [JobIdentity("torchrun", "job-own", rank=r, world_size=2, local_rank=r,
                         local_world_size=2, host_id="h") for r in (0, 1)]
    trackers = [_tracker(job, mode, nvml, tmp_path) for job in ranks]
    try:
        names = [sorted(s.name for s in t._sampler.sensors) for t in trackers]
    finally:
        for t in trackers:
            t.stop()
    assert [n for n in names[0] if n.startswith("nvml")] == ["nvml:0", "nvml:1"]
    assert [n for n in names[1] if n.startswith("nvml")] == ["nvml:2", "nvml:3"]
    host = [[n for n in ns if not n.startswith("nvml")] for ns in names]
    if mode == "machine":  # whole host devices: one process of the job per machine
        assert sum(bool(h) for h in host) == 1
    else:  # each rank its own share, over its own process tree
        assert all(h for h in host)


def test_a_launcher_in_machine_mode_holds_every_whole_device(tmp_path, monkeypatch):
    from wattprint.testing.fake_nvml import FakeNVML

    monkeypatch.setenv("WATTPRINT_RUNTIME_DIR", str(tmp_path / "rt"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = FakeNVML(2)
    launcher = _tracker(JobIdentity("wattprint", "job-l", launcher=True, host_id="h"),
                        "machine", nvml, tmp_path)
    rank = _tracker(JobIdentity("torchrun", "job-l", rank=0, world_size=2, local_rank=0,
                                local_world_size=2, host_id="h"), "machine", nvml, tmp_path)
    try:
        launcher_names = {s.name for s in launcher._sampler.sensors}
        rank_names = {s.name for s in rank._sampler.sensors}
    finally:
        rank.stop()
        launcher.stop()
    assert {"nvml:0", "nvml:1"} <= launcher_names and len(launcher_names) > 2
    assert rank_names == set()
