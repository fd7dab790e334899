"""Who this process is in a distributed job, read from the engine that launched it.

Nothing is configured by hand: torchrun / torch elastic, Slurm, MPI (Open MPI, MPICH /
Hydra, PMIx) and Ray Train each leave their own variables in a rank's environment (see
``docs/distributed.md`` for the table). :func:`detect_job` reads them in a fixed order —
the innermost launcher first, so ``srun torchrun …`` is a torchrun job whose ranks are
torchrun's — and returns a :class:`JobIdentity`, or None for a plain single process.

Overrides, for anything else: ``WATTPRINT_JOB_ID`` names the job (ranks then come from
the engine's variables if any, else ``WATTPRINT_RANK`` / ``WATTPRINT_WORLD_SIZE`` /
``WATTPRINT_LOCAL_RANK``), and ``job=`` on :func:`wattprint.track`. The machine is
identified by :func:`host_id` (``/etc/machine-id``, not the host name and never
``SLURM_NODEID``: two Slurm "nodes" on one machine share its CPU package and DRAM);
``WATTPRINT_HOST_ID`` overrides it (tests that play several hosts on one machine).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from ..errors import UsageError

__all__ = ["JobIdentity", "detect_job", "host_id", "as_identity", "owned_gpus",
           "slurm_tasks_on_node", "ENGINES"]

#: Engines recognised, in detection order.
ENGINES = ("wattprint", "torchrun", "ray", "torch", "slurm", "mpi", "manual")


@dataclass(frozen=True)
class JobIdentity:
    """One process's place in a distributed job.

    ``job_id`` is the same in every rank of the job and on every host (``engine:id``);
    ``rank`` / ``world_size`` are global; ``local_rank`` / ``local_world_size`` count the
    ranks on this host as the engine sees it; ``node_rank`` is the engine's node index.
    ``host_id`` identifies the physical machine (what host-level energy belongs to).
    ``launcher`` is True for the process that started the ranks (``wattprint run --
    torchrun …``), which measures what no rank measures."""

    engine: str
    job_id: str
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int | None = None
    node_rank: int | None = None
    host_id: str = ""
    launcher: bool = False

    @property
    def is_global_zero(self) -> bool:
        return self.rank == 0 and not self.launcher

    @property
    def part_prefix(self) -> str:
        """How this part's devices are named in the whole job (``r3/nvml:0``)."""
        return "launcher" if self.launcher else f"r{self.rank}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobIdentity":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


_host_id_cache: str | None = None


def host_id(env: Mapping[str, str] | None = None) -> str:
    """A stable id of this physical machine: ``WATTPRINT_HOST_ID`` if set, else a hash of
    ``/etc/machine-id`` (or ``/var/lib/dbus/machine-id``) with the host name, else the
    host name. Containers that share a machine id share host-level sensors, as they
    should."""
    global _host_id_cache
    env = os.environ if env is None else env
    override = env.get("WATTPRINT_HOST_ID", "").strip()
    if override:
        return override
    if _host_id_cache is None:
        import hashlib  # here, not at import: a process outside any job never loads it
        import socket

        machine = ""
        for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
            try:
                with open(path, encoding="ascii", errors="replace") as f:
                    machine = f.read().strip()
            except OSError:
                continue
            if machine:
                break
        name = socket.gethostname() or "localhost"
        if machine:
            digest = hashlib.sha256(f"{machine}\0{name}".encode()).hexdigest()[:12]
            _host_id_cache = f"{name}-{digest}"
        else:
            _host_id_cache = name
    return _host_id_cache


def _int(env: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise UsageError(f"{name}={value!r} in the environment is not an integer; "
                                 "the launcher set it wrong, or unset it") from None
    return None


def _torch_ranks(env: Mapping[str, str]) -> dict[str, Any] | None:
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    if rank is None or world is None:
        return None
    return dict(rank=rank, world_size=world, local_rank=_int(env, "LOCAL_RANK") or 0,
                local_world_size=_int(env, "LOCAL_WORLD_SIZE"),
                node_rank=_int(env, "GROUP_RANK", "NODE_RANK"))


def _torch_group(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Ranks from an initialised ``torch.distributed`` default group (only when torch is
    already imported): Lightning's DDP launcher sets no ``RANK`` in its processes."""
    dist = sys.modules.get("torch.distributed")
    if dist is None:
        return None
    try:
        if not (dist.is_available() and dist.is_initialized()):
            return None
        rank, world = int(dist.get_rank()), int(dist.get_world_size())
    except Exception:  # noqa: BLE001
        return None
    if world <= 1:
        return None
    return dict(rank=rank, world_size=world, local_rank=_int(env, "LOCAL_RANK") or 0,
                local_world_size=_int(env, "LOCAL_WORLD_SIZE"),
                node_rank=_int(env, "GROUP_RANK", "NODE_RANK"))


def _group_job_id(env: Mapping[str, str]) -> str | None:
    """A job id for a process group without an elastic run id (Lightning's own DDP
    launcher sets no id at all): one agreed through the group's store — the first rank to
    ask puts a fresh id there, the others read it — so two launches that happen to use
    the same port are never one job; else the rendezvous endpoint."""
    try:
        import uuid

        from torch.distributed import distributed_c10d

        store = distributed_c10d._get_default_store()
        fresh = f"torch:{uuid.uuid4().hex[:16]}"
        value = store.compare_set("wattprint/job-id", "", fresh)
        value = value.decode() if isinstance(value, bytes) else str(value)
        if value.startswith("torch:"):
            return value
    except Exception:  # noqa: BLE001 - no store: the endpoint below
        pass
    if env.get("MASTER_PORT"):
        return f"torch:{env.get('MASTER_ADDR', 'localhost')}:{env['MASTER_PORT']}"
    return None


def _slurm(env: Mapping[str, str]) -> dict[str, Any] | None:
    job = env.get("SLURM_JOB_ID", "").strip() or env.get("SLURM_JOBID", "").strip()
    rank = _int(env, "SLURM_PROCID")
    if not job or rank is None:
        return None
    step = env.get("SLURM_STEP_ID", "").strip() or env.get("SLURM_STEPID", "").strip()
    # job ids are per cluster (a new cluster starts again at 1): the cluster names them
    cluster = env.get("SLURM_CLUSTER_NAME", "").strip()
    job = f"{cluster}:{job}" if cluster else job
    job_id = f"slurm:{job}.{step}" if step else f"slurm:{job}"
    node = _int(env, "SLURM_NODEID")
    return dict(engine="slurm", job_id=job_id, rank=rank,
                world_size=_int(env, "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS") or 1,
                local_rank=_int(env, "SLURM_LOCALID") or 0,
                local_world_size=slurm_tasks_on_node(
                    env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE"),
                    node or 0),
                node_rank=node)


def slurm_tasks_on_node(spec: str | None, node: int) -> int | None:
    """Tasks on node ``node`` from Slurm's compressed list (``"2(x3),1"``: 2 tasks on
    each of the first three nodes, 1 on the fourth); None when absent or unreadable."""
    if not spec:
        return None
    counts: list[int] = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if m is None:
            return None
        counts.extend([int(m.group(1))] * int(m.group(2) or 1))
    return counts[node] if 0 <= node < len(counts) else None


def owned_gpus(n_visible: int, job: JobIdentity | None) -> list[int]:
    """Which of the ``n_visible`` GPUs this process measures (positions in its visible
    list). Alone, or when it sees one GPU: all of them. In a job whose ranks on this
    machine see the same GPUs: an even, contiguous split by local rank (rank ``r`` of
    ``L`` measures ``[r·n/L, (r+1)·n/L)``), so each GPU is measured once; with more ranks
    than GPUs, GPU ``g`` is measured by local rank ``g``. A launcher (``wattprint run --
    torchrun …``) keeps every GPU, attributed to its own process tree, from which the
    ranks that measure themselves are left out: each process's share is counted once."""
    if job is None or n_visible <= 1 or job.launcher:
        return list(range(n_visible))
    ranks = job.local_world_size
    if not ranks:
        return [job.local_rank] if job.local_rank < n_visible else []
    if ranks >= n_visible:
        return [job.local_rank] if job.local_rank < n_visible else []
    lo = job.local_rank * n_visible // ranks
    hi = (job.local_rank + 1) * n_visible // ranks
    return list(range(lo, hi))


def _mpi(env: Mapping[str, str]) -> dict[str, Any] | None:
    rank = _int(env, "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK")
    world = _int(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
    if rank is None or world is None:
        return None
    ns = (env.get("PMIX_NAMESPACE") or env.get("OMPI_MCA_ess_base_jobid")
          or env.get("PMI_KVSNAME") or env.get("PMI_ID") or "")
    if not ns:
        return None  # ranks but no job name: cannot tell two jobs apart
    return dict(engine="mpi", job_id=f"mpi:{ns}", rank=rank, world_size=world,
                local_rank=_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID") or 0,
                local_world_size=_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"),
                node_rank=_int(env, "OMPI_COMM_WORLD_NODE_RANK"))


def _ray() -> dict[str, Any] | None:
    """A Ray Train worker (only when ``ray`` is already imported: never imported here)."""
    ray = sys.modules.get("ray")
    if ray is None:
        return None
    try:
        if not ray.is_initialized():
            return None
        job = ray.get_runtime_context().get_job_id()
        train = sys.modules.get("ray.train")
        if train is None:
            return None
        ctx = train.get_context()
        rank, world = ctx.get_world_rank(), ctx.get_world_size()
        if rank is None or world is None:
            return None
        # one fit() of a trainer: its workers share the driver's job id and the
        # placement group (a second fit() in the same driver gets another)
        run = ""
        try:
            run = ray.get_runtime_context().get_placement_group_id() or ""
        except Exception:  # noqa: BLE001
            pass
        if not run:
            try:
                run = ctx.get_experiment_name() or ""
            except Exception:  # noqa: BLE001 - older Ray: the job id alone
                pass
        return dict(engine="ray", job_id=f"ray:{job}:{run}" if run else f"ray:{job}",
                    rank=int(rank), world_size=int(world),
                    local_rank=int(ctx.get_local_rank() or 0),
                    local_world_size=ctx.get_local_world_size(),
                    node_rank=ctx.get_node_rank())
    except Exception:  # noqa: BLE001 - not inside a Ray Train worker
        return None


def detect_job(env: Mapping[str, str] | None = None, *, ray: bool = True) -> JobIdentity | None:
    """This process's :class:`JobIdentity`, or None when it is not part of a job of more
    than one process (and no ``WATTPRINT_JOB_ID`` is set). ``env`` defaults to
    ``os.environ``; ``ray=False`` skips the Ray Train context."""
    env = os.environ if env is None else env
    found: dict[str, Any] | None = None
    launcher_job = env.get("WATTPRINT_LAUNCHER_JOB", "").strip()
    run_id = env.get("TORCHELASTIC_RUN_ID", "").strip()
    torch_ranks = _torch_ranks(env)
    if run_id and torch_ranks is not None:
        # "none" is torchrun's default --rdzv-id: one launch is told apart by its
        # rendezvous endpoint and the elastic agent (the ranks' common parent) instead
        key = run_id
        if run_id == "none":
            key = (f"{env.get('MASTER_ADDR', '')}:{env.get('MASTER_PORT', '')}:"
                   f"{env.get('TORCHELASTIC_AGENT_PID') or os.getppid()}")
        found = dict(engine="torchrun", job_id=f"torchrun:{key}", **torch_ranks)
    if found is None and ray:
        found = _ray()
    if found is None:
        # torch.distributed without an elastic agent (Lightning's DDP launcher,
        # accelerate, hand-made): ranks from the initialised group (Lightning sets no
        # RANK), the job named through the group's store
        group = _torch_group(env)
        job_id = _group_job_id(env) if group is not None else None
        if group is not None and job_id:
            found = dict(engine="torch", job_id=job_id, **group)
    if found is None and torch_ranks is not None and env.get("MASTER_PORT"):
        # env:// variables but no group yet: the rendezvous endpoint names the job
        found = dict(engine="torch",
                     job_id=f"torch:{env.get('MASTER_ADDR', 'localhost')}:"
                            f"{env['MASTER_PORT']}",
                     **torch_ranks)
    if found is None:
        found = _slurm(env)
    if found is None:
        found = _mpi(env)
    override = env.get("WATTPRINT_JOB_ID", "").strip()
    if override or launcher_job:
        if found is None:
            found = dict(engine="manual",
                         rank=_int(env, "WATTPRINT_RANK") or 0,
                         world_size=_int(env, "WATTPRINT_WORLD_SIZE") or 1,
                         local_rank=_int(env, "WATTPRINT_LOCAL_RANK") or 0,
                         local_world_size=None, node_rank=None)
        found["job_id"] = override or launcher_job
    if found is None:
        return None
    if found["world_size"] < 1 or not 0 <= found["rank"] < found["world_size"]:
        raise UsageError(f"rank {found['rank']} of world size {found['world_size']} from "
                         f"the {found['engine']} environment is not a valid rank; check the "
                         "launcher's variables (docs/distributed.md)")
    return JobIdentity(host_id=host_id(env), **found)


def as_identity(job: Any, env: Mapping[str, str] | None = None) -> JobIdentity | None:
    """What ``job=`` of :func:`wattprint.track` means: None (detect), False (not a job),
    a job id string (this process in that job, ranks from the environment) or a
    :class:`JobIdentity`."""
    if job is False:
        return None
    if job is None or job is True:
        return detect_job(env)
    if isinstance(job, JobIdentity):
        return job if job.host_id else replace(job, host_id=host_id(env))
    if isinstance(job, str) and job.strip():
        detected = detect_job(env)
        if detected is not None:
            return replace(detected, job_id=job.strip())
        return JobIdentity(engine="manual", job_id=job.strip(), host_id=host_id(env))
    raise UsageError(f"job={job!r} is not a job; pass a job id string, a "
                     "wattprint.distributed.JobIdentity, False (not part of a job) or "
                     "nothing (detected from the launcher)")
