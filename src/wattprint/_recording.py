"""The tracker's link to the run ledger: opens the ledger, starts a run in it, feeds it
samples and progress, and records the end — logging failures instead of raising them,
so a ledger problem never stops the tracked program. Nothing measured is lost: a run
the ledger cannot take (not openable at the start, or its end not writable) is kept in
memory and saved as a pending run file that the ledger's next open records
(:mod:`wattprint.ledger._pending`).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import inputs
from .errors import LedgerError, UsageError
from .result import RunResult
from .sampler import SampleSink

if TYPE_CHECKING:
    from .tracker import Tracker

__all__ = ["Recording"]

log = logging.getLogger("wattprint")


class Recording:
    """Whether and where a tracker records its run. ``ledger``: ``None``/``False`` (not
    recorded), ``True`` (the configured ledger), a path, or a
    :class:`wattprint.ledger.Ledger` (left open: the caller owns it)."""

    def __init__(self, ledger: Any, *, project: str | None, tags: Sequence[str] | str,
                 zone: str | None, command: Sequence[str] | None,
                 settings: Mapping[str, Any] | None) -> None:
        if project is not None and (not isinstance(project, str) or not project.strip()):
            raise UsageError(f"project={project!r} must be a non-empty string")
        inputs.zone("zone", zone)  # a typo stops here, with close matches
        self.option = ledger
        self.project = project
        self.tags: list[str] = []
        if tags:  # imported only when needed: no sqlite3 for trackers that do not record
            from .ledger._query import clean_tags

            self.tags = clean_tags([tags] if isinstance(tags, str) else tags)
        self.zone = zone
        self.command = list(command) if command is not None else None
        self.settings = dict(settings or {})
        self.writer: Any = None  # wattprint.ledger.RunWriter while recording
        self.memory: Any = None  # wattprint.ledger._pending.MemoryRun when it cannot
        self.path: str | None = None  # the ledger file the run belongs in
        self._path_error: BaseException | None = None  # why there is no path
        self.pending_file: str | None = None  # where the run waits, when it had to
        self.error: LedgerError | None = None
        self._begin: dict[str, Any] | None = None
        self._owned: Any = None
        self._warnings: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.option is not None and self.option is not False

    @property
    def run_id(self) -> str | None:
        """The run's ledger id: given by the ledger, or chosen in memory when the ledger
        could not be opened (the run is recorded under it later)."""
        if self.writer is not None:
            return self.writer.run_id
        return self.memory.run_id if self.memory is not None else None

    def options(self) -> dict[str, Any]:
        """The Tracker keyword arguments that recreate this recording (for decorators)."""
        return dict(ledger=self.option, project=self.project, tags=self.tags,
                    zone=self.zone, command=self.command, settings=self.settings)

    def sink_for(self, user_sink: SampleSink | None) -> SampleSink | None:
        """The sampler's sink once :meth:`begin` ran: the ledger writer's (or the
        in-memory run's) own method when there is no user sink (no wrapper call on every
        reading), else both."""
        writer = self.writer if self.writer is not None else self.memory
        if writer is None:
            return user_sink
        if user_sink is None:
            return writer.sink
        write = writer.sink

        def sink(index: int, time_s: float, power_w: float, energy_j: float) -> None:
            write(index, time_s, power_w, energy_j)
            user_sink(index, time_s, power_w, energy_j)
        return sink

    def _failed(self, err: BaseException, what: str, warn: Any) -> LedgerError:
        if not isinstance(err, LedgerError):
            err = LedgerError(f"{type(err).__name__}: {err}")
        self.error = err
        log.error("wattprint: %s: %s", what, err)
        warn(f"{what}: {err}")
        return err

    def _ledger_path(self) -> str | None:
        """The file the run belongs in, or None when even that is unknown (a bad
        configuration)."""
        from .ledger import Ledger

        if isinstance(self.option, Ledger):
            return self.option.path
        try:
            if self.option is True:
                from .config import load_config

                return os.path.abspath(load_config().ledger)
            return os.path.abspath(os.path.expanduser(os.fspath(self.option)))
        except Exception as err:  # noqa: BLE001 - reported with the run's warnings
            self._path_error = err
            return None

    def begin(self, tracker: "Tracker") -> None:
        """Insert the ``running`` run with the tracker's sensors. Never raises: when the
        ledger cannot be used the run is kept in memory (:class:`MemoryRun`) and saved
        as a pending run at the end."""
        if not self.enabled:
            return
        from .ledger import Ledger, _host
        from .ledger._records import utc_now_iso

        self._path_error = None
        self.path = self._ledger_path()
        settings = {"mode": tracker.mode, "rate_hz": tracker.rate_hz, "gpus": tracker.gpus,
                    **self.settings}
        begin = dict(name=tracker.name, project=self.project, tags=self.tags,
                     command=self.command if self.command is not None else list(sys.argv),
                     mode=tracker.mode, zone=self.zone, settings=settings)
        job = tracker.job.to_dict() if tracker.job is not None else None
        self._begin = {**begin, "host": _host(), "pid": os.getpid(),
                       "started_at": utc_now_iso(), "job": job}
        if self._path_error is not None:  # a bad setting, named by the error: one line
            self._failed(self._path_error, "this run is not recorded in the ledger",
                         tracker.add_warning)
            return
        try:
            if isinstance(self.option, Ledger):
                ledger = self.option
            else:
                ledger = self._owned = Ledger(self.path)
            self.writer = ledger.begin_run(**begin, sensors=tracker.sensors, pid=os.getpid(),
                                           job=tracker.job)
            self.writer.progress = tracker.work_so_far
        except Exception as err:  # noqa: BLE001 - never kill the user's program
            self._close_owned()
            if self.path is None:
                self._failed(err, "this run is not recorded in the ledger", tracker.add_warning)
                return
            from .ledger._ids import new_run_id
            from .ledger._pending import MemoryRun

            self._failed(err, "the ledger cannot record this run now; the run is kept in "
                         "memory and recorded when the ledger can be written",
                         tracker.add_warning)
            self.memory = MemoryRun(new_run_id(), self._begin)

    def job_parts(self) -> list[Any]:
        """The parts of this run's job recorded in the ledger (for gathering without a
        process group); empty when the run is not recorded."""
        writer = self.writer
        job = getattr(writer, "job_id", None) if writer is not None else None
        if writer is None or not job:
            return []
        from .distributed import JobPart
        from .ledger import Ledger

        try:
            with Ledger(writer.ledger.path, readonly=True) as ledger:
                return [JobPart.from_record(r) for r in ledger.job_parts(job)]
        except Exception as err:  # noqa: BLE001
            log.debug("wattprint: reading the job's parts failed: %r", err)
            return []

    def start_flushing(self, t0: float, threads: Any = None) -> None:
        """Start the writer's flusher thread (its CPU counted in ``threads``, a
        :class:`wattprint._threadcpu.ThreadCPU`)."""
        if self.writer is not None:
            self.writer.t0 = t0
            self.writer.start_flushing(threads)
        elif self.memory is not None:
            self.memory.t0 = t0

    def stop_flushing(self) -> None:
        """End the flusher thread; :meth:`finish` writes what is left."""
        if self.writer is not None:
            self.writer.stop_flushing()

    def finish(self, result: RunResult, *, exit_code: int | None) -> None:
        """Record the end of the run (one transaction). Never raises; when the ledger
        cannot take it the run is saved as a pending run file (see
        :mod:`wattprint.ledger._pending`) and recorded by the ledger's next open."""
        writer = self.writer
        if writer is not None:
            result.run_id = writer.run_id
            result.ledger_path = writer.ledger.path
            if writer.dropped:
                result.warnings.append(f"{writer.dropped} samples could not be written to "
                                       "the ledger and were dropped (the totals are complete)")
            try:
                writer.finish(result, exit_code=exit_code)
            except Exception as err:  # noqa: BLE001
                err = self._failed(err, "the end of this run could not be recorded in the "
                                   "ledger", result.warnings.append)
                self._save(result, exit_code, writer.run_id, self._begin or {},
                           writer.drain(), err)
            else:
                self._push(writer.ledger.path, writer.run_id)
            finally:
                self._close_owned()
        elif self.memory is not None:
            memory = self.memory
            result.run_id = memory.run_id
            if memory.dropped:
                result.warnings.append(f"{memory.dropped} samples kept in memory were "
                                       "dropped (the totals are complete)")
            self._save(result, exit_code, memory.run_id, memory.begin, memory.take(),
                       self.error)
            try:  # the ledger may take it now: opening it records pending runs
                from .ledger import Ledger

                Ledger(self.path).close()
            except Exception as err:  # noqa: BLE001
                log.debug("wattprint: the ledger still cannot be opened: %s", err)

    @staticmethod
    def _push(ledger_path: str, run_id: str) -> None:
        """Push the recorded run to the team server in the background, when one is
        configured (:mod:`wattprint.push._auto`: never blocks, never raises)."""
        try:
            from .push._auto import schedule

            schedule(ledger_path, run_id)
        except Exception as err:  # noqa: BLE001 - the run is recorded; the outbox keeps it
            log.warning("wattprint: run %s is not pushed (%r); it stays in the outbox",
                        run_id, err)

    def _save(self, result: RunResult, exit_code: int | None, run_id: str,
              begin: Mapping[str, Any], samples: list, err: LedgerError | None) -> None:
        from .ledger._pending import run_payload, save_pending
        from .ledger._records import utc_now_iso

        why = str(err) if err is not None else "the ledger could not be written"
        result.warnings.append("kept in a pending run file while the ledger could not take "
                               "it, and recorded from that file later")
        payload = run_payload(ledger_path=self.path or "", run_id=run_id, begin=begin,
                              result=result, exit_code=exit_code, ended_at=utc_now_iso(),
                              samples=samples, why=why)
        try:
            self.pending_file = save_pending(payload)
        except OSError as save_err:
            import json

            payload.pop("samples")
            log.error("wattprint: run %s could not be saved anywhere: %s; its result "
                      "follows so that it is not lost:\n%s", run_id, save_err,
                      json.dumps(payload, default=str))
            return
        log.error("wattprint: run %s is saved in %s and will be recorded the next time the "
                  "ledger %s is opened for writing (any wattprint command, or `wattprint "
                  "pending`)", run_id, self.pending_file, self.path)

    def _close_owned(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

