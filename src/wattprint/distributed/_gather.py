"""Bringing a job's parts to global rank 0 when the ranks stop.

Through the job's own engine where a process group exists: the key-value store of the
initialised ``torch.distributed`` default group (the rendezvous store every rank already
talks to). Each rank puts its part under a key and goes on at once; rank 0 waits for the
others' keys with a timeout (``WATTPRINT_GATHER_TIMEOUT_S``, default 30 s), so a rank
that died or hangs never blocks the others, and no collective is issued that could
interleave with the program's own. Without a process group (Slurm or MPI steps without
torch, a tracker started before ``init_process_group``), rank 0 reads the parts the other
ranks recorded in the same ledger, for as long. Parts that never arrive are listed as
missing ranks of the :class:`JobResult`; a later ``wattprint show JOB`` merges whatever
every host recorded.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from datetime import timedelta
from typing import Any, Callable

from ._identity import JobIdentity
from ._merge import JobPart, JobResult, merge_parts

__all__ = ["gather_parts", "gather_timeout_s"]

log = logging.getLogger("wattprint")

_SEQ: dict[str, int] = {}
_SEQ_LOCK = threading.Lock()


def gather_timeout_s() -> float:
    try:
        value = float(os.environ.get("WATTPRINT_GATHER_TIMEOUT_S", "30"))
    except ValueError:
        return 30.0
    return value if 0 <= value < 86400 else 30.0


def _next_seq(job_id: str) -> int:
    """The how-many-th gathered run of this job in this process (ranks agree on it when
    they track the same sequence of runs, as callbacks do)."""
    with _SEQ_LOCK:
        n = _SEQ.get(job_id, 0)
        _SEQ[job_id] = n + 1
        return n


def _torch_store(job: JobIdentity) -> Any:
    """The default process group's store when torch.distributed runs this job's ranks."""
    dist_mod = sys.modules.get("torch.distributed")
    if dist_mod is None or job.launcher:
        return None
    try:
        if not (dist_mod.is_available() and dist_mod.is_initialized()):
            return None
        if dist_mod.get_world_size() != job.world_size or dist_mod.get_rank() != job.rank:
            return None
        from torch.distributed import distributed_c10d

        return distributed_c10d._get_default_store()
    except Exception as err:  # noqa: BLE001 - fall back to the ledger
        log.debug("wattprint: no torch.distributed store: %r", err)
        return None


def _via_store(store: Any, job: JobIdentity, part: JobPart, timeout_s: float
               ) -> list[JobPart] | None:
    prefix = f"wattprint/{job.job_id}/{_next_seq(job.job_id)}/"
    store.set(prefix + str(job.rank), json.dumps(part.to_dict()))
    if job.rank != 0:
        return None
    keys = [prefix + str(r) for r in range(job.world_size)]
    try:
        store.wait(keys, timedelta(seconds=timeout_s))
    except Exception:  # noqa: BLE001 - a timeout: take what arrived
        pass
    parts = [part]
    for r, key in enumerate(keys):
        if r == 0:
            continue
        try:
            if store.check([key]):
                parts.append(JobPart.from_dict(json.loads(store.get(key))))
        except Exception as err:  # noqa: BLE001
            log.warning("wattprint: could not read rank %d's part: %r", r, err)
    return parts


def _via_ledger(parts_of: Callable[[], list[JobPart]], job: JobIdentity, part: JobPart,
                timeout_s: float) -> list[JobPart]:
    """Rank 0 reads the other ranks' parts from the ledger until every rank has one that
    ended (or the timeout). Earlier runs of the same job (a ``fit`` before this ``test``)
    are told apart by their start: a part that began more than
    :data:`SAME_RUN_WINDOW_S` before this one belongs to an earlier run."""
    deadline = time.monotonic() + timeout_s
    mine = _start_s(part.started_at)
    delay = 0.05
    while True:
        found = {p.run_id: p for p in parts_of()
                 if p.run_id != part.run_id and p.status != "running"
                 and _start_s(p.started_at) >= mine - SAME_RUN_WINDOW_S}
        ranks = {p.job.rank for p in found.values() if not p.job.launcher} | {job.rank}
        if len(ranks) >= job.world_size or time.monotonic() >= deadline:
            return [part, *found.values()]
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


#: Parts of one run of a job start within this many seconds of each other.
SAME_RUN_WINDOW_S = 120.0


def _start_s(iso: str) -> float:
    from ._merge import _parse

    try:
        return _parse(iso).timestamp()
    except ValueError:
        return 0.0


def gather_parts(job: JobIdentity, part: JobPart, *,
                 ledger_parts: Callable[[], list[JobPart]] | None = None,
                 timeout_s: float | None = None) -> JobResult | None:
    """The job's :class:`JobResult` on global rank 0 (None on the other ranks, and for a
    job of one process that is not rank 0). ``ledger_parts`` reads the parts recorded in
    the ledger (the fallback without a process group)."""
    timeout_s = gather_timeout_s() if timeout_s is None else timeout_s
    if job.world_size <= 1 and not job.launcher:
        return merge_parts([part])
    store = _torch_store(job)
    if store is not None:
        try:
            parts = _via_store(store, job, part, timeout_s)
        except Exception as err:  # noqa: BLE001 - never fail a rank's stop
            log.warning("wattprint: gathering the job through torch.distributed failed "
                        "(%r); using the ledger", err)
            parts = [part] if job.rank == 0 else None
            if job.rank == 0 and ledger_parts is not None:
                parts = _via_ledger(ledger_parts, job, part, timeout_s)
        return merge_parts(parts) if parts is not None else None
    if job.rank != 0 or job.launcher:
        return None
    if ledger_parts is None:
        return merge_parts([part])
    return merge_parts(_via_ledger(ledger_parts, job, part, timeout_s))
