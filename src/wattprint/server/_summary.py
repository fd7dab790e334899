"""``/api/v1/summary``: runs grouped by project, user, host, accelerator, day or week,
with energy, facility energy, CO2e (location, market), cost, water and the measured
share — SQL sums over the accounted columns stored at ingest, so a summary over a
million runs is one aggregate query. Days and weeks are UTC; a week is keyed by its
Monday (ISO weeks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ._api import ERRORS, Filters, SessionDep, Who, csv_response, run_filters
from ._auth import Principal
from ._db import Project, Run
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


def summarise(session: Session, who: Principal, f: Filters, group_by: str
              ) -> list[dict[str, Any]]:
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
        same = cur_lo == cur_hi
        groups.append(dict(
            key=k, runs=n, energy_j=energy or 0.0, facility_energy_j=facility or 0.0,
            co2e_g=co2e or 0.0, co2e_market_g=market or 0.0,
            cost=cost if n_priced and same else None,
            currency=(cur_lo if same else "mixed") if n_priced else None,
            water_l=water or 0.0,
            measured_share=min(measured / energy, 1.0) if energy else 0.0))
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
