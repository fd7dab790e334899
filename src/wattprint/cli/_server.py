"""``wattprint server``: the team server and its tokens (see :mod:`wattprint.server.cli`;
the server libraries are imported only when the command runs)."""

from __future__ import annotations

from ..server.cli import add_arguments, handle

__all__ = ["add_arguments", "handle"]
