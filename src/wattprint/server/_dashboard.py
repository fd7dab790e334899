"""The web dashboard served at ``/``: one HTML page and its ES modules, CSS and icon from
``server/static/`` (package data), with a Content-Security-Policy that lets the page talk
only to this server (``default-src 'self'``, no inline script, no frame ancestors).

The page itself holds no data: its scripts call the REST API (``/api/v1``) with the token
pasted at sign-in (kept in the browser tab's sessionStorage), so the routes here need no
authentication. Every user-supplied string is written into the page as text, never as
markup (see ``static/dom.js``). docs/dashboard.md describes the pages.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

__all__ = ["CSP", "router", "static_files"]

#: The dashboard's policy: scripts, styles, images, fetches and frames from this server
#: only. ``style-src 'unsafe-inline'`` is for the run report, shown in a sandboxed srcdoc
#: frame that inherits this policy and carries its style inline (it has no script at all).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache"}


@lru_cache(maxsize=1)
def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file of ``static/`` by name, with its content type (read once, on the first
    request: nothing is read at import time)."""
    files = {}
    for entry in resources.files("wattprint.server").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            files[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    return files


def _response(name: str) -> Response:
    body, media_type = static_files()[name]
    return Response(body, media_type=media_type, headers=_HEADERS)


#: The dashboard's routes, included by :func:`wattprint.server.app.create_app`.
router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> Response:
    """The dashboard page (its scripts route between overview, runs, run and compare)."""
    return _response("index.html")


@router.get("/static/{name}")
def static(name: str) -> Response:
    """One file of the dashboard, from a fixed list read from the package: no path from
    the request reaches the filesystem."""
    if name not in static_files():
        raise HTTPException(404, f"no dashboard file {name!r}")
    return _response(name)
