"""The server's database: SQLAlchemy 2 models (one schema for SQLite and PostgreSQL),
the engine for a URL, and where the embedded SQLite file lives by default.

Tables: ``projects``; ``tokens`` (sha256 of each secret, never the secret); ``runs``
(one row per pushed run and project, with the accounted figures as columns so that
listings and summaries are SQL over one table); ``run_tags``; ``run_chunks`` (each
pushed chunk's downsampled power trace as JSON, keyed by project, run id and chunk
index, so chunks may arrive in any order and be re-sent). The schema itself is created
by the Alembic migrations in ``migrations/`` (:func:`wattprint.server._migrate.upgrade`),
never by ``create_all``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index,
                        Integer, String, UniqueConstraint, create_engine, event)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wattprint.ledger._sqlite import retry_busy, use_wal

__all__ = ["POOL_SIZE", "POOL_OVERFLOW", "Base", "Project", "Token", "Run", "RunTag", "RunChunk", "RunRollup",
           "make_engine",
           "default_db_url", "DB_ENV"]

#: The variable naming the server's database URL (``--db`` wins over it).
DB_ENV = "WATTPRINT_SERVER_DB"

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
_PK = BigInteger().with_variant(Integer(), "sqlite")


#: Pooled connections per app process, and how many more it may open at a peak.
POOL_SIZE = 10
POOL_OVERFLOW = 30


def default_db_url(env: Mapping[str, str] | None = None) -> str:
    """``WATTPRINT_SERVER_DB``, else a SQLite file beside the default ledger:
    ``$XDG_DATA_HOME/wattprint/server.db`` (``~/.local/share/wattprint/server.db``)."""
    from .._ledger_rules import default_ledger_path

    env = os.environ if env is None else env
    if env.get(DB_ENV):
        return env[DB_ENV]
    folder = os.path.dirname(default_ledger_path(env))
    return "sqlite:///" + os.path.join(folder, "server.db")


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime())


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    #: what `token list` shows and `token revoke` takes: the first characters of the token
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    #: admin (every project, read and write), write (its project), read (its project)
    role: Mapped[str] = mapped_column(String(16))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime())


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("project_id", "run_id", name="runs_project_run"),
        Index("runs_project_started", "project_id", "started_at"),
        Index("runs_project_host", "project_id", "host", "started_at"),
        Index("runs_project_user", "project_id", "user", "started_at"),
        Index("runs_project_energy", "project_id", "energy_j"),
        Index("runs_project_co2e", "project_id", "co2e_g"),
        Index("runs_started", "started_at"),
        Index("runs_run_id", "run_id"),
    )

    pk: Mapped[int] = mapped_column(_PK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    run_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(256))
    #: the project the run had in its local ledger, when it differs from the token's
    local_project: Mapped[str | None] = mapped_column(String(256))
    user: Mapped[str | None] = mapped_column(String(256))
    host: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime())  # UTC
    ended_at: Mapped[datetime | None] = mapped_column(DateTime())
    duration_s: Mapped[float] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(256))
    energy_j: Mapped[float] = mapped_column(Float)
    energy_low_j: Mapped[float] = mapped_column(Float)
    energy_high_j: Mapped[float] = mapped_column(Float)
    measured_energy_j: Mapped[float] = mapped_column(Float)
    basis: Mapped[str] = mapped_column(String(16))
    facility_energy_j: Mapped[float] = mapped_column(Float)
    co2e_g: Mapped[float] = mapped_column(Float)
    co2e_market_g: Mapped[float] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    water_l: Mapped[float | None] = mapped_column(Float)
    accelerator: Mapped[str] = mapped_column(String(512))
    job_id: Mapped[str | None] = mapped_column(String(256))
    #: the run as pushed (settings, command, devices, phases, counters...) and the
    #: accounting's zone, sources and notes
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(128))
    chunk_count: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(DateTime())


class RunTag(Base):
    __tablename__ = "run_tags"
    __table_args__ = (Index("run_tags_tag", "tag", "run_pk"),)

    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"),
                                        primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class RunChunk(Base):
    __tablename__ = "run_chunks"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(128))
    points: Mapped[int] = mapped_column(Integer)
    #: [{"device": i, "t": [...], "power_w": [...], "energy_j": [...]}, ...]
    power: Mapped[list[Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime())


class RunRollup(Base):
    """Counts and sums of runs per project, UTC day, dimension value, status and
    currency, kept at ingest (:mod:`wattprint.server._rollup`)."""
    __tablename__ = "run_rollups"

    #: "" (the project's own totals), "user", "host" or "accelerator"; first in the key,
    #: so that one dimension's rows (every project's, for an admin) are one index range
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    #: "=" + the user, host or accelerator; "" for none (and for dim "")
    value: Mapped[str] = mapped_column(String(520), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: "=" + the currency; "" for none
    currency: Mapped[str] = mapped_column(String(16), primary_key=True)
    week: Mapped[str] = mapped_column(String(10))  # the day's Monday
    runs: Mapped[int] = mapped_column(Integer)
    energy_j: Mapped[float] = mapped_column(Float)
    facility_energy_j: Mapped[float] = mapped_column(Float)
    co2e_g: Mapped[float] = mapped_column(Float)
    co2e_market_g: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)  # the priced runs' cost
    priced: Mapped[int] = mapped_column(Integer)  # runs with a cost
    water_l: Mapped[float] = mapped_column(Float)
    measured_energy_j: Mapped[float] = mapped_column(Float)


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite: the folder is created, WAL, foreign keys on, a
    busy timeout (several app processes may share the file) and ``BEGIN IMMEDIATE`` for
    connections with the execution option ``sqlite_immediate`` (writers); PostgreSQL:
    pooled connections (:data:`POOL_SIZE` plus :data:`POOL_OVERFLOW`) checked before use,
    with PostgreSQL's JIT off (it compiled the summary queries for longer than they ran)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.isolation_level = None  # transactions begin below, not in the driver
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys = ON")
            if path and path != ":memory:":
                # Switching a new file to WAL is answered "locked" at once, not after the
                # busy timeout, while another process migrates it: retried (ledger's rule).
                retry_busy(lambda: use_wal(conn), timeout_s=30)
                cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A writer takes the write lock when it begins (waiting up to the timeout):
            # a deferred transaction that reads, then writes, fails at once with "database
            # is locked" when another writer committed in between.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        return engine
    # as many connections as the threads that serve requests (anyio's default: 40)
    connect_args = {"options": "-c jit=off"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                         max_overflow=POOL_OVERFLOW, connect_args=connect_args)
