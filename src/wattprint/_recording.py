"""The tracker's link to the run ledger: opens the ledger, starts a run in it, feeds it
samples and progress, and records the end — logging failures instead of raising them,
so a ledger problem never stops the tracked program and never loses what was written.
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
        self.error: LedgerError | None = None
        self._owned: Any = None
        self._warnings: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.option is not None and self.option is not False

    @property
    def run_id(self) -> str | None:
        return self.writer.run_id if self.writer is not None else None

    def options(self) -> dict[str, Any]:
        """The Tracker keyword arguments that recreate this recording (for decorators)."""
        return dict(ledger=self.option, project=self.project, tags=self.tags,
                    zone=self.zone, command=self.command, settings=self.settings)

    def sink_for(self, user_sink: SampleSink | None) -> SampleSink | None:
        """The sampler's sink once :meth:`begin` ran: the ledger writer's own method when
        there is no user sink (no wrapper call on every reading), else both."""
        writer = self.writer
        if writer is None:
            return user_sink
        if user_sink is None:
            return writer.sink
        write = writer.sink

        def sink(index: int, time_s: float, power_w: float, energy_j: float) -> None:
            write(index, time_s, power_w, energy_j)
            user_sink(index, time_s, power_w, energy_j)
        return sink

    def _failed(self, err: BaseException, what: str, tracker_warnings: list[str]) -> None:
        if not isinstance(err, LedgerError):
            err = LedgerError(f"{type(err).__name__}: {err}")
        self.error = err
        log.error("wattprint: %s: %s", what, err)
        tracker_warnings.append(f"{what}: {err}")

    def begin(self, tracker: "Tracker") -> None:
        """Insert the ``running`` run with the tracker's sensors. Never raises."""
        if not self.enabled:
            return
        from .ledger import Ledger

        try:
            if isinstance(self.option, Ledger):
                ledger = self.option
            else:
                ledger = self._owned = Ledger(None if self.option is True else self.option)
            assert tracker._sampler is not None
            settings = {"mode": tracker.mode, "rate_hz": tracker.rate_hz,
                        "gpus": tracker._gpus, **self.settings}
            self.writer = ledger.begin_run(
                name=tracker.name, project=self.project, tags=self.tags,
                command=self.command if self.command is not None else list(sys.argv),
                mode=tracker.mode, zone=self.zone, settings=settings,
                sensors=tracker._sampler.sensors, pid=os.getpid(), job=tracker.job)
            self.writer.progress = tracker._ledger_progress
        except Exception as err:  # noqa: BLE001 - never kill the user's program
            self._failed(err, "this run is not recorded in the ledger", tracker._warnings)
            self._close_owned()

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

    def stop_flushing(self) -> None:
        """End the flusher thread; :meth:`finish` writes what is left."""
        if self.writer is not None:
            self.writer.stop_flushing()

    def finish(self, result: RunResult, *, exit_code: int | None) -> None:
        """Record the end of the run (one transaction). Never raises; on failure the run
        stays as flushed and a later ledger open marks it interrupted."""
        writer = self.writer
        if writer is None:
            return
        result.run_id = writer.run_id
        if writer.dropped:
            result.warnings.append(f"{writer.dropped} samples could not be written to the "
                                   "ledger and were dropped (the totals are complete)")
        try:
            writer.finish(result, exit_code=exit_code)
        except Exception as err:  # noqa: BLE001
            self._failed(err, "the end of this run could not be recorded in the ledger (it "
                         "will show as interrupted, with the samples written so far)",
                         result.warnings)
            writer.abandon()
        finally:
            self._close_owned()

    def _close_owned(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None
