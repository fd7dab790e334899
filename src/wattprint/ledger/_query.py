"""Reading and editing recorded runs: list with filters and sorting, resolve an id or a
prefix, load one run in full, stream samples, delete, tag.

Listing reads only the ``runs`` summary columns (and the tags index), never samples, so
it stays fast with millions of samples in the ledger.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Iterator, Sequence

from .._ledger_rules import clean_tags
from ..errors import RunNotFound, UsageError
from ._ids import ID_LENGTH, is_id_prefix
from ._records import (DEVICE_COLUMNS, RUN_COLUMNS, STATUSES, SUMMARY_COLUMNS, RunRecord,
                       device_from_row, phase_from_row, run_from_row, summary_from_row)

__all__ = ["SORT_KEYS", "list_runs", "iter_runs", "resolve", "load_run", "iter_samples",
           "clean_tags", "sample_series"]

#: ``--sort`` keys and the SQL they order by.
SORT_KEYS = {
    "started": "runs.started_at",
    "energy": "runs.energy_j",
    "duration": "runs.duration_s",
    "power": "runs.energy_j / NULLIF(runs.duration_s, 0)",
    "name": "runs.name",
    "project": "runs.project",
    "status": "runs.status",
}
_LAST = re.compile(r"^(?:last|latest)(?:~(\d+))?$")


def list_runs(conn: sqlite3.Connection, *, project: str | None = None,
              tags: Sequence[str] = (), status: Sequence[str] | str | None = None,
              since: str | None = None, until: str | None = None, name: str | None = None,
              sort: str = "started", descending: bool = True,
              limit: int | None = None, per_job: bool = False) -> list[RunRecord]:
    """Runs matching every filter given. ``since``/``until``: ISO 8601 UTC bounds on the
    start time; ``name``: a substring of the name; ``limit`` None or 0: all;
    ``per_job``: one run per distributed job (its first part), so a job is one row."""
    return list(iter_runs(conn, project=project, tags=tags, status=status, since=since,
                          until=until, name=name, sort=sort, descending=descending,
                          limit=limit, per_job=per_job))


#: Runs read from the cursor at a time by :func:`iter_runs` (their counters in one query).
CHUNK_RUNS = 500


def iter_runs(conn: sqlite3.Connection, *, project: str | None = None,
              tags: Sequence[str] = (), status: Sequence[str] | str | None = None,
              since: str | None = None, until: str | None = None, name: str | None = None,
              sort: str = "started", descending: bool = True, limit: int | None = None,
              per_job: bool = False, counters: bool = False,
              summary: bool = False) -> Iterator[Any]:
    """:func:`list_runs` one run at a time, in constant memory (a hundred thousand runs
    never sit in memory together); ``counters`` also reads each run's work counters (one
    query per :data:`CHUNK_RUNS` runs); ``summary`` yields :class:`RunSummary` rows
    instead of records (no JSON column is read: what a listing shows)."""
    if sort not in SORT_KEYS:
        raise UsageError(f"cannot sort by {sort!r}; use one of {', '.join(SORT_KEYS)}")
    where, params = _filters(project, tags, status, since, until, name, per_job)
    direction = "DESC" if descending else "ASC"
    columns = SUMMARY_COLUMNS if summary else RUN_COLUMNS
    sql = (f"SELECT {columns} FROM runs{where} ORDER BY {SORT_KEYS[sort]} {direction} "
           f"NULLS LAST, runs.id {direction}")
    if limit:
        sql += f" LIMIT {int(limit)}"
    cursor = conn.execute(sql, params)
    if summary:
        yield from map(summary_from_row, cursor)
        return
    while True:
        records = [run_from_row(row) for row in cursor.fetchmany(CHUNK_RUNS)]
        if not records:
            return
        if counters:
            by_rid = {r.rid: r for r in records}
            for rid, unit, value in conn.execute(
                    "SELECT rid, unit, value FROM counters WHERE rid IN "
                    f"({', '.join('?' * len(by_rid))})", list(by_rid)):
                by_rid[rid].counters[unit] = value
        yield from records


def job_rids(conn: sqlite3.Connection, job_id: str) -> list[int]:
    """Row ids of every part of the job ``job_id``."""
    return [rid for (rid,) in conn.execute(
        "SELECT rid FROM runs WHERE job_id = ? ORDER BY rid", (job_id,))]


def count_runs(conn: sqlite3.Connection, **filters: object) -> int:
    where, params = _filters(**filters)  # type: ignore[arg-type]
    return conn.execute(f"SELECT count(*) FROM runs{where}", params).fetchone()[0]


def _filters(project: str | None = None, tags: Sequence[str] = (),
             status: Sequence[str] | str | None = None, since: str | None = None,
             until: str | None = None, name: str | None = None,
             per_job: bool = False) -> tuple[str, list]:
    clauses: list[str] = []
    params: list[object] = []
    if per_job:
        clauses.append("(runs.job_id IS NULL OR runs.rid = (SELECT min(j.rid) FROM runs j "
                       "WHERE j.job_id = runs.job_id))")
    if project is not None:
        clauses.append("runs.project = ?")
        params.append(project)
    for tag in tags:
        clauses.append("runs.rid IN (SELECT rid FROM run_tags WHERE tag = ?)")
        params.append(tag)
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise UsageError(f"status {bad[0]!r} is not a run status; use one of "
                             f"{', '.join(STATUSES)}")
        clauses.append(f"runs.status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    if since:
        clauses.append("runs.started_at >= ?")
        params.append(since)
    if until:
        clauses.append("runs.started_at < ?")
        params.append(until)
    if name:
        clauses.append("runs.name LIKE ? ESCAPE '\\'")
        params.append("%" + re.sub(r"([\\%_])", r"\\\1", name) + "%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def resolve(conn: sqlite3.Connection, text: str, path: str | None = None) -> tuple[int, str]:
    """``(rid, id)`` of the run named by a full id, a unique prefix, or ``last``/``last~N``
    (the most recent run, the one before it…). Raises :class:`RunNotFound`."""
    fix = "list run ids with `wattprint runs` (add --all to see every run)"
    key = text.strip().lower()
    last = _LAST.match(key)
    if last:
        offset = int(last.group(1) or 0)
        row = conn.execute("SELECT rid, id FROM runs ORDER BY started_at DESC, id DESC "
                           "LIMIT 1 OFFSET ?", (offset,)).fetchone()
        if row is None:
            raise RunNotFound(f"there is no run {text!r}: the ledger has "
                              f"{conn.execute('SELECT count(*) FROM runs').fetchone()[0]} "
                              "run(s)", run_id=text, path=path, fix=fix)
        return row[0], row[1]
    if not is_id_prefix(key):
        raise RunNotFound(f"{text!r} is not a run id: ids are {ID_LENGTH} characters of "
                          "0-9 and a-z (without i, l, o, u), and a unique prefix is enough",
                          run_id=text, path=path, fix=fix)
    rows = conn.execute("SELECT rid, id FROM runs WHERE id >= ? AND id < ? ORDER BY id "
                        "LIMIT 6", (key, key + "~")).fetchall()
    if not rows:
        raise RunNotFound(f"no run with id {text!r} in the ledger {path or ''}".rstrip(),
                          run_id=text, path=path, fix=fix)
    if len(rows) > 1:
        shown = ", ".join(r[1] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise RunNotFound(f"the prefix {text!r} matches several runs ({shown}); type more "
                          "of the id", run_id=text, path=path,
                          candidates=tuple(r[1] for r in rows), fix=fix)
    return rows[0][0], rows[0][1]


def load_run(conn: sqlite3.Connection, rid: int) -> RunRecord:
    """One run with its devices, phases and counters."""
    record = run_from_row(conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE rid = ?",
                                       (rid,)).fetchone())
    record.devices = [device_from_row(r) for r in conn.execute(
        f"SELECT {DEVICE_COLUMNS} FROM devices WHERE rid = ? ORDER BY idx", (rid,))]
    record.phases = [phase_from_row(r) for r in conn.execute(
        "SELECT name, energy_j, duration_s, entries, by_domain, counters FROM phases "
        "WHERE rid = ? ORDER BY seq", (rid,))]
    record.counters = dict(conn.execute("SELECT unit, value FROM counters WHERE rid = ?",
                                        (rid,)).fetchall())
    return record


def iter_samples(conn: sqlite3.Connection, rid: int, *, device: int | None = None,
                 every_s: float | None = None) -> Iterator[tuple[int, float, float, float]]:
    """``(device, t_s, power_w, energy_j)`` in device then time order. ``every_s`` keeps
    one sample per device and time bucket of that width (the last in each bucket; the
    cumulative energy stays exact at the kept points)."""
    sql = "SELECT device, t, power_w, energy_j FROM samples WHERE rid = ?"
    params: list[object] = [rid]
    if device is not None:
        sql += " AND device = ?"
        params.append(device)
    cursor = conn.execute(sql + " ORDER BY device, t", params)
    if not every_s:
        yield from cursor
        return
    pending: tuple[int, float, float, float] | None = None
    bucket: tuple[int, int] | None = None
    for row in cursor:
        key = (row[0], int(row[1] // every_s))
        if pending is not None and key != bucket:
            yield pending
        pending, bucket = row, key
    if pending is not None:
        yield pending


def sample_series(conn: sqlite3.Connection, rid: int, *, points: int = 2000
                  ) -> dict[int, list[tuple[float, float, float]]]:
    """Per device, at most ``points + 1`` ``(t_s, power_w, energy_j)`` for charts.

    A device with few samples is returned whole. Otherwise the cumulative energy is read
    at ``points`` evenly spaced times by index seeks (the last sample at or before each
    time), so the cost grows with ``points``, not with the run's length: a run with ten
    million samples charts as fast as one with ten thousand. ``power_w`` of a kept point
    is the mean power since the previous kept point (exact: energy is cumulative)."""
    if points < 2:
        raise UsageError(f"points={points!r}: a series needs at least 2 points")
    out: dict[int, list[tuple[float, float, float]]] = {}
    devices = conn.execute("SELECT idx, samples FROM devices WHERE rid = ? ORDER BY idx",
                           (rid,)).fetchall()
    base = "SELECT t, power_w, energy_j FROM samples WHERE rid = ? AND device = ?"
    for idx, n in devices:
        first = conn.execute(base + " ORDER BY t LIMIT 1", (rid, idx)).fetchone()
        if first is None:
            continue
        if n is not None and 0 < n <= points:
            rows = conn.execute(base + " ORDER BY t", (rid, idx)).fetchall()
            if len(rows) <= points + 1:
                out[idx] = [tuple(r) for r in rows]  # type: ignore[misc]
                continue
        last = conn.execute(base + " ORDER BY t DESC LIMIT 1", (rid, idx)).fetchone()
        t0, t1 = first[0], last[0]
        kept = [tuple(first)]
        seek = base + " AND t <= ? ORDER BY t DESC LIMIT 1"
        for k in range(1, points + 1):
            row = conn.execute(seek, (rid, idx, t0 + (t1 - t0) * k / points)).fetchone()
            if row is not None and row[0] > kept[-1][0]:
                dt = row[0] - kept[-1][0]
                kept.append((row[0], (row[2] - kept[-1][2]) / dt, row[2]))
        out[idx] = kept  # type: ignore[assignment]
    return out
