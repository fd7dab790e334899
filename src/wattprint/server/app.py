"""``create_app()``: the team server's FastAPI application.

Stateless: everything lives in the database, so any number of app processes can serve
one database behind a load balancer. Creating the app opens the engine and brings the
schema up to date (Alembic migrations, run once per start; concurrent starts take turns);
nothing is created at import time.

    from wattprint.server import create_app
    app = create_app("postgresql+psycopg://wattprint@db/wattprint")
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import sessionmaker

from .. import __version__
from ._db import default_db_url, make_engine
from ._migrate import upgrade

__all__ = ["create_app", "create_app_from_env", "MAX_BODY_BYTES", "RETRY_AFTER_S"]

#: Largest accepted request body (one pushed chunk), in bytes.
MAX_BODY_BYTES = 8 * 1024 * 1024

#: Seconds a client is told to wait (Retry-After) when the server answers 503 busy.
RETRY_AFTER_S = 2


def create_app(db_url: str | None = None, *, migrate: bool = True,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The app over the database at ``db_url`` (default: ``WATTPRINT_SERVER_DB``, else
    the SQLite file in the user data folder). ``migrate=False`` skips the migrations
    (when they are run apart, with ``wattprint server migrate``)."""
    from ._api import router
    from ._dashboard import router as dashboard
    from ._summary import router as summary

    url = db_url or default_db_url()
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    app = FastAPI(title="wattprint team server", version=__version__,
                  description="Every run of every machine: energy, CO2e, cost and water "
                              "by project, user, host and week.")
    app.state.engine = engine
    app.state.sessions = sessionmaker(engine, expire_on_commit=False)
    #: sessions that write: on SQLite they take the write lock when they begin
    app.state.write_sessions = sessionmaker(
        engine.execution_options(sqlite_immediate=True), expire_on_commit=False)
    app.state.max_body_bytes = int(max_body_bytes)
    app.state.db_url = url

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness and database reachability (no token needed)."""
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.exception_handler(SATimeoutError)
    def _busy(_request: Request, _err: SATimeoutError) -> JSONResponse:
        # every pooled connection stayed busy past the pool's timeout: the server is
        # overloaded, not broken; `wattprint push` waits Retry-After and sends again
        return JSONResponse({"detail": "the server is busy (no database connection "
                                       "free): retry later"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_S)})

    app.include_router(router)
    app.include_router(summary)
    app.include_router(dashboard)
    return app


def create_app_from_env() -> FastAPI:
    """The app over ``WATTPRINT_SERVER_DB`` without migrating: the factory each worker
    process of ``wattprint server --workers N`` calls (the command migrated first)."""
    return create_app(None, migrate=False)
