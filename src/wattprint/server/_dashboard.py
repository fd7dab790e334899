"""The web dashboard's routes (placeholder: one page at ``/`` linking to the API; the
dashboard proper replaces this module)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>wattprint</title>"
            "</head><body><h1>wattprint team server</h1><p>API: <a href='/docs'>/docs</a>, "
            "<a href='/openapi.json'>/openapi.json</a>.</p></body></html>")
