"""Pushing runs from the local ledger (the outbox) to a team server.

For each run: note its edit count (:meth:`Ledger.begin_push`), build its payload chunks
(:func:`wattprint.wire.run_payloads`: the power trace downsampled, full resolution kept
locally), and unless the server already acknowledged this very digest, POST the chunks
in order, each retried with backoff (:mod:`._http`). The server stores a run by its id,
so sending a run or a chunk again never makes a second run: a push cut anywhere (the
server or the client killed) is completed by the next one. Only when the last chunk is
answered ``complete`` is the run acknowledged in the ledger, with its digest.

A failure of one run's payload (HTTP 413/422) is that run's; a failure that will hit
every run (no connection after the retries, a refused token) stops the push at once
and leaves the rest in the outbox.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import LedgerError, PushError, UsageError
from ._http import RetryPolicy, post_with_retries
from ._target import Target

__all__ = ["PushReport", "RunPushed", "push_runs", "select_runs", "FATAL_REASONS"]

log = logging.getLogger("wattprint")

#: Failures that stop the whole push: every other run would fail the same way.
FATAL_REASONS = ("unreachable", "tls", "token", "forbidden", "server")


@dataclass
class RunPushed:
    """What happened to one run: ``state`` is ``new`` (the server did not have it),
    ``replaced`` (the server had an older copy), ``already`` (the server acknowledged
    this very content before: nothing sent), ``failed`` (``reason`` says why) or
    ``would_push`` (``--dry-run``)."""

    run_id: str
    state: str
    chunks: int = 0
    bytes_sent: int = 0
    digest: str | None = None
    reason: str | None = None


@dataclass
class PushReport:
    """The outcome of a push. ``stopped``: the error that ended it early (the runs not
    tried stay in the outbox, counted in ``not_tried``)."""

    server: str
    runs: list[RunPushed] = field(default_factory=list)
    stopped: PushError | None = None
    not_tried: int = 0
    dry_run: bool = False

    def _ids(self, *states: str) -> list[str]:
        return [r.run_id for r in self.runs if r.state in states]

    @property
    def pushed(self) -> list[str]:
        return self._ids("new", "replaced")

    @property
    def already(self) -> list[str]:
        return self._ids("already")

    @property
    def failed(self) -> list[RunPushed]:
        return [r for r in self.runs if r.state == "failed"]

    @property
    def ok(self) -> bool:
        """Whether every run asked for is acknowledged by the server."""
        return not self.failed and self.stopped is None and not self.not_tried

    def summary(self) -> str:
        """The lines a person reads: counts, then each failure with its reason."""
        if self.dry_run:
            would = [r for r in self.runs if r.state == "would_push"]
            size = sum(r.bytes_sent for r in would)
            lines = [f"dry run: {len(would)} run(s) would be pushed to {self.server} "
                     f"({sum(r.chunks for r in would)} chunk(s), {size / 1e6:.2f} MB), "
                     f"{len(self.already)} already there"]
            lines += [f"  {r.run_id}  {r.chunks} chunk(s)  {r.bytes_sent / 1e3:.1f} kB"
                      for r in would]
            lines += [f"  {r.run_id}  cannot be pushed: {r.reason}" for r in self.failed]
            return "\n".join(lines)
        new, replaced = self._ids("new"), self._ids("replaced")
        detail = f" ({len(new)} new, {len(replaced)} replaced on the server)" if replaced \
            else ""
        left = f", {self.not_tried} not tried (left in the outbox)" if self.not_tried else ""
        lines = [f"{len(self.pushed)} pushed{detail}, {len(self.already)} already there, "
                 f"{len(self.failed)} failed{left} - server {self.server}"]
        lines += [f"  {r.run_id}: {r.reason}" for r in self.failed]
        return "\n".join(lines)


def select_runs(ledger: Any, server: str, runs: Sequence[str] = (), *,
                everything: bool = False) -> list[str]:
    """The ids to push: the runs named (a run id, a unique prefix, ``last``, or a
    distributed job's id: its parts), else the runs waiting for ``server`` (every final
    run with ``everything``). Raises :class:`~wattprint.errors.RunNotFound`."""
    if not runs:
        return ledger.waiting(server, everything=everything)
    ids: list[str] = []
    for name in runs:
        if ledger.has_job(name):
            found = [r.id for r in ledger.job_parts(name)]
        else:
            found = [ledger.resolve(name)]
        ids += [i for i in found if i not in ids]
    return ids


Progress = Callable[[int, int, str], None]


def push_runs(ledger: Any, target: Target, run_ids: Sequence[str], *,
              force: bool = False, dry_run: bool = False, policy: RetryPolicy | None = None,
              deadline_s: float | None = None,
              progress: Progress | None = None) -> PushReport:
    """Push ``run_ids`` (see :func:`select_runs`) from ``ledger`` to ``target``.
    ``force``: send even what the server acknowledged already. ``deadline_s``: no new
    request after that many seconds (the rest stays in the outbox). ``progress(done,
    total, run_id)`` is called after each run. Never raises for a server problem: see
    :attr:`PushReport.stopped` and :attr:`PushReport.failed`."""
    from ..wire import run_payloads

    if not dry_run and run_ids and not target.token:
        raise UsageError("no token for the team server: set WATTPRINT_TOKEN (or the "
                         "`token` setting, or --token) to a token from `wattprint server "
                         "token create --project P`")
    policy = policy if policy is not None else RetryPolicy()
    report = PushReport(target.server, dry_run=dry_run)
    started = time.monotonic()
    for n, run_id in enumerate(run_ids):
        if deadline_s is not None and time.monotonic() - started >= deadline_s:
            report.not_tried = len(run_ids) - n
            break
        try:
            item = _push_one(ledger, target, run_id, run_payloads, force=force,
                             dry_run=dry_run, policy=policy, started=started)
        except PushError as err:
            if err.reason == "token":  # where the refused token was set
                err = PushError(f"token refused: check {target.token_from}",
                                server=err.server, reason=err.reason, status=err.status,
                                fix=f"set {target.token_from} to a token of this server")
            if err.reason in FATAL_REASONS:
                report.stopped = err
                report.not_tried = len(run_ids) - n
                break
            item = RunPushed(run_id, "failed", reason=str(err))
        report.runs.append(item)
        if progress is not None:
            progress(n + 1, len(run_ids), run_id)
    return report


def _push_one(ledger: Any, target: Target, run_id: str, build: Callable[..., Any], *,
              force: bool, dry_run: bool, policy: RetryPolicy, started: float) -> RunPushed:
    server = target.server
    edits = 0
    try:
        if not dry_run:
            run_id, edits = ledger.begin_push(server, run_id)
        chunks = build(ledger, run_id)
        digest = str(chunks[0]["digest"])
        bodies = [json.dumps(c, separators=(",", ":"), allow_nan=False).encode()
                  for c in chunks]
    except (UsageError, LedgerError, ValueError, TypeError) as err:
        # a running run, a run deleted meanwhile, a record that cannot be encoded
        return RunPushed(run_id, "failed", reason=f"cannot be pushed: {err}")
    if not force and ledger.acknowledged_digest(server, run_id) == digest:
        if not dry_run:
            ledger.acknowledge(server, run_id, edits, digest)
        return RunPushed(run_id, "already", digest=digest)
    size = sum(len(b) for b in bodies)
    if dry_run:
        return RunPushed(run_id, "would_push", chunks=len(bodies), bytes_sent=size,
                         digest=digest)
    assert target.token is not None
    status0, complete = 0, False
    for _round in range(2):  # a server that lost earlier chunks gets them all once more
        for i, body in enumerate(bodies):
            status, answer = post_with_retries(server, target.token, body, policy,
                                               started=started)
            if answer.get("id") not in (None, run_id):
                raise PushError(f"the server answered for run {answer.get('id')!r} when "
                                f"sent run {run_id}", server=server, reason="server",
                                status=status)
            if i == 0 and _round == 0:
                status0 = status
            complete = bool(answer.get("complete", i == len(bodies) - 1))
        if complete:
            break
    if not complete:
        return RunPushed(run_id, "failed", chunks=len(bodies), bytes_sent=size,
                         reason=f"the server did not put the run's {len(bodies)} chunks "
                                "together; it stays in the outbox")
    ledger.acknowledge(server, run_id, edits, digest)
    return RunPushed(run_id, "new" if status0 == 201 else "replaced", chunks=len(bodies),
                     bytes_sent=size, digest=digest)
