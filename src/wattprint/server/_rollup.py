"""Run rollups: counts and sums of the runs per project, UTC day, status and currency,
kept at ingest so that ``/summary`` over a million runs reads a few thousand rows.

Each run counts in four rows of ``run_rollups``: dimension ``""`` (project, day and week
summaries) and one row each for its ``user``, ``host`` and ``accelerator`` (the value is
stored as ``"=" + value``, ``""`` standing for none). A run's rows change in the same
transaction as the run: :func:`rows_of` before and after, :func:`apply` writes the
difference (a replaced run takes its old figures away) with ``INSERT ... ON CONFLICT
DO UPDATE``, in key order so that concurrent pushes never deadlock. :func:`rebuild`
recomputes every row from ``runs`` (the migration's backfill; after bulk loads).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, column, literal_column, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

__all__ = ["DIMS", "SUMS", "rows_of", "apply", "rebuild", "day_week"]

#: The dimensions a run is counted under besides its project and day ("" = none).
DIMS = ("", "user", "host", "accelerator")
#: Summed columns, in the order of a row's figures (``runs`` and ``priced`` count).
SUMS = ("runs", "energy_j", "facility_energy_j", "co2e_g", "co2e_market_g", "cost",
        "priced", "water_l", "measured_energy_j")
KEY = ("dim", "project_id", "day", "value", "status", "currency")

Key = tuple[Any, ...]


def _enc(value: str | None) -> str:
    return "" if value is None else "=" + value


def day_week(started_at: datetime) -> tuple[str, str]:
    """The UTC day and its ISO week's Monday, as YYYY-MM-DD."""
    day = started_at.date()
    return day.isoformat(), (day - timedelta(days=day.weekday())).isoformat()


def rows_of(run: Any) -> dict[Key, tuple[str, list[float]]]:
    """A run's rollup rows: key -> (week, figures in :data:`SUMS` order)."""
    day, week = day_week(run.started_at)
    figures = [1, run.energy_j, run.facility_energy_j, run.co2e_g, run.co2e_market_g,
               run.cost or 0.0, 0 if run.cost is None else 1, run.water_l or 0.0,
               run.measured_energy_j]
    out = {}
    for dim in DIMS:
        value = _enc(getattr(run, dim)) if dim else ""
        out[(dim, run.project_id, day, value, run.status, _enc(run.currency))] = (
            week, figures)
    return out


def apply(session: Session, before: dict[Key, tuple[str, list[float]]],
          after: dict[Key, tuple[str, list[float]]]) -> None:
    """Add ``after`` and take ``before`` away, one upsert per changed row, in key order."""
    delta: dict[Key, tuple[str, list[float]]] = {}
    for key, (week, figs) in after.items():
        delta[key] = (week, list(figs))
    for key, (week, figs) in before.items():
        if key in delta:
            delta[key] = (week, [a - b for a, b in zip(delta[key][1], figs)])
        else:
            delta[key] = (week, [-b for b in figs])
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    from ._db import RunRollup

    for key in sorted(delta):
        week, figs = delta[key]
        if not any(figs):
            continue
        values = dict(zip(KEY, key), week=week, **dict(zip(SUMS, figs)))
        stmt = insert(RunRollup).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(KEY),
            set_={s: getattr(RunRollup, s) + getattr(stmt.excluded, s) for s in SUMS})
        session.execute(stmt)


def rebuild(conn: Connection) -> None:
    """Recompute ``run_rollups`` from ``runs`` (every row replaced), in SQL."""
    runs = table("runs", *(column(c) for c in (
        "project_id", "started_at", "status", "currency", "user", "host", "accelerator",
        "energy_j", "facility_energy_j", "co2e_g", "co2e_market_g", "cost", "water_l",
        "measured_energy_j")))
    c = runs.c
    if conn.dialect.name == "postgresql":
        from sqlalchemy import func
        ymd = literal_column("'YYYY-MM-DD'", String)
        day = func.to_char(c.started_at, ymd)
        week = func.to_char(func.date_trunc(literal_column("'week'", String), c.started_at),
                            ymd)
    else:
        from sqlalchemy import func
        day = func.strftime(literal_column("'%Y-%m-%d'", String), c.started_at)
        week = func.date(c.started_at, "weekday 0", "-6 days")

    def enc(col: Any) -> Any:
        from sqlalchemy import case
        # constants as SQL text, not parameters: PostgreSQL matches the GROUP BY
        # expressions with the selected ones only when they are written the same
        return case((col.is_(None), literal_column("''", String)),
                    else_=literal_column("'='", String) + col)

    conn.execute(text("DELETE FROM run_rollups"))
    for dim in DIMS:
        value = enc(getattr(c, dim)) if dim else literal_column("''")
        cols = [literal_column(f"'{dim}'").label("dim"), c.project_id, day.label("day"),
                value.label("value"), c.status, enc(c.currency).label("currency")]
        sums = [func.count(), func.sum(c.energy_j), func.sum(c.facility_energy_j),
                func.sum(c.co2e_g), func.sum(c.co2e_market_g),
                func.coalesce(func.sum(c.cost), 0.0), func.count(c.cost),
                func.sum(func.coalesce(c.water_l, 0.0)), func.sum(c.measured_energy_j)]
        group = [c.project_id, day, c.status, enc(c.currency)] + ([value] if dim else [])
        query = select(*cols, func.min(week), *sums).group_by(*group)
        target = table("run_rollups", *(column(n) for n in (*KEY, "week", *SUMS)))
        conn.execute(target.insert().from_select([*KEY, "week", *SUMS], query))
