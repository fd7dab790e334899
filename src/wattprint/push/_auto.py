"""The automatic push: once a run's end is committed to the ledger, and a server and a
token are configured, a background thread pushes it (and up to :data:`BACKLOG` other
runs waiting in the outbox, e.g. runs recovered after a crash).

It never blocks or fails the tracked program: the thread does its own I/O with its own
ledger connection, within :data:`DEADLINE_S`; at interpreter exit (and at the end of
``wattprint run``) wattprint waits for it at most :data:`EXIT_WAIT_S` seconds. A run
not acknowledged by then stays in the outbox, and one line says so; ``wattprint push``
(or the next run) sends it. The wrapped command's exit status is never changed.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from ._target import Target

__all__ = ["schedule", "wait", "DEADLINE_S", "EXIT_WAIT_S", "BACKLOG"]

log = logging.getLogger("wattprint")

#: Seconds a background push may spend in all (retries included).
DEADLINE_S = 30.0
#: Longest wait for unfinished pushes at interpreter exit / the end of ``wattprint run``.
EXIT_WAIT_S = 5.0
#: Other waiting runs sent along with the run just recorded.
BACKLOG = 10
#: Tries per request in the background (connection refused is answered at once).
_POLICY_ATTEMPTS = 4
_REQUEST_TIMEOUT_S = 10.0


@dataclass
class _Job:
    run_id: str
    ledger_path: str
    target: Target
    thread: threading.Thread | None = None
    outcome: str | None = None  # None: not done; "" done and acknowledged; else why not
    reported: bool = False


_jobs: list[_Job] = []
_lock = threading.Lock()
_atexit_registered = False


def _configured() -> Target | None:
    from ..config import load_config
    from ._target import target_from

    target = target_from(load_config().values)
    return target if target is not None and target.token else None


def schedule(ledger_path: str, run_id: str) -> None:
    """Push the run ``run_id`` of ``ledger_path`` in the background when a server and a
    token are configured; otherwise do nothing. Never raises."""
    global _atexit_registered
    try:
        target = _configured()
    except Exception as err:  # noqa: BLE001 - a bad setting must not touch the run
        _say(f"wattprint: run {run_id} is not pushed ({err}); it stays in the outbox")
        return
    if target is None:
        return
    job = _Job(run_id, ledger_path, target)
    try:
        job.thread = threading.Thread(target=_work, args=(job,), name="wattprint-push",
                                      daemon=True)
        with _lock:
            _jobs.append(job)
            if not _atexit_registered:
                atexit.register(wait, EXIT_WAIT_S)
                _atexit_registered = True
        job.thread.start()
    except Exception as err:  # noqa: BLE001 - no thread: the next push sends it
        job.outcome = f"no background thread: {err}"
        _report(job)


def _work(job: _Job) -> None:
    from ..ledger import Ledger
    from ._core import push_runs
    from ._http import RetryPolicy

    policy = RetryPolicy(attempts=_POLICY_ATTEMPTS, timeout_s=_REQUEST_TIMEOUT_S,
                         cap_s=8.0, deadline_s=DEADLINE_S)
    try:
        with Ledger(job.ledger_path, recover=False) as ledger:
            others = [i for i in ledger.waiting(job.target.server) if i != job.run_id]
            ids = [job.run_id] + others[:BACKLOG]
            report = push_runs(ledger, job.target, ids, policy=policy, deadline_s=DEADLINE_S)
        mine = next((r for r in report.runs if r.run_id == job.run_id), None)
        if mine is not None and mine.state in ("new", "replaced", "already"):
            job.outcome = ""
            log.info("wattprint: run %s pushed to %s", job.run_id, job.target.server)
        elif report.stopped is not None:
            job.outcome = _short(report.stopped)
        elif mine is not None:
            job.outcome = mine.reason or mine.state
        else:
            job.outcome = "not tried"
    except BaseException as err:  # noqa: BLE001 - a daemon thread must say, not raise
        job.outcome = f"{type(err).__name__}: {err}"


def _short(err: BaseException) -> str:
    """The reason of a push error without its advice (the caller's line gives it)."""
    reason = getattr(err, "reason", "")
    status = getattr(err, "status", None)
    return {"unreachable": "server unreachable", "token": "token refused: check "
            "WATTPRINT_TOKEN"}.get(reason, str(err).split(": the runs stay")[0]) + \
        (f", HTTP {status}" if status and reason not in ("token",) else "")


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - stderr closed: the outbox keeps the run anyway
        pass


def _report(job: _Job) -> None:
    if job.reported or job.outcome is None:
        return
    job.reported = True
    if job.outcome:
        _say(f"wattprint: run {job.run_id} not pushed to {job.target.server} "
             f"({job.outcome}); it stays in the outbox: run `wattprint push` later")


def wait(timeout_s: float = EXIT_WAIT_S) -> list[tuple[str, str | None]]:
    """Wait at most ``timeout_s`` in all for the background pushes, say in one line each
    which run was not acknowledged, and return ``(run id, outcome)`` per push (outcome
    ``""``: acknowledged; ``None``: no answer in time — the thread is left to finish
    alone and not waited for again). Never raises."""
    deadline = time.monotonic() + max(float(timeout_s), 0.0)
    with _lock:
        jobs = list(_jobs)
        _jobs.clear()
    for job in jobs:
        thread = job.thread
        if thread is not None and thread.is_alive():
            thread.join(max(deadline - time.monotonic(), 0.0))
    out = []
    for job in jobs:
        if job.outcome is None:
            job.reported = True
            _say(f"wattprint: run {job.run_id} not pushed to {job.target.server} yet (no "
                 f"answer within {timeout_s:g} s); it stays in the outbox: run `wattprint "
                 "push` later")
        else:
            _report(job)
        out.append((job.run_id, job.outcome))
    return out
