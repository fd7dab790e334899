"""Copying runs from one ledger into another: how the ledgers of the hosts of a
distributed job are brought together (``wattprint merge OTHER.db``). Both ledgers are at
the current schema (opening one migrates it); a run whose id is already present is left
as it is, so merging twice changes nothing."""

from __future__ import annotations

import sqlite3

__all__ = ["copy_runs"]

#: Tables keyed by the run's row id, copied with each run.
_CHILD_TABLES = ("devices", "phases", "counters", "run_tags")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def copy_runs(src: sqlite3.Connection, dst: sqlite3.Connection, *,
              samples: bool = True) -> list[str]:
    """Copy the runs of ``src`` missing from ``dst`` (call inside a write transaction on
    ``dst``); return their ids. Runs still ``running`` in ``src`` are copied as they are
    and recovered by their own host."""
    have = {run_id for (run_id,) in dst.execute("SELECT id FROM runs")}
    run_cols = [c for c in _columns(src, "runs") if c != "rid"]
    copied: list[str] = []
    for row in src.execute(f"SELECT rid, {', '.join(run_cols)} FROM runs ORDER BY rid"
                           ).fetchall():
        old_rid, values = row[0], row[1:]
        run_id = values[run_cols.index("id")]
        if run_id in have:
            continue
        new_rid = dst.execute(
            f"INSERT INTO runs ({', '.join(run_cols)}) VALUES "
            f"({', '.join('?' * len(run_cols))})", values).lastrowid
        for table in _CHILD_TABLES + (("samples",) if samples else ()):
            cols = [c for c in _columns(src, table) if c != "rid"]
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE rid = ?",
                               (old_rid,)).fetchall()
            if rows:
                dst.executemany(
                    f"INSERT INTO {table} (rid, {', '.join(cols)}) VALUES "
                    f"(?, {', '.join('?' * len(cols))})", [(new_rid, *r) for r in rows])
        copied.append(run_id)
    return copied
