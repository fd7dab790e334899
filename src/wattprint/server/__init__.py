"""The wattprint team server (extra ``[server]``: FastAPI, SQLAlchemy 2, Alembic,
psycopg 3, uvicorn): every pushed run of every machine in one database — PostgreSQL for
teams, a SQLite file as the embedded default — with per-project tokens, a REST API under
``/api/v1`` and the dashboard at ``/``. ``wattprint server`` runs it; docs/server.md.

    from wattprint.server import create_app
    app = create_app("sqlite:////tmp/wattprint-server.db")
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "require_server"]

#: The modules the server needs, and the extra that installs them.
_NEEDS = ("fastapi", "sqlalchemy", "alembic", "uvicorn")


def require_server(feature: str = "the team server") -> None:
    """Fail with :class:`~wattprint.integrations._require.MissingExtraError` naming
    ``pip install 'wattprint[server]'`` when a server library is missing."""
    from ..integrations._require import require

    for module in _NEEDS:
        require(module, "server", feature=feature)


def create_app(db_url: str | None = None, **kwargs: Any) -> Any:
    """:func:`wattprint.server.app.create_app` (imported on first use)."""
    require_server()
    from .app import create_app as _create_app

    return _create_app(db_url, **kwargs)
