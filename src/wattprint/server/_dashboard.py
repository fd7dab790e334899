"""The web dashboard served at ``/``: one HTML page and its ES modules, CSS and icon from
``server/static/`` (package data), with a Content-Security-Policy that lets the page talk
only to this server (``default-src 'self'``, no inline script, no frame ancestors).

The page itself holds no data: its scripts call the REST API (``/api/v1``) with the token
pasted at sign-in (kept in the browser tab's sessionStorage), so the routes here need no
authentication. Every user-supplied string is written into the page as text, never as
markup (see ``static/dom.js``). docs/dashboard.md describes the pages.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

from fastapi import APIRouter, HTTPException, Request
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
def static_files() -> dict[str, tuple[bytes, str, str]]:
    """Every file of ``static/`` by name: its bytes, content type and ETag (read once, on
    the first request: nothing is read at import time)."""
    files = {}
    for entry in resources.files("wattprint.server").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            files[entry.name] = (body, _TYPES[suffix], etag)
    return files


def _response(request: Request, name: str) -> Response:
    """The file, or 304 when the browser's copy is current (``no-cache`` makes it ask)."""
    body, media_type, etag = static_files()[name]
    headers = {**_HEADERS, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


#: The dashboard's routes, included by :func:`wattprint.server.app.create_app`.
router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def index(request: Request) -> Response:
    """The dashboard page (its scripts route between overview, runs, run and compare)."""
    return _response(request, "index.html")


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(request: Request, name: str) -> Response:
    """One file of the dashboard, from a fixed list read from the package: no path from
    the request reaches the filesystem."""
    if name not in static_files():
        raise HTTPException(404, f"no dashboard file {name!r}")
    return _response(request, name)
