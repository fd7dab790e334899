"""The run ledger: every tracked run, its devices, phases, counters and samples, in one
SQLite file (stdlib ``sqlite3``, WAL mode) that concurrent runs on a machine share.

    from wattprint.ledger import Ledger
    with Ledger() as ledger:                    # the configured / default file
        for run in ledger.runs(project="llm", limit=10):
            print(run.id, run.status, run.energy_j)
        run = ledger.get("last")                # a full id, a unique prefix, last, last~1

Where the file lives: ``Ledger(path)``, else the configuration (``--ledger``,
``WATTPRINT_LEDGER``, project and user files; see :mod:`wattprint.config`), else
``$XDG_DATA_HOME/wattprint/ledger.db`` (``~/.local/share/wattprint/ledger.db``).
Opening a ledger for writing applies schema migrations and recovers runs whose process
died (:mod:`._recovery`). Every failure is a :class:`~wattprint.errors.LedgerError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
import threading
import time
from typing import Any, Iterator, Mapping, Sequence

import psutil

from .._ledger_rules import default_ledger_path
from ..errors import LedgerError, RunNotFound, UsageError
from ._ids import new_run_id
from ._migrations import SCHEMA_VERSION, _state, check_version, migrate
from ._query import (SORT_KEYS, clean_tags, count_runs, iter_runs, iter_samples, job_rids,
                     list_runs, load_run, resolve, sample_series)
from ._records import STATUSES, RunRecord, utc_now_iso
from ._recovery import process_alive, recover_run, stale_runs
from ._sqlite import (DEFAULT_TIMEOUT_S, connect, guard, reclaim_space, retry_busy,
                      write_txn)
from ._writer import RunWriter, insert_run

__all__ = ["Ledger", "RunRecord", "RunWriter", "STATUSES", "SORT_KEYS", "SCHEMA_VERSION",
           "default_ledger_path", "runs"]

log = logging.getLogger("wattprint")


def _host() -> str:
    return socket.gethostname() or "localhost"


def _merged(parts: Sequence[RunRecord]) -> Any:
    """The job made of these recorded parts (the one merge rule)."""
    from ..distributed import JobPart, merge_parts

    return merge_parts(JobPart.from_record(r) for r in parts)


def _empty_ledger(path: str) -> sqlite3.Connection:
    """An in-memory ledger with the current schema: how a read-only open sees a ledger
    that does not exist yet."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    migrate(conn, path)
    return conn


class Ledger:
    """One ledger file. ``readonly=True`` never creates or changes it (a missing file reads
    as an empty ledger); otherwise opening migrates the schema and, with ``recover=True``,
    marks dead ``running`` runs of this host ``interrupted``. Thread-safe; close it (or
    use ``with``) when done."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False,
                 recover: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if path is None:
            from ..config import load_config

            path = load_config().ledger
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self.readonly = readonly
        self._timeout_s = timeout_s
        self.host = _host()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self.recovered: list[str] = []
        if os.path.isdir(self.path):
            raise LedgerError(f"the ledger path {self.path} is a folder", path=self.path,
                              reason="unwritable", fix="give the path of a file, e.g. "
                              f"{os.path.join(self.path, 'ledger.db')}")
        if readonly and not os.path.exists(self.path):
            self._conn = _empty_ledger(self.path)
            return
        conn = connect(self.path, readonly=readonly, timeout_s=timeout_s)
        try:
            with guard(self.path):
                if readonly:
                    if _state(conn)[::2] == (0, 0):
                        # Created a moment ago by a first run whose setup transaction has
                        # not committed yet: it holds no runs, so it reads as empty.
                        conn.close()
                        self._conn = _empty_ledger(self.path)
                        return
                    check_version(conn, self.path, writable=False)
                else:
                    retry_busy(lambda: migrate(conn, self.path), timeout_s)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        if recover and not readonly:
            try:  # runs saved while this ledger could not take them, before recovery
                self.import_pending()  # marks their `running` rows interrupted
            except LedgerError as err:
                log.warning("wattprint: pending runs could not be recorded yet: %s", err)
            self.recover()

    # -- plumbing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise LedgerError(f"the ledger {self.path} is closed", path=self.path,
                                  reason="io", fix="open it again with Ledger(path)")
            yield self._conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._locked() as conn, guard(self.path):
            yield conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise LedgerError(f"the ledger {self.path} was opened read-only", path=self.path,
                              reason="unwritable", fix="open it with Ledger(path)")
        with self._locked() as conn, guard(self.path), write_txn(conn):
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Ledger {self.path}{' (read-only)' if self.readonly else ''}>"

    @property
    def schema_version(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- recording ----------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Mark this host's ``running`` runs whose process is gone ``interrupted``, with
        totals from their flushed samples; return their ids."""
        with self._reading() as conn:
            rids = stale_runs(conn, self.host)
            done = [rid for rid in rids if recover_run(conn, rid)]
            ids = [conn.execute("SELECT id FROM runs WHERE rid = ?", (rid,)).fetchone()[0]
                   for rid in done]
        self.recovered.extend(ids)
        return ids

    def import_pending(self) -> list[str]:
        """Record the runs saved in pending files for this ledger (see
        :mod:`wattprint.ledger._pending`: runs it could not take when they started or
        ended), each in one transaction, and remove their files; return their ids. A
        file that cannot be read is left in place and logged. Raises
        :class:`~wattprint.errors.LedgerError` when the ledger cannot be written."""
        from ._pending import load_pending, pending_files, record_pending

        ids = []
        for path in pending_files(self.path):
            try:
                payload = load_pending(path)
                with self._writing() as conn:
                    ids.append(record_pending(conn, payload))
            except (OSError, ValueError, KeyError, TypeError) as err:  # not LedgerError
                log.warning("wattprint: skipping the pending run file %s: %r", path, err)
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:  # another process recorded it at the same time
                pass
        return ids

    def begin_run(self, *, name: str | None = None, project: str | None = None,
                  tags: Sequence[str] = (), command: Sequence[str] | None = None,
                  mode: str | None = None, zone: str | None = None,
                  settings: Mapping[str, Any] | None = None, sensors: Sequence[Any] = (),
                  pid: int | None = None, t0: float | None = None,
                  flush_interval_s: float | None = None, job: Any = None) -> RunWriter:
        """Insert a ``running`` run (and its devices, from ``sensors``) and return the
        :class:`RunWriter` that records it. ``pid`` is the process whose death means the
        run was interrupted (default: this process). ``flush_interval_s`` fixes the seconds
        between sample flushes; by default 0.5 s for the first 10 s of the run, 2 s after.
        ``job``: the :class:`wattprint.distributed.JobIdentity` when the run is one part
        of a distributed job."""
        tags = clean_tags(tags)
        if project is not None and (not isinstance(project, str) or not project.strip()):
            raise UsageError(f"project {project!r} must be a non-empty string")
        pid = os.getpid() if pid is None else int(pid)
        try:
            pid_started: float | None = psutil.Process(pid).create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pid_started = None
        fields = dict(name=name, project=project, tags=tags, command=command,
                      host=self.host, pid=pid, pid_started=pid_started, mode=mode,
                      started_at=utc_now_iso(), zone=zone, settings=settings,
                      sensors=sensors, job=job.to_dict() if job is not None else None)
        rid = 0
        for _attempt in range(8):
            run_id = new_run_id()
            try:
                with self._writing() as conn:
                    rid = insert_run(conn, run_id, **fields)
                break
            except LedgerError as err:
                if not isinstance(err.__cause__, sqlite3.IntegrityError):
                    raise
        else:  # pragma: no cover - 8 collisions of a random 10-bit suffix in one ms
            raise LedgerError("could not allocate a unique run id", path=self.path)
        writer = RunWriter(self, rid, run_id, time.monotonic() if t0 is None else t0,
                           flush_interval_s=flush_interval_s)
        writer.job_id = job.job_id if job is not None else None
        return writer

    # -- reading ------------------------------------------------------------------------
    def runs(self, *, project: str | None = None, tags: Sequence[str] = (),
             status: Sequence[str] | str | None = None, since: str | None = None,
             until: str | None = None, name: str | None = None, sort: str = "started",
             descending: bool = True, limit: int | None = None,
             per_job: bool = False) -> list[RunRecord]:
        """Runs (summaries: no devices or phases) matching every filter given; see
        :func:`wattprint.ledger._query.list_runs`. ``per_job``: one row per distributed
        job (its first part; :meth:`job` gives the job's figures). A list with
        ``to_pandas()`` / ``to_polars()`` (:class:`wattprint.frames.RunList`)."""
        from ..frames import RunList

        with self._reading() as conn:
            return RunList(list_runs(conn, project=project, tags=tags, status=status,
                                     since=since, until=until, name=name, sort=sort,
                                     descending=descending, limit=limit, per_job=per_job))

    def iter_runs(self, *, project: str | None = None, tags: Sequence[str] = (),
                  status: Sequence[str] | str | None = None, since: str | None = None,
                  until: str | None = None, name: str | None = None, sort: str = "started",
                  descending: bool = True, limit: int | None = None, per_job: bool = False,
                  counters: bool = False, summary: bool = False) -> Iterator[Any]:
        """:meth:`runs` one at a time, in constant memory; ``counters``: with each run's
        work counters too; ``summary``: :class:`~wattprint.ledger._records.RunSummary`
        rows (what a listing shows, faster). Holds the ledger's lock while iterating:
        consume it promptly."""
        with self._reading() as conn:
            yield from iter_runs(conn, project=project, tags=tags, status=status,
                                 since=since, until=until, name=name, sort=sort,
                                 descending=descending, limit=limit, per_job=per_job,
                                 counters=counters, summary=summary)

    def count(self, *, project: str | None = None, tags: Sequence[str] = (),
              status: Sequence[str] | str | None = None, since: str | None = None,
              until: str | None = None, name: str | None = None,
              per_job: bool = False) -> int:
        with self._reading() as conn:
            return count_runs(conn, project=project, tags=tags, status=status, since=since,
                              until=until, name=name, per_job=per_job)

    def has_job(self, job_id: str) -> bool:
        """Whether some run of this ledger is a part of the job ``job_id``."""
        with self._reading() as conn:
            return bool(job_rids(conn, job_id))

    def job_parts(self, job: str) -> list[RunRecord]:
        """Every recorded part (in full) of a distributed job, named by its job id or by
        the id of any of its runs. Raises :class:`~wattprint.errors.RunNotFound`."""
        with self._reading() as conn:
            rids = job_rids(conn, job)
            if not rids:
                rid, _ = resolve(conn, job, self.path)
                record = load_run(conn, rid)
                rids = job_rids(conn, record.job_id) if record.job_id else [rid]
            return [load_run(conn, rid) for rid in rids]

    def job(self, job: str) -> Any:
        """The :class:`wattprint.distributed.JobResult` of a distributed job (every part
        recorded in this ledger merged by :func:`wattprint.distributed.merge_parts`),
        named by its job id or any of its runs' ids. Parts whose process died on this
        host were marked interrupted when the ledger was opened for writing."""
        parts = self.job_parts(job)
        if not parts[0].job_id:
            raise RunNotFound(f"run {parts[0].id} is not part of a distributed job",
                              run_id=job, path=self.path,
                              fix="show it with `wattprint show RUN`")
        return _merged(parts)

    def import_runs(self, other: "Ledger", *, samples: bool = True) -> list[str]:
        """Copy every run of ``other`` that this ledger lacks (same id), with its
        devices, phases, counters, tags and (``samples=True``) samples, in one
        transaction; return the ids copied. How the ledgers of several hosts of one job
        are brought together (``wattprint merge``)."""
        from ._import import copy_runs

        if os.path.abspath(other.path) == self.path:
            raise UsageError(f"cannot merge the ledger {self.path} into itself; name "
                             "another host's ledger file")
        with other._reading() as src, self._writing() as dst:
            return copy_runs(src, dst, samples=samples)

    def resolve(self, run: str) -> str:
        """The full id of the run named by an id, a unique prefix or ``last``/``last~N``."""
        with self._reading() as conn:
            return resolve(conn, run, self.path)[1]

    def get(self, run: str) -> RunRecord:
        """One run in full (devices, phases, counters) — or, given a distributed job's id,
        the whole job as one record (see :mod:`._jobs`). Raises
        :class:`~wattprint.errors.RunNotFound`."""
        with self._reading() as conn:
            if job_rids(conn, run):
                return self._job_record(run)
            rid, _ = resolve(conn, run, self.path)
            return load_run(conn, rid)

    def _job_record(self, job_id: str) -> RunRecord:
        from ._jobs import job_record

        parts = self.job_parts(job_id)
        return job_record(parts, _merged(parts))

    def samples(self, run: str, *, device: int | None = None,
                every_s: float | None = None) -> Iterator[tuple[int, float, float, float]]:
        """``(device, t_s, power_w, energy_j)`` of one run (``t_s`` from its start,
        ``energy_j`` cumulative); ``every_s`` downsamples (checked here, before the first
        row). Holds the ledger's lock while iterating: consume it promptly."""
        if every_s is not None:
            from .. import inputs

            every_s = inputs.check("sample_interval_s", "every_s", every_s)
        return self._samples(run, device, every_s)

    def _samples(self, run: str, device: int | None, every_s: float | None
                 ) -> Iterator[tuple[int, float, float, float]]:
        with self._reading() as conn:
            rid, _ = resolve(conn, run, self.path)
            yield from iter_samples(conn, rid, device=device, every_s=every_s)

    def series(self, run: str, *, points: int = 2000
               ) -> dict[int, list[tuple[float, float, float]]]:
        """Device index → at most ``points + 1`` ``(t_s, power_w, energy_j)``, evenly
        spaced over the run, for charts; fast on runs of any length (index seeks)."""
        from .. import inputs

        points = inputs.check("points", "points", points)
        with self._reading() as conn:
            if job_rids(conn, run):  # a job: every part's devices, times from its start
                from ._jobs import job_series

                parts = self.job_parts(run)
                return job_series(parts, lambda rid, n: self.series(rid, points=n),
                                  _merged(parts).started_at, points=points)
            rid, _ = resolve(conn, run, self.path)
            return sample_series(conn, rid, points=points)

    # -- keeping ------------------------------------------------------------------------
    def delete(self, runs: Sequence[str], *, force: bool = False) -> list[str]:
        """Delete runs (and their samples) in one transaction; return their ids. A run
        still being recorded by a live process is refused unless ``force``."""
        with self._writing() as conn:
            targets = [resolve(conn, r, self.path) for r in runs]
            for rid, run_id in targets:
                status, host, pid, started = conn.execute(
                    "SELECT status, host, pid, pid_started FROM runs WHERE rid = ?",
                    (rid,)).fetchone()
                if status == "running" and not force and (
                        host != self.host or process_alive(pid, started)):
                    raise LedgerError(f"run {run_id} is still being recorded (PID {pid} on "
                                      f"{host})", path=self.path, reason="in_use",
                                      fix="wait until it ends, or pass --force")
            for table in ("samples", "devices", "phases", "counters", "run_tags", "runs"):
                conn.executemany(f"DELETE FROM {table} WHERE rid = ?",
                                 [(rid,) for rid, _ in targets])
        with self._locked() as conn:  # the file shrinks (see reclaim_space)
            done = reclaim_space(conn, self._timeout_s)
        if done.startswith("failed"):
            log.warning("wattprint: the space of the removed runs stays in the ledger for "
                        "new runs to reuse (%s)", done)
        return [run_id for _, run_id in targets]

    def tag(self, run: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
        """Add and remove tags of a run; return its tags after the change."""
        add, remove = clean_tags(add), clean_tags(remove)
        with self._writing() as conn:
            rid, _ = resolve(conn, run, self.path)
            conn.executemany("INSERT OR IGNORE INTO run_tags (rid, tag) VALUES (?, ?)",
                             [(rid, t) for t in add])
            conn.executemany("DELETE FROM run_tags WHERE rid = ? AND tag = ?",
                             [(rid, t) for t in remove])
            return [t for (t,) in conn.execute(
                "SELECT tag FROM run_tags WHERE rid = ? ORDER BY tag", (rid,))]

    def update_settings(self, run: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``values`` (JSON-able) into a run's settings, key by key; return the
        settings after the change. For figures known only after a run ends (a benchmark's
        latencies); a pushed run counts as edited and is pushed again."""
        import json

        with self._writing() as conn:
            rid, _ = resolve(conn, run, self.path)
            (text,) = conn.execute("SELECT settings FROM runs WHERE rid = ?",
                                   (rid,)).fetchone()
            try:
                settings = json.loads(text or "{}")
            except ValueError:
                settings = {}
            if not isinstance(settings, dict):
                settings = {}
            settings.update(values)
            conn.execute("UPDATE runs SET settings = ? WHERE rid = ?",
                         (json.dumps(settings, default=str, sort_keys=True,
                                     allow_nan=False), rid))
            return settings

    # -- the team server's outbox (see ._outbox) ------------------------------------------
    def waiting(self, server: str, *, everything: bool = False) -> list[str]:
        """Ids of the final runs that ``server`` (a normalised URL) has not acknowledged
        in their current state, oldest first; ``everything``: every final run."""
        from ._outbox import waiting_rids

        with self._reading() as conn:
            return [run_id for _, run_id in waiting_rids(conn, server, everything=everything)]

    def count_waiting(self, server: str) -> int:
        """How many final runs wait to be pushed to ``server``."""
        from ._outbox import count_waiting

        with self._reading() as conn:
            return count_waiting(conn, server)

    def begin_push(self, server: str, run: str) -> tuple[str, int]:
        """Before building a run's payload for ``server``: ``(run id, edit count)``, the
        count to hand to :meth:`acknowledge` (edits made meanwhile keep the run waiting)."""
        from ._outbox import begin_push

        with self._writing() as conn:
            rid, run_id = resolve(conn, run, self.path)
            return run_id, begin_push(conn, server, rid)

    def acknowledge(self, server: str, run: str, edits: int, digest: str) -> None:
        """Record that ``server`` acknowledged the run's payload ``digest``."""
        from ._outbox import acknowledge

        with self._writing() as conn:
            rid, _ = resolve(conn, run, self.path)
            acknowledge(conn, server, rid, edits, digest, utc_now_iso())

    def acknowledged_digest(self, server: str, run: str) -> str | None:
        """The digest of the run's payload that ``server`` last acknowledged, if any."""
        from ._outbox import acknowledged_digest

        with self._reading() as conn:
            rid, _ = resolve(conn, run, self.path)
            return acknowledged_digest(conn, server, rid)

    def push_state(self, server: str, run: str) -> tuple[str | None, bool]:
        """``(pushed_at, current)``: when ``server`` last acknowledged the run (UTC ISO
        time; None: never) and whether that was its current state (no edit since)."""
        from ._outbox import push_state

        with self._reading() as conn:
            rid, _ = resolve(conn, run, self.path)
            return push_state(conn, server, rid)


def runs(ledger: str | os.PathLike[str] | None = None, **filters: Any) -> Any:
    """The runs of ``ledger`` (a path; default: the configured ledger) matching
    ``filters`` (those of :meth:`Ledger.runs`: ``project``, ``tags``, ``status``, ``since``,
    ``until``, ``name``, ``sort``, ``limit``…), with their work counters, read-only, as
    a list with ``to_pandas()`` and ``to_polars()``."""
    from ..frames import RunList

    with Ledger(ledger, readonly=True) as opened:
        return RunList(opened.iter_runs(counters=True, **filters))
