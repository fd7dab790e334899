"""The ledger as the outbox of a team server: which final runs a server has acknowledged,
with the digest of the payload it acknowledged (table ``pushes``, schema version 6).

A run is *waiting* for a server until a push of it to that server is acknowledged, and
again after any edit of the run (its row or its tags: triggers count the edits). A push
reads the edit count when it begins (:func:`begin_push`) and records that count with the
acknowledgement (:func:`acknowledge`), so an edit made while a push is in flight makes
the run wait again instead of being lost. Only final runs (not ``running``) wait.

Servers are keyed by their normalised URL (:func:`wattprint.push.normalise_server`);
tokens are never stored here.
"""

from __future__ import annotations

import sqlite3

__all__ = ["WAITING_SQL", "waiting_rids", "count_waiting", "begin_push", "acknowledge",
           "acknowledged_digest", "push_state"]

#: The condition, on ``runs``, that a run waits for the server bound to ``:server``.
WAITING_SQL = ("runs.status != 'running' AND NOT EXISTS (SELECT 1 FROM pushes p "
               "WHERE p.rid = runs.rid AND p.server = :server "
               "AND p.acked_edits IS NOT NULL AND p.acked_edits = p.edits)")


def waiting_rids(conn: sqlite3.Connection, server: str, *,
                 everything: bool = False) -> list[tuple[int, str]]:
    """``(rid, id)`` of the runs waiting for ``server``, oldest first; ``everything``:
    every final run, acknowledged or not."""
    where = "runs.status != 'running'" if everything else WAITING_SQL
    return [(int(rid), str(run_id)) for rid, run_id in conn.execute(
        f"SELECT rid, id FROM runs WHERE {where} ORDER BY started_at, id",
        {"server": server})]


def count_waiting(conn: sqlite3.Connection, server: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM runs WHERE {WAITING_SQL}",
                            {"server": server}).fetchone()[0])


def begin_push(conn: sqlite3.Connection, server: str, rid: int) -> int:
    """Inside a write transaction: make sure the run has a row for ``server`` (so the
    triggers count its edits from now on) and return its edit count."""
    conn.execute("INSERT OR IGNORE INTO pushes (rid, server) VALUES (?, ?)", (rid, server))
    return int(conn.execute("SELECT edits FROM pushes WHERE rid = ? AND server = ?",
                            (rid, server)).fetchone()[0])


def acknowledge(conn: sqlite3.Connection, server: str, rid: int, edits: int, digest: str,
                pushed_at: str) -> None:
    """Inside a write transaction: the server acknowledged the run's payload ``digest``,
    built after the edit count was ``edits`` (from :func:`begin_push`)."""
    conn.execute("INSERT OR IGNORE INTO pushes (rid, server) VALUES (?, ?)", (rid, server))
    conn.execute("UPDATE pushes SET acked_edits = ?, digest = ?, pushed_at = ? "
                 "WHERE rid = ? AND server = ?", (int(edits), digest, pushed_at, rid, server))


def acknowledged_digest(conn: sqlite3.Connection, server: str, rid: int) -> str | None:
    """The digest of the last payload of the run that ``server`` acknowledged."""
    row = conn.execute("SELECT digest FROM pushes WHERE rid = ? AND server = ? AND "
                       "acked_edits IS NOT NULL", (rid, server)).fetchone()
    return row[0] if row else None



def push_state(conn: sqlite3.Connection, server: str, rid: int) -> tuple[str | None, bool]:
    """``(pushed_at, current)``: when ``server`` last acknowledged the run (None: never)
    and whether it holds the run's current state (no edit since)."""
    row = conn.execute("SELECT pushed_at, acked_edits = edits FROM pushes WHERE rid = ? "
                       "AND server = ? AND acked_edits IS NOT NULL", (rid, server)).fetchone()
    return (row[0], bool(row[1])) if row else (None, False)
