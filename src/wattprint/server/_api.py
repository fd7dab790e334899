"""The REST API under ``/api/v1``: ingest (``POST /runs``), run listings with filters
and keyset paging (JSON and CSV), one run in full, its HTML report, a comparison of two
runs, summaries (:mod:`._summary`) and ``/me``.

Every route needs ``Authorization: Bearer TOKEN`` (401 without); a token sees only its
project's runs (another project's run is 404, as if it did not exist); read-only tokens
cannot push (403). Filters are bound parameters, never SQL text.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import datetime, timezone
from typing import Annotated, Any, Iterator, Optional

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from starlette.concurrency import run_in_threadpool

from ..wire import FINAL_STATUSES, PayloadError, parse_payload
from ._auth import Principal, authenticate
from ._db import POOL_SIZE, Project, Run, RunChunk, RunTag
from ._ingest import ingest
from ._schemas import (ERRORS, FORBIDDEN, PAYLOAD_SCHEMA, IngestOut, MeOut, RunDetail,
                       RunList, json_errors)
from ._stored import StoredLedger, iso, run_record, run_row, series_of

__all__ = ["router", "get_session", "get_principal", "Filters", "run_filters",
           "parse_when", "csv_response"]

router = APIRouter(prefix="/api/v1")
_bearer = HTTPBearer(auto_error=False, description="a wattprint server token (wpt_...)")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    with request.app.state.sessions() as session:
        with session.begin():
            yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(request: Request, creds: Annotated[
        Optional[HTTPAuthorizationCredentials], Depends(_bearer)]) -> Principal:
    """The token's principal, read in a session of its own that is closed at once: a
    request holds at most one database connection at a time (a push none while its body
    arrives)."""
    with request.app.state.sessions() as session:
        who = authenticate(session, creds.credentials if creds else None)
    if who is None:
        raise HTTPException(401, "a valid token is needed: send Authorization: Bearer "
                                 "TOKEN (create one with `wattprint server token create`)",
                            headers={"WWW-Authenticate": "Bearer"})
    return who


Who = Annotated[Principal, Depends(get_principal)]


def parse_when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or time (UTC when no offset) as a naive UTC datetime."""
    if value is None or value == "":
        return None
    try:  # a trailing Z is UTC (Python 3.10's fromisoformat does not know it)
        dt = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "Zz" else value)
    except ValueError:
        raise HTTPException(422, f"{name}={value!r} is not an ISO 8601 date or time "
                                 "(e.g. 2026-03-01 or 2026-03-01T12:00:00Z)") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


class Filters:
    """The run filters every listing and summary takes (query parameters)."""

    def __init__(
            self,
            project: Annotated[Optional[str], Query(max_length=256, description=
                               "project name (admin tokens; others see their own)")] = None,
            user: Annotated[Optional[str], Query(max_length=256)] = None,
            host: Annotated[Optional[str], Query(max_length=256)] = None,
            tag: Annotated[Optional[str], Query(max_length=64)] = None,
            status: Annotated[Optional[str], Query(max_length=16, description=
                              "finished, failed, interrupted or stopped")] = None,
            since: Annotated[Optional[str], Query(max_length=64, description=
                             "runs started at or after (ISO 8601)")] = None,
            until: Annotated[Optional[str], Query(max_length=64, description=
                             "runs started before (ISO 8601)")] = None,
            accelerator: Annotated[Optional[str], Query(max_length=512)] = None,
            q: Annotated[Optional[str], Query(max_length=256, description=
                         "a substring of the run's name (any case)")] = None) -> None:
        if status is not None and status not in FINAL_STATUSES:
            raise HTTPException(422, f"status={status!r} is not a run status; use one of "
                                     f"{', '.join(FINAL_STATUSES)}")
        self.project, self.user, self.host, self.tag = project, user, host, tag
        self.status, self.accelerator, self.q = status, accelerator, q
        self.since, self.until = parse_when(since, "since"), parse_when(until, "until")


def run_filters(who: Principal, f: Filters) -> list[Any]:
    """SQL conditions (bound parameters only) for a principal and filters; joins
    ``projects`` by the caller."""
    where: list[Any] = []
    if not who.admin:
        if f.project is not None and f.project != who.project:
            raise HTTPException(403, f"this token reads only the project {who.project!r}")
        where.append(Run.project_id == who.project_id)
    elif f.project is not None:
        where.append(Project.name == f.project)
    for column, value in ((Run.user, f.user), (Run.host, f.host), (Run.status, f.status),
                          (Run.accelerator, f.accelerator)):
        if value is not None:
            where.append(column == value)
    if f.tag is not None:
        where.append(Run.pk.in_(select(RunTag.run_pk).where(RunTag.tag == f.tag)))
    if f.since is not None:
        where.append(Run.started_at >= f.since)
    if f.until is not None:
        where.append(Run.started_at < f.until)
    if f.q:
        escaped = f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Run.name.ilike(f"%{escaped}%", escape="\\"))
    return where


#: sort= values and their columns (a leading '-' sorts descending).
SORTS = {"started_at": Run.started_at, "energy_j": Run.energy_j,
         "duration_s": Run.duration_s, "co2e_g": Run.co2e_g}
SORT_PATTERN = "^-?(" + "|".join(SORTS) + ")$"


def _cursor_of(run: Run, key: str) -> str:
    value = getattr(run, key)
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, run.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, key: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
        if key == "started_at":
            value = datetime.fromisoformat(value)
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, UnicodeDecodeError):
        raise HTTPException(422, "cursor is not a cursor this server gave: pass the "
                                 "next_cursor of the previous page unchanged") from None


def _tags_of(session: Session, pks: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {pk: [] for pk in pks}
    if pks:
        for pk, tag in session.execute(select(RunTag.run_pk, RunTag.tag).where(
                RunTag.run_pk.in_(pks))):
            tags[pk].append(tag)
    return tags


def list_runs(session: Session, who: Principal, f: Filters, sort: str, limit: int,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    column = SORTS[key]
    query = (select(Run, Project.name).options(defer(Run.detail))  # listings never read it
             .join(Project, Run.project_id == Project.id).where(*run_filters(who, f)))
    if cursor:
        value, pk = _decode_cursor(cursor, key)
        if descending:
            query = query.where((column < value) | ((column == value) & (Run.pk < pk)))
        else:
            query = query.where((column > value) | ((column == value) & (Run.pk > pk)))
    order = (column.desc(), Run.pk.desc()) if descending else (column.asc(), Run.pk.asc())
    rows = session.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    tags = _tags_of(session, [r.pk for r, _ in rows])
    out = [run_row(r, p, tags[r.pk]) for r, p in rows]
    return out, (_cursor_of(rows[-1][0], key) if more and rows else None)


Sort = Annotated[str, Query(pattern=SORT_PATTERN, description="started_at, energy_j, "
                            "duration_s or co2e_g; a leading '-' for descending")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[Optional[str], Query(max_length=512)]


@router.get("/runs", response_model=RunList, responses=ERRORS | FORBIDDEN)
def get_runs(session: SessionDep, who: Who, f: Annotated[Filters, Depends()],
             sort: Sort = "-started_at", limit: Limit = 100,
             cursor: Cursor = None) -> dict[str, Any]:
    """Runs matching every filter, newest first by default; ``next_cursor`` pages on."""
    runs, next_cursor = list_runs(session, who, f, sort, limit, cursor)
    return {"runs": runs, "next_cursor": next_cursor}


#: Columns of runs.csv, in order.
CSV_COLUMNS = ("id", "name", "project", "user", "host", "status", "started_at", "ended_at",
               "duration_s", "energy_j", "energy_low_j", "energy_high_j", "basis",
               "measured_energy_j", "facility_energy_j", "co2e_g", "co2e_market_g", "cost",
               "currency", "water_l", "accelerator", "zone", "tags", "job")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = " ".join(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet never runs a cell as a formula
    return "" if value is None else value


def csv_response(rows: list[dict[str, Any]], columns: tuple[str, ...], name: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/runs.csv", responses=json_errors(ERRORS | FORBIDDEN) | {
    200: {"content": {"text/csv": {}}}})
def get_runs_csv(session: SessionDep, who: Who, f: Annotated[Filters, Depends()],
                 sort: Sort = "-started_at", limit: Annotated[int, Query(ge=1, le=100_000)]
                 = 10_000, cursor: Cursor = None) -> Response:
    """The same listing as CSV (one page of up to ``limit`` runs)."""
    runs, _ = list_runs(session, who, f, sort, limit, cursor)
    return csv_response(runs, CSV_COLUMNS, "runs.csv")


def find_run(session: Session, who: Principal, run_id: str,
             project: str | None = None) -> tuple[Run, str]:
    """The run ``run_id`` this principal may read (an admin: of any project, the most
    recently pushed), else 404."""
    query = select(Run, Project.name).join(Project, Run.project_id == Project.id).where(
        Run.run_id == run_id)
    if not who.admin:
        query = query.where(Run.project_id == who.project_id)
    elif project is not None:
        query = query.where(Project.name == project)
    row = session.execute(query.order_by(Run.received_at.desc()).limit(1)).first()
    if row is None:
        raise HTTPException(404, f"no run {run_id!r} in this token's project")
    return row[0], row[1]


RunId = Annotated[str, Query(max_length=64)]
_NOT_FOUND = {404: {"model": ERRORS[401]["model"], "description": "no such run in the "
                    "token's project"}}


def _series(session: Session, run: Run) -> dict[int, list[tuple[float, float, float]]]:
    powers = session.scalars(select(RunChunk.power).where(
        RunChunk.project_id == run.project_id, RunChunk.run_id == run.run_id,
        RunChunk.digest == run.digest).order_by(RunChunk.idx)).all()
    return series_of(powers, run.detail.get("devices", []))


@router.get("/runs/{run_id}", response_model=RunDetail, responses=ERRORS | _NOT_FOUND)
def get_run(run_id: str, session: SessionDep, who: Who,
            project: Annotated[Optional[str], Query(max_length=256)] = None) -> dict[str, Any]:
    """One run: summary figures, devices, phases, counters and the downsampled power."""
    run, project_name = find_run(session, who, run_id, project)
    tags = _tags_of(session, [run.pk])[run.pk]
    detail = run.detail or {}
    pushed = detail.get("run", {})
    devices = sorted(detail.get("devices", []), key=lambda d: d.get("index", 0))
    series = _series(session, run)
    power = [{"device": i, "name": devices[i]["name"], "t": [p[0] for p in pts],
              "power_w": [p[1] for p in pts]} for i, pts in sorted(series.items())]
    return dict(run_row(run, project_name, tags), command=pushed.get("command"),
                mode=run.mode, exit_code=run.exit_code, end_reason=pushed.get("end_reason"),
                warnings=pushed.get("warnings") or [], settings=pushed.get("settings") or {},
                devices=devices, phases=detail.get("phases", []),
                counters=detail.get("counters", {}), accounting=detail.get("accounting", {}),
                power=power)


def report_data(session: Session, who: Principal, run_id: str,
                project: str | None = None) -> Any:
    """The :class:`wattprint.report.ReportData` of a stored run (as the local report)."""
    from ..report import build_report

    run, project_name = find_run(session, who, run_id, project)
    record = run_record(run, project_name, _tags_of(session, [run.pk])[run.pk])
    return build_report(StoredLedger(record, _series(session, run)), run.run_id)


def _html(text: str) -> HTMLResponse:
    from ..report import CSP

    return HTMLResponse(text, headers={"Content-Security-Policy": CSP,
                                       "X-Content-Type-Options": "nosniff"})


@router.get("/runs/{run_id}/report.html", response_class=HTMLResponse,
            responses=json_errors(ERRORS | _NOT_FOUND))
def get_run_report(run_id: str, session: SessionDep, who: Who,
                   project: Annotated[Optional[str], Query(max_length=256)] = None
                   ) -> HTMLResponse:
    """The run's self-contained HTML report (wattprint.report), nothing fetched."""
    from ..report import render

    return _html(render([report_data(session, who, run_id, project)], "html"))


@router.get("/compare", responses=ERRORS | _NOT_FOUND)
def get_compare(a: RunId, b: RunId, session: SessionDep, who: Who) -> Any:
    """Two runs side by side (the report's comparison, JSON)."""
    from ..report import compare_reports

    data = [report_data(session, who, a), report_data(session, who, b)]
    return json.loads(json.dumps(compare_reports(data).to_dict(), default=str))


@router.get("/compare.html", response_class=HTMLResponse,
            responses=json_errors(ERRORS | _NOT_FOUND))
def get_compare_html(a: RunId, b: RunId, session: SessionDep, who: Who) -> HTMLResponse:
    """Two runs side by side as the report's HTML comparison page."""
    from ..report import render

    return _html(render([report_data(session, who, a), report_data(session, who, b)],
                        "html"))


@router.get("/me", response_model=MeOut, responses=ERRORS)
def get_me(session: SessionDep, who: Who) -> dict[str, Any]:
    """The token's role and project."""
    from ._db import Token

    token = session.get(Token, who.token_id)
    return {"role": who.role, "project": who.project, "token": token.prefix if token else ""}


#: Chunks stored at once per app process: fewer than the pooled connections, so that
#: reads (listings, summaries, token checks) still find one while pushes pile up.
INGEST_SLOTS = max(1, POOL_SIZE - 2)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {int(declared)} bytes; the limit is {limit} "
                                 "(push a long run in more chunks)")
    chunks, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise HTTPException(413, f"the body is over the limit of {limit} bytes (push a "
                                     "long run in more chunks)")
        chunks.append(part)
    return b"".join(chunks)


@router.post("/runs", response_model=IngestOut, status_code=200, responses=ERRORS | {
    201: {"model": IngestOut, "description": "the run was created"},
    403: {"model": ERRORS[401]["model"], "description": "a read-only token"},
    413: {"model": ERRORS[401]["model"], "description": "a body over the size limit"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": PAYLOAD_SCHEMA}}}})
async def post_run(request: Request, response: Response, who: Who,
                   project: Annotated[Optional[str], Query(
                       max_length=256, description="admin tokens: the project to store "
                       "the run in (default: the payload's)")] = None) -> dict[str, Any]:
    """Store one chunk of a run payload (idempotent: the same run id replaces the run;
    a chunk may be re-sent any number of times). 201 when the run is new."""
    if not who.can_write:
        raise HTTPException(403, "this token is read-only: push with a project token "
                                 "(`wattprint server token create --project P`)")
    if project is not None and not who.admin:
        raise HTTPException(403, "only an admin token chooses the project; a project "
                                 "token's runs go to its own project")
    body = await _read_body(request, request.app.state.max_body_bytes)

    def parse() -> Any:
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPException(422, f"the body is not JSON ({err})") from None
        try:
            return parse_payload(obj)
        except PayloadError as err:
            raise HTTPException(422, f"invalid run payload: {err}") from None
        except RecursionError:
            raise HTTPException(422, "invalid run payload: nested too deeply") from None

    payload = await run_in_threadpool(parse)  # off the event loop: it is CPU work

    def store() -> tuple[bool, dict[str, Any]]:
        from ..errors import UsageError

        with request.app.state.write_sessions() as session, session.begin():
            try:
                return ingest(session, who, payload, project)
            except UsageError as err:  # a project name an admin gave
                raise HTTPException(422, str(err)) from None

    # At most INGEST_SLOTS chunks are stored at once per process; the others queue here
    # (no thread, no connection held) instead of exhausting the connection pool.
    slots = getattr(request.app.state, "ingest_slots", None)
    if slots is None:
        slots = request.app.state.ingest_slots = anyio.Semaphore(INGEST_SLOTS)
    async with slots:
        created, out = await run_in_threadpool(store)
    response.status_code = 201 if created else 200
    return out


__all__ += ["list_runs", "find_run", "report_data", "CSV_COLUMNS", "SORTS", "iso"]
