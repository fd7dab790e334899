"""A rank process for tests and for ``docs/distributed-engines.md``: writes what it sees
(launcher variables, pid, parent pid, host) to ``OUTDIR/rank-<pid>.json``
(``rank-<pid>-<stage>.json`` when called with ``stage=``).

    python rank_probe.py OUTDIR [--all-reduce]

``--all-reduce`` also joins the gloo process group from the environment (``env://``) and
records the sum of ones over all ranks (the world size if the group works)."""

from __future__ import annotations

import json
import os
import socket
import sys

PREFIXES = ("SLURM_", "SLURMD_", "TORCHELASTIC_", "PET_", "RAY_", "OMPI_", "PMI_", "PMIX_",
            "ACCELERATE_", "PL_", "LIGHTNING_", "MASTER_", "GLOO_", "CUDA_VISIBLE", "HIP_VISIBLE")
NAMES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
         "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME", "NODE_RANK",
         "OMP_NUM_THREADS")


def launcher_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items())
            if k in NAMES or k.startswith(PREFIXES)}


def probe(outdir: str, all_reduce: bool = False, **extra: object) -> dict[str, object]:
    info: dict[str, object] = {"pid": os.getpid(), "ppid": os.getppid(),
                               "host": socket.gethostname(), "env": launcher_env(), **extra}
    if all_reduce:
        import torch
        import torch.distributed as dist
        dist.init_process_group("gloo")
        t = torch.ones(1)
        dist.all_reduce(t)
        info.update(all_reduce=t.item(), dist_rank=dist.get_rank(),
                    dist_world_size=dist.get_world_size())
        dist.destroy_process_group()
    name = f"rank-{os.getpid()}" + (f"-{extra['stage']}" if "stage" in extra else "")
    with open(os.path.join(outdir, f"{name}.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def read_probes(outdir: object) -> list[dict]:
    """Every probe written to ``outdir``, ordered by global rank where there is one."""
    from pathlib import Path
    found = [json.loads(p.read_text()) for p in sorted(Path(str(outdir)).glob("rank-*.json"))]
    return sorted(found, key=lambda i: int(i["env"].get("RANK", i["env"].get(
        "SLURM_PROCID", i.get("dist_rank", 0)))))


if __name__ == "__main__":
    probe(sys.argv[1], all_reduce="--all-reduce" in sys.argv[2:])
