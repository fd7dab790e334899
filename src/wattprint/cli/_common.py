"""Helpers shared by the ledger commands: opening the ledger from flags and settings,
parsing dates, and formatting energies, durations, times and plain aligned tables."""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from .._format import format_duration, format_energy, format_number, format_power
from .._printable import printable
from ..errors import LedgerError, UsageError

__all__ = ["outbox_note", "add_ledger_argument", "add_filter_arguments", "filters_from", "open_ledger",
           "fmt_energy", "fmt_duration", "fmt_time", "fmt_power", "fmt_number", "table",
           "cells_of", "align", "parse_when", "check_flags"]


def add_ledger_argument(p: argparse.ArgumentParser) -> None:
    """``--ledger PATH`` after the command too (``wattprint runs --ledger x.db``)."""
    p.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS,
                   help="the ledger file (default: WATTPRINT_LEDGER, the config files, "
                        "then ~/.local/share/wattprint/ledger.db)")


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", help="only runs of this project")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only runs with this tag (repeat: runs with all of them)")
    p.add_argument("--status", action="append", default=[],
                   choices=("running", "finished", "failed", "interrupted", "stopped"),
                   help="only runs with this status (repeatable)")
    p.add_argument("--since", metavar="WHEN",
                   help="runs started at or after WHEN: a date (2025-03-01), a date and "
                        "time, 'today', 'yesterday', or an age such as 12h, 7d, 2w")
    p.add_argument("--until", metavar="WHEN", help="runs started before WHEN (same forms)")
    p.add_argument("--name", dest="name_contains", metavar="TEXT",
                   help="only runs whose name contains TEXT")


def filters_from(args: argparse.Namespace) -> dict[str, Any]:
    return dict(project=args.project, tags=list(args.tag), status=list(args.status) or None,
                since=parse_when(args.since, "--since") if args.since else None,
                until=parse_when(args.until, "--until") if args.until else None,
                name=args.name_contains)


def ledger_path(args: argparse.Namespace) -> str:
    from ..config import load_config

    return load_config({"ledger": getattr(args, "ledger", None)}).ledger


def open_ledger(args: argparse.Namespace, *, write: bool) -> Any:
    """The ledger the flags and settings name. Reading commands record pending runs and
    recover dead runs when they can write, read an unwritable ledger read-only (saying
    how many runs wait in pending files), and read a missing one as empty."""
    from ..ledger import Ledger
    from ..ledger._pending import pending_files

    path = ledger_path(args)
    if write:
        return Ledger(path)
    waiting = pending_files(path)
    if not os.path.exists(path) and not waiting:
        return Ledger(path, readonly=True)
    try:
        return Ledger(path)  # opening it for writing records the pending runs
    except LedgerError as err:
        if err.reason != "unwritable" or not os.path.exists(path):
            raise
        ledger = Ledger(path, readonly=True)
    if waiting:
        print(f"wattprint: note: {len(waiting)} run(s) wait in pending files until the "
              "ledger can be written; see `wattprint pending`", file=sys.stderr)
    return ledger


def outbox_note(ledger: Any) -> str | None:
    """``N run(s) wait to be pushed to URL``, when a team server is configured and some
    final runs of ``ledger`` are not acknowledged by it (see ``wattprint push``)."""
    from ..config import load_config

    server = load_config().server
    if not server:
        return None
    n = ledger.count_waiting(server)
    if not n:
        return None
    return f"{n} run(s) wait to be pushed to {server}: `wattprint push` sends them"


_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def wrapped_command(cmd: Sequence[str], verb: str) -> list[str]:
    """The command after ``--`` of ``wattprint VERB -- CMD``, checked: present, and found on
    PATH unless given as a path. Raises :class:`UsageError` naming the fix."""
    import shutil

    cmd = list(cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; put the command after '--', for example: "
                         f"wattprint {verb} -- python train.py")
    if os.sep not in cmd[0] and shutil.which(cmd[0]) is None:
        raise UsageError(f"command not found: {cmd[0]!r}; check the spelling or give its "
                         "full path")
    return cmd


def parse_when(text: str, flag: str = "--since") -> str:
    """A user's date, date-time, 'today', 'yesterday' or age (``7d``) as the ledger's UTC
    ISO 8601 form. Dates without a zone are local time."""
    t = text.strip().lower()
    now = datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "today":
        when = midnight
    elif t == "yesterday":
        when = midnight - timedelta(days=1)
    elif _AGE.match(t):
        value, unit = _AGE.match(t).groups()  # type: ignore[union-attr]
        when = now - timedelta(seconds=float(value) * _AGE_UNITS[unit])
    else:
        try:
            when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
        except ValueError:
            raise UsageError(f"{flag} {text!r} is not a date; use 2025-03-01, "
                             "'2025-03-01 14:30', today, yesterday, or an age such as 12h, "
                             "7d, 2w") from None
        if when.tzinfo is None:
            when = when.astimezone()
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def fmt_energy(energy_j: float | None) -> str:
    """Energy for a table cell, ``"-"`` when missing (see :mod:`wattprint._format`)."""
    return format_energy(energy_j, missing="-")


def fmt_power(power_w: float | None) -> str:
    return format_power(power_w, missing="-")


def fmt_duration(seconds: float | None) -> str:
    return format_duration(seconds, missing="-")


def fmt_number(value: float | None, digits: int = 4) -> str:
    """A plain figure (energy per token, a counter): never scientific notation."""
    return format_number(value, digits=digits, missing="-")


def fmt_time(iso: str | None, *, seconds: bool = False) -> str:
    """A stored UTC time shown in local time."""
    if not iso:
        return "-"
    from ..ledger._records import parse_time

    local = parse_time(iso).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
          right: Iterable[int] = (), indent: str = "") -> list[str]:
    """Plain aligned text; columns in ``right`` are right-aligned. Cells pass through
    :func:`wattprint._printable.printable`: control characters never reach the terminal."""
    cells = [cells_of(headers)] + [cells_of(r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = set(right)
    return [align(r, widths, right, indent) for r in cells]


def cells_of(row: Sequence[Any]) -> list[str]:
    """A table row's cells as text safe for a terminal (``None`` as empty; control
    characters as visible escapes, :func:`wattprint._printable.printable`)."""
    return [printable(c) for c in row]


def align(cells: Sequence[str], widths: Sequence[int], right: Iterable[int] = (),
          indent: str = "") -> str:
    """One line of :func:`table`, for tables printed a row at a time (widths known)."""
    parts = [c.rjust(w) if i in right else c.ljust(w)
             for i, (c, w) in enumerate(zip(cells, widths))]
    return (indent + "  ".join(parts)).rstrip()


def check_flags(args: argparse.Namespace, **rules: str) -> None:
    """Check the flags in ``rules`` (dest → :data:`wattprint.inputs.RULES` key) against
    their rules, naming each by its spelling (``--pue``); flags not given are skipped.
    Stores the checked value back (whole numbers as ``int``)."""
    from .. import inputs

    for dest, rule in rules.items():
        value = getattr(args, dest, None)
        if value is not None:
            setattr(args, dest, inputs.check(rule, "--" + dest.replace("_", "-"), value))
