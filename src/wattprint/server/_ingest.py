"""Storing pushed chunks, idempotently.

The run's project on the server is the token's project (an admin token names it with
``?project=``, else the payload's own project); the payload's ``run.project`` is kept as
``local_project`` when it differs. Chunk 0 creates or replaces the run row (same project
and run id: one row, whatever is re-sent); every chunk is stored under (project, run id,
index), replacing an earlier copy. Chunks of another digest (an older push of a run
since re-tagged) are dropped when a new chunk 0 arrives. When every chunk of the run's
digest is in, the run is marked complete and accounted again with its power trace.
The run's rollup rows (:mod:`._rollup`) change in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..ledger._records import parse_time
from ..wire import RunPayload
from . import _rollup as rollup
from ._auth import Principal, get_or_create_project
from ._db import Project, Run, RunChunk, RunTag
from ._stored import accelerator_of, accounted, series_of

__all__ = ["ingest"]

def _utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    return parse_time(text).astimezone(timezone.utc).replace(tzinfo=None)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ingest(session: Session, who: Principal, payload: RunPayload,
           project: str | None = None) -> tuple[bool, dict[str, Any]]:
    """Store one chunk; return (created, response body). Retries once when a concurrent
    push of the same run won the race to insert it."""
    for attempt in (0, 1):
        try:
            with session.begin_nested():
                return _ingest(session, who, payload, project)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _project_of(session: Session, who: Principal, payload: RunPayload,
                project: str | None) -> Project:
    if not who.admin:
        row = session.get(Project, who.project_id)
        assert row is not None
        return row
    name = project or payload.run.get("project")
    if not name:
        existing = session.execute(select(Project).join(Run, Run.project_id == Project.id)
                                   .where(Run.run_id == payload.run_id)
                                   .order_by(Run.received_at.desc())).scalars().first()
        if existing is not None:
            return existing
    return get_or_create_project(session, name or "default")


def _ingest(session: Session, who: Principal, payload: RunPayload,
            project: str | None) -> tuple[bool, dict[str, Any]]:
    proj = _project_of(session, who, payload, project)
    run = session.scalars(select(Run).where(Run.project_id == proj.id,
                                            Run.run_id == payload.run_id)).first()
    before = rollup.rows_of(run) if run is not None else {}
    created = False
    if payload.is_head:
        created = run is None
        run = _store_head(session, proj, run, payload)
    chunk = session.get(RunChunk, (proj.id, payload.run_id, payload.chunk_index))
    if chunk is None:
        chunk = RunChunk(project_id=proj.id, run_id=payload.run_id, idx=payload.chunk_index)
        session.add(chunk)
    chunk.digest = payload.digest
    chunk.points = payload.points
    chunk.power = payload.power
    chunk.received_at = _now()
    session.flush()
    complete = False
    if run is not None:
        complete = _check_complete(session, proj, run)
        rollup.apply(session, before, rollup.rows_of(run))
    return created, {"id": payload.run_id, "chunk": payload.chunk_index,
                     "complete": complete, "digest": payload.digest}


def _store_head(session: Session, proj: Project, run: Run | None,
                payload: RunPayload) -> Run:
    r = payload.run
    whole = payload.chunk_count == 1  # the trace is all here: account once, with it
    series = series_of([payload.power], payload.devices) if whole else None
    figures = accounted(r, payload.devices, series)
    acc = figures.pop("accounting")
    job = r.get("job") or {}
    job_id = job.get("job_id") if isinstance(job.get("job_id"), str) else None
    local = r.get("project")
    values: dict[str, Any] = dict(
        name=r.get("name"), local_project=local if local != proj.name else None,
        user=r.get("user"), host=r["host"], status=r["status"], mode=r.get("mode"),
        started_at=_utc(r["started_at"]), ended_at=_utc(r.get("ended_at")),
        duration_s=r.get("duration_s") or 0.0, exit_code=r.get("exit_code"),
        zone=r.get("zone"), accelerator=accelerator_of(payload.devices),
        job_id=job_id if job_id and len(job_id) <= 256 else None,
        detail={"run": r, "devices": payload.devices, "phases": payload.phases,
                "counters": payload.counters, "accounting": acc},
        digest=payload.digest, chunk_count=payload.chunk_count, complete=whole,
        received_at=_now(), **figures)
    if run is None:
        run = Run(project_id=proj.id, run_id=payload.run_id, **values)
        session.add(run)
    else:
        for key, value in values.items():
            setattr(run, key, value)
        session.execute(delete(RunTag).where(RunTag.run_pk == run.pk))
    session.flush()
    session.add_all(RunTag(run_pk=run.pk, tag=t) for t in dict.fromkeys(r.get("tags") or []))
    session.execute(delete(RunChunk).where(
        RunChunk.project_id == proj.id, RunChunk.run_id == payload.run_id,
        (RunChunk.digest != payload.digest) | (RunChunk.idx >= payload.chunk_count)))
    return run


def _check_complete(session: Session, proj: Project, run: Run) -> bool:
    """Whether every chunk of the run's digest is in; on the first time, account the run
    again with its power trace."""
    have = session.scalar(select(func.count()).select_from(RunChunk).where(
        RunChunk.project_id == proj.id, RunChunk.run_id == run.run_id,
        RunChunk.digest == run.digest, RunChunk.idx < run.chunk_count))
    if have != run.chunk_count:
        return False
    if not run.complete:
        powers = session.scalars(select(RunChunk.power).where(
            RunChunk.project_id == proj.id, RunChunk.run_id == run.run_id).order_by(
            RunChunk.idx)).all()
        detail = dict(run.detail)
        series = series_of(powers, detail["devices"])
        figures = accounted(detail["run"], detail["devices"], series)
        detail["accounting"] = figures.pop("accounting")
        for key, value in figures.items():
            setattr(run, key, value)
        run.detail = detail
        run.complete = True
    return True
