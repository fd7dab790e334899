"""How a program tells ``wattprint tune-power`` that a step ended: one line written to the
file descriptor named by ``WATTPRINT_STEP_FD`` per step. From Python, ``wattprint.optimize
.step()`` (a no-op outside ``tune-power``); from a shell, ``echo >&$WATTPRINT_STEP_FD``;
from any language, write ``"\\n"`` to that descriptor. The parent times the steps as the
lines arrive."""

from __future__ import annotations

import os

__all__ = ["step", "STEP_FD_ENV"]

STEP_FD_ENV = "WATTPRINT_STEP_FD"
_fd: int | None = None
_checked = False


def step() -> None:
    """One step ended (no-op when not run under ``wattprint tune-power``)."""
    global _fd, _checked
    if not _checked:
        _checked = True
        text = os.environ.get(STEP_FD_ENV, "")
        _fd = int(text) if text.isdigit() else None
    if _fd is None:
        return
    try:
        os.write(_fd, b"\n")
    except OSError:  # the parent is gone or closed its end: keep training
        _fd = None
