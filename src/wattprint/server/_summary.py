"""``/api/v1/summary``: runs grouped by project, user, host, accelerator, day or week,
with energy, facility energy, CO2e (location, market), cost, water and the measured
share — SQL sums over the rollups kept at ingest (:mod:`._rollup`: per project, UTC
day, user/host/accelerator, status and currency) when the filters allow, else over the
accounted columns of the runs. Days and weeks are UTC; a week is keyed by its
Monday (ISO weeks)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ._api import ERRORS, Filters, SessionDep, Who, csv_response, run_filters
from ._auth import Principal
from ._db import Project, Run, RunRollup
from ._schemas import FORBIDDEN, SummaryOut, json_errors

__all__ = ["router", "summarise", "GROUPS"]

router = APIRouter(prefix="/api/v1")

#: group_by= values.
GROUPS = ("project", "user", "host", "accelerator", "day", "week")


def _key(group_by: str, dialect: str) -> Any:
    if group_by == "project":
        return Project.name
    if group_by in ("user", "host", "accelerator"):
        return getattr(Run, group_by)
    if dialect == "postgresql":
        return func.to_char(func.date_trunc(group_by, Run.started_at), "YYYY-MM-DD")
    if group_by == "day":
        return func.strftime("%Y-%m-%d", Run.started_at)
    # SQLite: forward to the week's Sunday (the same day if one), back to its Monday
    return func.date(Run.started_at, "weekday 0", "-6 days")


def _group(k: Any, n: int, energy: float, facility: float, co2e: float, market: float,
           cost: float | None, cur_lo: str | None, cur_hi: str | None, water: float,
           measured: float, n_priced: int) -> dict[str, Any]:
    same = cur_lo == cur_hi
    energy = max(energy or 0.0, 0.0)  # rollups: sums after subtractions may end at -1e-12
    return dict(
        key=k, runs=n, energy_j=energy, facility_energy_j=max(facility or 0.0, 0.0),
        co2e_g=max(co2e or 0.0, 0.0), co2e_market_g=max(market or 0.0, 0.0),
        cost=max(cost or 0.0, 0.0) if n_priced and same else None,
        currency=(cur_lo if same else "mixed") if n_priced else None,
        water_l=max(water or 0.0, 0.0),
        measured_share=max(min(measured / energy, 1.0), 0.0) if energy else 0.0)


def _dim_of(f: Filters, group_by: str) -> str | None:
    """The rollup dimension that answers this summary, or None (read the runs)."""
    if f.tag is not None or f.q:
        return None
    for when in (f.since, f.until):
        if when is not None and when.time() != time(0):
            return None  # not a whole UTC day
    filtered = [d for d in ("user", "host", "accelerator") if getattr(f, d) is not None]
    if group_by in ("user", "host", "accelerator"):
        return group_by if set(filtered) <= {group_by} else None
    if len(filtered) > 1:
        return None
    return filtered[0] if filtered else ""


def _from_rollups(session: Session, who: Principal, f: Filters, group_by: str,
                  dim: str) -> list[dict[str, Any]]:
    R = RunRollup
    if group_by == "project":
        key: Any = Project.name
    elif group_by in ("day", "week"):
        key = getattr(R, group_by)
    else:
        key = case((R.value == "", None), else_=func.substr(R.value, 2))
    key = key.label("key")
    where: list[Any] = [R.dim == dim]
    if not who.admin:
        if f.project is not None and f.project != who.project:
            run_filters(who, f)  # raises the 403
        where.append(R.project_id == who.project_id)
    elif f.project is not None:
        where.append(Project.name == f.project)
    if dim and getattr(f, dim) is not None:
        where.append(R.value == "=" + getattr(f, dim))
    if f.status is not None:
        where.append(R.status == f.status)
    if f.since is not None:
        where.append(R.day >= f.since.date().isoformat())
    if f.until is not None:
        where.append(R.day < f.until.date().isoformat())
    query = (select(key, R.currency, func.sum(R.runs), func.sum(R.energy_j),
                    func.sum(R.facility_energy_j), func.sum(R.co2e_g),
                    func.sum(R.co2e_market_g), func.sum(R.cost), func.sum(R.water_l),
                    func.sum(R.measured_energy_j), func.sum(R.priced))
             .join(Project, R.project_id == Project.id).where(*where)
             .group_by(key, R.currency).having(func.sum(R.runs) > 0)
             .order_by(key, R.currency))
    merged: dict[Any, list[Any]] = {}
    for k, cur, n, *figs, n_priced in session.execute(query):
        m = merged.setdefault(k, [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, set()])
        m[0] += n
        for i, v in enumerate(figs):
            m[1 + i] += v or 0.0
        m[8] += n_priced
        if cur:
            m[9].add(cur[1:])
    groups = []
    for k, (n, energy, facility, co2e, market, cost, water, measured, n_priced,
            currencies) in merged.items():
        lo, hi = (min(currencies), max(currencies)) if currencies else (None, None)
        groups.append(_group(k, n, energy, facility, co2e, market, cost, lo, hi, water,
                             measured, n_priced))
    return groups


def summarise(session: Session, who: Principal, f: Filters, group_by: str,
              use_rollups: bool = True) -> list[dict[str, Any]]:
    """The summary's groups: from the rollups when the filters allow (no tag or name
    filter, whole UTC days, at most one of user/host/accelerator), else from the runs."""
    dim = _dim_of(f, group_by) if use_rollups else None
    if dim is not None:
        return _from_rollups(session, who, f, group_by, dim)
    key = _key(group_by, session.get_bind().dialect.name).label("key")
    query = (select(key, func.count(Run.pk), func.sum(Run.energy_j),
                    func.sum(Run.facility_energy_j), func.sum(Run.co2e_g),
                    func.sum(Run.co2e_market_g), func.sum(Run.cost),
                    func.min(Run.currency), func.max(Run.currency),
                    func.sum(func.coalesce(Run.water_l, 0.0)),
                    func.sum(Run.measured_energy_j), func.count(Run.cost))
             .join(Project, Run.project_id == Project.id)
             .where(*run_filters(who, f)).group_by(key).order_by(key))
    groups = []
    for (k, n, energy, facility, co2e, market, cost, cur_lo, cur_hi, water, measured,
         n_priced) in session.execute(query):
        groups.append(_group(k, n, energy, facility, co2e, market, cost, cur_lo, cur_hi,
                             water, measured, n_priced))
    return groups


GroupBy = Annotated[str, Query(pattern="^(" + "|".join(GROUPS) + ")$",
                               description="project, user, host, accelerator, day or week")]


@router.get("/summary", response_model=SummaryOut, responses=ERRORS | FORBIDDEN)
def get_summary(session: SessionDep, who: Who, f: Annotated[Filters, Depends()],
                group_by: GroupBy = "project") -> dict[str, Any]:
    """Totals per group of the runs matching the filters."""
    return {"group_by": group_by, "groups": summarise(session, who, f, group_by)}


SUMMARY_COLUMNS = ("key", "runs", "energy_j", "facility_energy_j", "co2e_g",
                   "co2e_market_g", "cost", "currency", "water_l", "measured_share")


@router.get("/summary.csv", responses=json_errors(ERRORS | FORBIDDEN) | {
    200: {"content": {"text/csv": {}}}})
def get_summary_csv(session: SessionDep, who: Who, f: Annotated[Filters, Depends()],
                    group_by: GroupBy = "project") -> Response:
    """The summary as CSV."""
    return csv_response(summarise(session, who, f, group_by), SUMMARY_COLUMNS,
                        f"summary-{group_by}.csv")
