"""Recording one run: the ``running`` row, samples in batches, progress, and the finish.

The sampler thread hands every reading to :meth:`RunWriter.sink`, which only appends a
tuple to a buffer. A flusher thread writes the buffer with ``executemany`` in one
transaction every 0.5 s for the first ``STARTUP_S`` (10 s) of a run and every
``STEADY_FLUSH_S`` (2 s) after that (or a fixed ``flush_interval_s``), so a run killed
with SIGKILL loses at most the last interval. A flush is a SQLite transaction, ~0.1-0.3 ms
of CPU with cold caches: at 2 Hz for a whole run it cost as much as the 10 Hz sampler
itself. Counters and closed phases are written with each flush when a
``progress`` callable is given, so an interrupted run keeps its J/token. :meth:`finish`
writes the last samples, the totals, devices, phases and counters in one transaction:
the run is either finished in full or still ``running`` (and later recovered).

Write failures (disk full, a lock held too long) never raise into the tracked program:
the samples stay buffered (up to ``MAX_BUFFERED``) and are retried at the next flush;
the error is kept in :attr:`RunWriter.error` and logged once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from ..errors import LedgerError
from ..result import PhaseEnergy, RunResult
from ._records import utc_now_iso
from ._sqlite import translate, write_txn

if TYPE_CHECKING:
    from . import Ledger

__all__ = ["RunWriter", "MAX_BUFFERED", "device_row", "insert_samples_sql", "insert_run",
           "write_end"]

log = logging.getLogger("wattprint")

#: Samples kept in memory while the ledger cannot be written; older ones are dropped.
MAX_BUFFERED = 500_000
#: Flush every FIRST_FLUSH_S during the first STARTUP_S of a run, every STEADY_FLUSH_S after.
FIRST_FLUSH_S = 0.5
STARTUP_S = 10.0
STEADY_FLUSH_S = 2.0

insert_samples_sql = ("INSERT OR REPLACE INTO samples (rid, device, t, power_w, energy_j) "
                      "VALUES (?, ?, ?, ?, ?)")

Progress = Callable[[], "tuple[dict[str, float], list[PhaseEnergy]] | None"]


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def device_row(rid: int, idx: int, sensor: Any) -> tuple:
    """A ``devices`` row for a sensor at the start of a run (totals unknown yet)."""
    try:
        prov = dict(sensor.provenance())
    except Exception as err:  # noqa: BLE001 - a provenance bug must not stop recording
        prov = {"kind": getattr(sensor, "kind", "measured"), "error": repr(err)}
    return (rid, idx, str(sensor.name), str(sensor.domain), str(sensor.kind),
            str(getattr(sensor, "device", "") or ""),
            int(sensor.nested_in is None), _dumps(prov))


class RunWriter:
    """Writes one run to a :class:`~wattprint.ledger.Ledger`. Made by
    :meth:`Ledger.begin_run`; thread-safe. ``t0`` is the monotonic time that sample
    offsets count from (set it to the tracker's start before sampling begins)."""

    def __init__(self, ledger: "Ledger", rid: int, run_id: str, t0: float, *,
                 flush_interval_s: float | None = None) -> None:
        self.ledger = ledger
        self.rid = rid
        self.run_id = run_id
        self.t0 = t0
        self.flush_interval_s = flush_interval_s
        self.error: LedgerError | None = None
        self.dropped = 0
        self.progress: Progress | None = None
        self._buf: list[tuple] = []
        self._buf_lock = threading.Lock()
        # Held until the run ends; the flusher waits on it with a timeout (a bare lock
        # wakes for less CPU than Event.wait, which builds a Condition per wait).
        self._stop = threading.Lock()
        self._stop.acquire()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._finished = False
        self._last_progress: Any = None

    # -- the sampler side ---------------------------------------------------------------
    def sink(self, index: int, time_s: float, power_w: float, energy_j: float) -> None:
        """A :data:`wattprint.sampler.SampleSink`: buffers one reading."""
        row = (self.rid, index, time_s - self.t0, power_w, energy_j)
        with self._buf_lock:
            self._buf.append(row)

    def add_samples(self, rows: Iterable[tuple[int, float, float, float]]) -> None:
        """Buffer ``(device, t_s, power_w, energy_j)`` rows (offsets already from start)."""
        rid = self.rid
        with self._buf_lock:
            self._buf.extend((rid, d, t, p, e) for d, t, p, e in rows)

    # -- flushing -----------------------------------------------------------------------
    def start_flushing(self, threads: Any = None) -> None:
        """Start the flusher thread; ``threads`` (a :class:`wattprint._threadcpu.ThreadCPU`)
        counts its CPU with the run's other threads (one of its own when not given)."""
        from .._threadcpu import ThreadCPU

        if self._thread is None:
            threads = threads if threads is not None else ThreadCPU()
            self._thread = threads.start(self._loop, "wattprint-ledger")

    def stop_flushing(self) -> None:
        """End the flusher thread (safe twice); :meth:`finish` writes what is left."""
        self._stop_thread()

    def _interval_s(self) -> float:
        if self.flush_interval_s is not None:
            return self.flush_interval_s
        return FIRST_FLUSH_S if time.monotonic() - self.t0 < STARTUP_S else STEADY_FLUSH_S

    def _loop(self) -> None:
        acquire = self._stop.acquire
        while not acquire(timeout=self._interval_s()):
            self.flush()

    def _take(self) -> list[tuple]:
        with self._buf_lock:
            rows, self._buf = self._buf, []
        return rows

    def _give_back(self, rows: list[tuple]) -> None:
        with self._buf_lock:
            self._buf[:0] = rows
            excess = len(self._buf) - MAX_BUFFERED
            if excess > 0:
                del self._buf[:excess]
                self.dropped += excess

    def _write_progress(self, conn: sqlite3.Connection) -> None:
        if self.progress is None:
            return
        try:
            state = self.progress()
        except Exception as err:  # noqa: BLE001
            log.debug("wattprint: progress for the ledger failed: %r", err)
            return
        if state is None or state == self._last_progress:
            return
        counters, phases = state
        _write_counters_phases(conn, self.rid, counters, phases)
        self._last_progress = state

    def flush(self) -> bool:
        """Write buffered samples (and progress) now; False (and :attr:`error` set) when
        the ledger could not be written. Never raises."""
        if self._finished:
            return True
        rows = self._take()
        try:
            with self.ledger._locked() as conn, write_txn(conn):
                if rows:
                    conn.executemany(insert_samples_sql, rows)
                self._write_progress(conn)
        except (sqlite3.Error, OSError) as err:
            self._give_back(rows)
            self._failed(translate(err, self.ledger.path))
            return False
        except LedgerError as err:  # the ledger was closed under us
            self._give_back(rows)
            self._failed(err)
            return False
        if self.error is not None:
            log.warning("wattprint: the ledger %s is writable again", self.ledger.path)
            self.error = None
        return True

    def _failed(self, err: LedgerError) -> None:
        if self.error is None or self.error.reason != err.reason:
            log.error("wattprint: could not write samples to the ledger (%s); keeping them "
                      "in memory and retrying", err)
        self.error = err

    def _stop_thread(self) -> None:
        with self._buf_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop.release()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30.0)

    # -- the end ------------------------------------------------------------------------
    def finish(self, result: RunResult, *, exit_code: int | None = None,
               ended_at: str | None = None) -> None:
        """Record the end of the run in one transaction. Raises :class:`LedgerError`
        (the run then stays ``running`` with what was flushed, and is recovered as
        ``interrupted`` by the next ledger open after this process exits)."""
        if self._finished:
            return
        self._stop_thread()
        rows = self._take()
        try:
            with self.ledger._locked() as conn, write_txn(conn):
                write_end(conn, self.rid, result, exit_code, ended_at or utc_now_iso(), rows)
        except (sqlite3.Error, OSError) as err:
            self._give_back(rows)
            raise translate(err, self.ledger.path) from err
        self._finished = True

    def abandon(self) -> None:
        """Stop flushing without finishing (the run stays ``running`` until recovered)."""
        self._stop_thread()
        self.flush()
        self._finished = True

    def drain(self) -> list[tuple[int, float, float, float]]:
        """Stop flushing and hand over the samples not written yet, as
        ``(device, t_s, power_w, energy_j)``: the caller keeps them elsewhere (a pending
        run file) when the ledger cannot take the end of the run."""
        self._stop_thread()
        self._finished = True
        return [row[1:] for row in self._take()]


def insert_run(conn: sqlite3.Connection, run_id: str, *, name: str | None,
               project: str | None, tags: Sequence[str], command: Sequence[str] | None,
               host: str, pid: int | None, pid_started: float | None, mode: str | None,
               started_at: str, zone: str | None, settings: Any,
               sensors: Sequence[Any] = (), job: Mapping[str, Any] | None = None) -> int:
    """Insert a ``running`` run with its tags and devices (from ``sensors``); its rid.
    ``job`` is the run's :meth:`wattprint.distributed.JobIdentity.to_dict` when it is
    part of a distributed job. Raises ``sqlite3.IntegrityError`` when ``run_id`` is
    taken."""
    rid = conn.execute(
        "INSERT INTO runs (id, name, project, command, host, pid, pid_started, mode, status, "
        "started_at, zone, settings, job_id, job) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        (run_id, name, project, json.dumps(list(command)) if command is not None else None,
         host, pid, pid_started, mode, started_at, zone,
         json.dumps(dict(settings or {}), default=str, sort_keys=True),
         job["job_id"] if job else None,
         json.dumps(dict(job), sort_keys=True) if job else None)).lastrowid or 0
    conn.executemany("INSERT INTO run_tags (rid, tag) VALUES (?, ?)",
                     [(rid, t) for t in tags])
    conn.executemany(
        "INSERT INTO devices (rid, idx, name, domain, kind, device, counted, provenance) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [device_row(rid, i, s) for i, s in enumerate(sensors)])
    return rid


def write_end(conn: sqlite3.Connection, rid: int, result: RunResult, exit_code: int | None,
              ended_at: str, rows: Sequence[tuple]) -> None:
    """The end of a run, inside the caller's transaction: the last sample ``rows``
    (``(rid, device, t, power_w, energy_j)``), status, totals, devices, phases and
    counters. Writing it twice writes the same run."""
    if rows:
        conn.executemany(insert_samples_sql, rows)
    n = conn.execute("SELECT count(*) FROM samples WHERE rid = ?", (rid,)).fetchone()[0]
    conn.execute(
        "UPDATE runs SET status = ?, ended_at = ?, duration_s = ?, exit_code = ?, "
        "energy_j = ?, energy_low_j = ?, energy_high_j = ?, peak_power_w = ?, "
        "basis = ?, by_domain = ?, warnings = ?, cpu_s = ?, end_reason = ?, "
        "overhead_cpu_s = ?, samples = ? WHERE rid = ?",
        (*_run_update(result, exit_code, ended_at), n, rid))
    conn.execute("DELETE FROM devices WHERE rid = ?", (rid,))
    conn.executemany(
        "INSERT INTO devices (rid, idx, name, domain, kind, device, counted, "
        "energy_j, device_energy_j, mean_power_w, peak_power_w, samples, "
        "bridged_j, errors, last_error, replaced_by, gaps, provenance) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(rid, i, d.name, d.domain, d.kind, d.device, int(d.counted),
          d.energy_j, d.device_energy_j, d.mean_power_w, d.peak_power_w,
          d.samples, d.bridged_j, d.errors, d.last_error, d.replaced_by,
          _dumps(d.gaps), _dumps(d.provenance))
         for i, d in enumerate(result.devices)])
    _write_counters_phases(conn, rid, result.counters, result.phases)


def _run_update(result: RunResult, exit_code: int | None, ended_at: str) -> tuple:
    warnings = list(result.warnings)
    return (result.status, ended_at, result.duration_s, exit_code, result.energy_j,
            result.energy_low_j, result.energy_high_j, result.peak_power_w, result.basis,
            _dumps(result.by_domain), _dumps(warnings), result.cpu_s,
            getattr(result, "end_reason", None), getattr(result, "overhead_cpu_s", None))


def _write_counters_phases(conn: sqlite3.Connection, rid: int, counters: dict[str, float],
                           phases: Sequence[PhaseEnergy]) -> None:
    conn.execute("DELETE FROM counters WHERE rid = ?", (rid,))
    conn.executemany("INSERT INTO counters (rid, unit, value) VALUES (?, ?, ?)",
                     [(rid, unit, float(v)) for unit, v in counters.items()])
    conn.execute("DELETE FROM phases WHERE rid = ?", (rid,))
    conn.executemany(
        "INSERT INTO phases (rid, seq, name, energy_j, duration_s, entries, by_domain, "
        "counters) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(rid, i, p.name, p.energy_j, p.duration_s, p.entries, _dumps(p.by_domain),
          _dumps(p.counters)) for i, p in enumerate(phases)])
