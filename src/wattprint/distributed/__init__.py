"""Distributed jobs: one run per job across ranks, hosts and engines, counted once.

    # nothing to configure: under torchrun, Slurm, MPI, Lightning DDP or Ray Train
    with wattprint.track("pretrain", ledger=True) as run:
        ...
    run.job            # JobIdentity: engine, job id, rank, local rank, host
    run.job_result     # on global rank 0: the job's totals (JobResult), else None

- :func:`detect_job` reads the job from the launcher's environment (:mod:`._identity`).
- Each rank measures what it owns (:mod:`._registry`, :func:`owned_gpus`): its GPUs, and
  its own share of host-level sensors over a process tree that leaves out the other
  ranks, so the parts add up to the job exactly once.
- :func:`merge_parts` is the one rule that turns the parts (live results or ledger
  records) into a :class:`JobResult`; the ledger shows one row per job.
"""

from typing import Any

from ._identity import (ENGINES, JobIdentity, as_identity, detect_job, host_id, owned_gpus,
                        slurm_tasks_on_node)

_MERGE = ("JobPart", "JobResult", "merge_parts")


def __getattr__(name: str) -> Any:
    """The merge classes load on first use: a tracker outside any job never needs them."""
    if name in _MERGE:
        from . import _merge

        return getattr(_merge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["JobIdentity", "detect_job", "host_id", "as_identity", "owned_gpus",
           "slurm_tasks_on_node", "ENGINES", "JobPart", "JobResult", "merge_parts"]
