"""The automatic push: once a run's end is committed to the ledger, and a server and a
token are configured, one background thread (``wattprint-push``) pushes it, with up to
:data:`BACKLOG` other runs waiting in the outbox (e.g. runs recovered after a crash).

It never blocks or fails the tracked program: the thread does its own I/O with its own
ledger connection, one run after another (a loop of tracked calls queues its runs; none
is sent twice at once), each within :data:`DEADLINE_S`. At interpreter exit (and at the
end of ``wattprint run``) wattprint waits for it at most :data:`EXIT_WAIT_S` seconds.
Runs not acknowledged by then stay in the outbox and one line per server says so;
``wattprint push`` (or the next run) sends them. When the server is unreachable or
refuses the token, the runs queued behind are not tried (they would fail the same way).
The wrapped command's exit status is never changed.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from dataclasses import dataclass

from ._target import Target

__all__ = ["schedule", "wait", "DEADLINE_S", "EXIT_WAIT_S", "BACKLOG"]

log = logging.getLogger("wattprint")

#: Seconds the background push may spend on one run and its backlog (retries included).
DEADLINE_S = 30.0
#: Longest wait for unfinished pushes at interpreter exit / the end of ``wattprint run``.
EXIT_WAIT_S = 5.0
#: Other waiting runs sent along with a run just recorded.
BACKLOG = 10
#: Tries per request in the background (a refused connection is answered at once).
_POLICY_ATTEMPTS = 4
_REQUEST_TIMEOUT_S = 10.0


@dataclass
class _Job:
    run_id: str
    ledger_path: str
    target: Target
    outcome: str | None = None  # None: not done; "": acknowledged; else why not
    done: threading.Event | None = None

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        if self.done is not None:
            self.done.set()


_lock = threading.Lock()
_queue: list[_Job] = []  # waiting for the worker
_jobs: list[_Job] = []  # every job not yet reported by wait()
_worker: threading.Thread | None = None
_atexit_registered = False


def _configured() -> Target | None:
    from ..config import load_config
    from ._target import target_from

    config = load_config()
    target = target_from(config.values, sources=config.sources)
    return target if target is not None and target.token else None


def schedule(ledger_path: str, run_id: str) -> None:
    """Queue the run ``run_id`` of ``ledger_path`` for the background push when a server
    and a token are configured; otherwise do nothing. Never raises."""
    global _atexit_registered, _worker
    try:
        target = _configured()
    except Exception as err:  # noqa: BLE001 - a bad setting must not touch the run
        _say(f"wattprint: run {run_id} is not pushed ({err}); it stays in the outbox")
        return
    if target is None:
        return
    job = _Job(run_id, ledger_path, target, done=threading.Event())
    with _lock:
        _jobs.append(job)
        _queue.append(job)
        if not _atexit_registered:
            atexit.register(wait, EXIT_WAIT_S)
            _atexit_registered = True
        if _worker is not None and _worker.is_alive():
            return
        try:
            from .._threadcpu import ThreadCPU  # the run has ended: a meter of its own

            _worker = ThreadCPU().start(_work, "wattprint-push")
        except Exception as err:  # noqa: BLE001 - no thread: the next push sends them
            _worker = None
            for queued in _queue:
                queued.finish(f"no background thread: {err}")
            _queue.clear()


def _work() -> None:
    """Push the queued runs one after another until the queue is empty."""
    global _worker
    while True:
        with _lock:
            if not _queue:
                _worker = None
                return
            job = _queue.pop(0)
        try:
            fatal = _push(job)
        except BaseException as err:  # noqa: BLE001 - a daemon thread must say, not raise
            job.finish(f"{type(err).__name__}: {err}")
            continue
        if fatal:  # the runs queued for that server would fail the same way
            with _lock:
                same = [j for j in _queue if j.target == job.target]
                for queued in same:
                    _queue.remove(queued)
            for queued in same:
                queued.finish(job.outcome or "not tried")


def _push(job: _Job) -> bool:
    """Push one job's run and some of the backlog; whether the failure is fatal."""
    from ..ledger import Ledger
    from ._core import push_runs
    from ._http import RetryPolicy

    policy = RetryPolicy(attempts=_POLICY_ATTEMPTS, timeout_s=_REQUEST_TIMEOUT_S,
                         cap_s=8.0, deadline_s=DEADLINE_S)
    with _lock:
        queued = {j.run_id for j in _queue}
    with Ledger(job.ledger_path, recover=False) as ledger:
        others = [i for i in ledger.waiting(job.target.server)
                  if i != job.run_id and i not in queued]
        report = push_runs(ledger, job.target, [job.run_id] + others[:BACKLOG],
                           policy=policy, deadline_s=DEADLINE_S)
    mine = next((r for r in report.runs if r.run_id == job.run_id), None)
    if mine is not None and mine.state in ("new", "replaced", "already"):
        log.info("wattprint: run %s pushed to %s", job.run_id, job.target.server)
        job.finish("")
        return False
    if report.stopped is not None:
        job.finish(_short(report.stopped))
        return True
    job.finish((mine.reason or mine.state) if mine is not None else "not tried")
    return False


def _short(err: BaseException) -> str:
    """The reason of a push error without its advice (the caller's line gives that)."""
    reason = getattr(err, "reason", "")
    if reason == "unreachable":
        return "server unreachable"
    if reason == "token":
        return str(err)  # "token refused: check WHERE-IT-WAS-SET"
    return str(err).split(": the runs stay")[0]


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - stderr closed: the outbox keeps the run anyway
        pass


def wait(timeout_s: float = EXIT_WAIT_S) -> list[tuple[str, str | None]]:
    """Wait at most ``timeout_s`` in all for the queued pushes; say, in one line per
    server and reason, which runs were not acknowledged; return ``(run id, outcome)``
    per run (outcome ``""``: acknowledged; ``None``: no answer in time — its push goes
    on alone if the program lives on, and is not waited for again). Never raises."""
    deadline = time.monotonic() + max(float(timeout_s), 0.0)
    with _lock:
        jobs = list(_jobs)
        _jobs.clear()
    unanswered = f"no answer within {timeout_s:g} s"
    try:
        for job in jobs:
            if job.done is not None:
                job.done.wait(max(deadline - time.monotonic(), 0.0))
    except KeyboardInterrupt:  # Ctrl-C while waiting: stop waiting, never fail the exit
        unanswered = "interrupted while waiting for the server"
    failed: dict[tuple[str, str], list[str]] = {}
    for job in jobs:
        if job.outcome is None:
            why = unanswered
        elif job.outcome:
            why = job.outcome
        else:
            continue
        failed.setdefault((job.target.server, why), []).append(job.run_id)
    for (server, why), ids in failed.items():
        runs = f"run {ids[0]}" if len(ids) == 1 else f"{len(ids)} runs ({ids[0]}…)"
        it = "it stays" if len(ids) == 1 else "they stay"
        _say(f"wattprint: {runs} not pushed to {server} ({why}); {it} in the outbox: run "
             "`wattprint push` later")
    return [(job.run_id, job.outcome) for job in jobs]
