"""The ledger schema, as numbered forward migrations.

``PRAGMA user_version`` holds the number of the last migration applied; opening a ledger
for writing applies the missing ones in one transaction, so a ledger is never left half
migrated and two processes opening a new ledger at once migrate it once. A migration is
never edited after release: change the schema by appending one. ``PRAGMA
application_id`` marks the file as a wattprint ledger.

Version 1: runs (tags as a JSON column), devices, phases, counters, samples.
Version 2: tags in their own table (indexed, for ``--tag`` filters), per-run CPU seconds
and sample count, indexes for listing by project and for finding running runs.
Version 3: the ``stopped`` status (a run stopped by wattprint, e.g. by a budget) and
``end_reason``, one sentence saying why a run ended the way it did.
Version 4: the CPU seconds of wattprint's own sampling per run.
Version 5: distributed jobs (each run's job id and place in the job).
Version 6: the outbox of the team server (``pushes``): per run and server URL, whether
the server acknowledged the run and with which payload digest; triggers count the edits
of a run (its row, its tags) so an edited run is pushed again (:mod:`._outbox`).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Callable

from ..errors import LedgerError
from ._sqlite import write_txn

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "MIGRATIONS", "migrate", "check_version"]

#: ``PRAGMA application_id`` of a ledger: "WATT" in ASCII.
APPLICATION_ID = 0x57415454


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for ddl in _V1_DDL:
        conn.execute(ddl)


_V1_DDL = (
    """CREATE TABLE runs (
        rid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT,
        project TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        command TEXT,
        host TEXT NOT NULL,
        pid INTEGER,
        pid_started REAL,
        mode TEXT,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        duration_s REAL,
        exit_code INTEGER,
        zone TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        energy_j REAL,
        energy_low_j REAL,
        energy_high_j REAL,
        peak_power_w REAL,
        basis TEXT,
        by_domain TEXT NOT NULL DEFAULT '{}',
        warnings TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX runs_started ON runs (started_at)",
    """CREATE TABLE devices (
        rid INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        domain TEXT NOT NULL,
        kind TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        counted INTEGER NOT NULL DEFAULT 1,
        energy_j REAL,
        device_energy_j REAL,
        mean_power_w REAL,
        peak_power_w REAL,
        samples INTEGER NOT NULL DEFAULT 0,
        bridged_j REAL NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        replaced_by TEXT,
        gaps TEXT NOT NULL DEFAULT '[]',
        provenance TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (rid, idx)
    ) WITHOUT ROWID""",
    """CREATE TABLE phases (
        rid INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        energy_j REAL NOT NULL,
        duration_s REAL NOT NULL,
        entries INTEGER NOT NULL,
        by_domain TEXT NOT NULL DEFAULT '{}',
        counters TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (rid, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE counters (
        rid INTEGER NOT NULL,
        unit TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (rid, unit)
    ) WITHOUT ROWID""",
    """CREATE TABLE samples (
        rid INTEGER NOT NULL,
        device INTEGER NOT NULL,
        t REAL NOT NULL,
        power_w REAL NOT NULL,
        energy_j REAL NOT NULL,
        PRIMARY KEY (rid, device, t)
    ) WITHOUT ROWID""",
)

_V2_RUNS = """CREATE TABLE runs_v2 (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    project TEXT,
    command TEXT,
    host TEXT NOT NULL,
    pid INTEGER,
    pid_started REAL,
    mode TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_s REAL,
    exit_code INTEGER,
    zone TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    energy_j REAL,
    energy_low_j REAL,
    energy_high_j REAL,
    peak_power_w REAL,
    basis TEXT,
    by_domain TEXT NOT NULL DEFAULT '{}',
    warnings TEXT NOT NULL DEFAULT '[]',
    cpu_s REAL,
    samples INTEGER NOT NULL DEFAULT 0
)"""
_V2_COPIED = ("rid, id, name, project, command, host, pid, pid_started, mode, status, "
              "started_at, ended_at, duration_s, exit_code, zone, settings, energy_j, "
              "energy_low_j, energy_high_j, peak_power_w, basis, by_domain, warnings")


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE run_tags (
        rid INTEGER NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (rid, tag)
    ) WITHOUT ROWID""")
    conn.execute("CREATE INDEX run_tags_tag ON run_tags (tag, rid)")
    rows = conn.execute("SELECT rid, tags FROM runs").fetchall()
    for rid, text in rows:
        try:
            tags = json.loads(text or "[]")
        except ValueError:
            tags = []
        conn.executemany("INSERT OR IGNORE INTO run_tags (rid, tag) VALUES (?, ?)",
                         [(rid, str(t)) for t in tags if str(t)])
    conn.execute(_V2_RUNS)
    # A v1 status outside the four known ones cannot be kept: it becomes 'interrupted'.
    conn.execute(f"INSERT INTO runs_v2 ({_V2_COPIED}) SELECT "
                 + _V2_COPIED.replace("status,", "CASE WHEN status IN ('running', 'finished', "
                                      "'failed', 'interrupted') THEN status ELSE "
                                      "'interrupted' END,")
                 + " FROM runs")
    conn.execute("DROP TABLE runs")
    conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
    conn.execute("UPDATE runs SET samples = (SELECT count(*) FROM samples s "
                 "WHERE s.rid = runs.rid)")
    conn.execute("CREATE INDEX runs_started ON runs (started_at)")
    conn.execute("CREATE INDEX runs_project ON runs (project, started_at)")
    conn.execute("CREATE INDEX runs_running ON runs (host) WHERE status = 'running'")


_V3_RUNS = """CREATE TABLE runs_v3 (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    project TEXT,
    command TEXT,
    host TEXT NOT NULL,
    pid INTEGER,
    pid_started REAL,
    mode TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'stopped')),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_s REAL,
    exit_code INTEGER,
    zone TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    energy_j REAL,
    energy_low_j REAL,
    energy_high_j REAL,
    peak_power_w REAL,
    basis TEXT,
    by_domain TEXT NOT NULL DEFAULT '{}',
    warnings TEXT NOT NULL DEFAULT '[]',
    cpu_s REAL,
    samples INTEGER NOT NULL DEFAULT 0,
    end_reason TEXT
)"""
_V3_COPIED = _V2_COPIED + ", cpu_s, samples"


def _v3(conn: sqlite3.Connection) -> None:
    # SQLite cannot change a CHECK constraint in place: rebuild the table, as in v2.
    conn.execute(_V3_RUNS)
    conn.execute(f"INSERT INTO runs_v3 ({_V3_COPIED}) SELECT {_V3_COPIED} FROM runs")
    conn.execute("DROP TABLE runs")
    conn.execute("ALTER TABLE runs_v3 RENAME TO runs")
    conn.execute("CREATE INDEX runs_started ON runs (started_at)")
    conn.execute("CREATE INDEX runs_project ON runs (project, started_at)")
    conn.execute("CREATE INDEX runs_running ON runs (host) WHERE status = 'running'")


def _v4(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN overhead_cpu_s REAL")


def _v5(conn: sqlite3.Connection) -> None:
    # a run that is one part of a distributed job: the job's id, and this part's place in
    # it (JSON of wattprint.distributed.JobIdentity: engine, rank, local rank, host id...)
    conn.execute("ALTER TABLE runs ADD COLUMN job_id TEXT")
    conn.execute("ALTER TABLE runs ADD COLUMN job TEXT")
    conn.execute("CREATE INDEX runs_job ON runs (job_id, rid) WHERE job_id IS NOT NULL")


_V6_DDL = (
    # One row per (run, server) once a push of the run to that server began. `edits`
    # counts the changes to the run since (bumped by the triggers below); `acked_edits`
    # is the value `edits` had when the push that the server acknowledged began (NULL:
    # never acknowledged), so an edit made while a push is in flight is pushed again.
    """CREATE TABLE pushes (
        rid INTEGER NOT NULL,
        server TEXT NOT NULL,
        edits INTEGER NOT NULL DEFAULT 0,
        acked_edits INTEGER,
        digest TEXT,
        pushed_at TEXT,
        PRIMARY KEY (rid, server)
    ) WITHOUT ROWID""",
    """CREATE TRIGGER pushes_run_edited AFTER UPDATE ON runs BEGIN
        UPDATE pushes SET edits = edits + 1 WHERE rid = NEW.rid;
    END""",
    """CREATE TRIGGER pushes_tag_added AFTER INSERT ON run_tags BEGIN
        UPDATE pushes SET edits = edits + 1 WHERE rid = NEW.rid;
    END""",
    """CREATE TRIGGER pushes_tag_removed AFTER DELETE ON run_tags BEGIN
        UPDATE pushes SET edits = edits + 1 WHERE rid = OLD.rid;
    END""",
    """CREATE TRIGGER pushes_run_deleted AFTER DELETE ON runs BEGIN
        DELETE FROM pushes WHERE rid = OLD.rid;
    END""",
)


def _v6(conn: sqlite3.Connection) -> None:
    for ddl in _V6_DDL:
        conn.execute(ddl)


#: (version, what it does, function) — append only.
MIGRATIONS: tuple[tuple[int, str, Callable[[sqlite3.Connection], None]], ...] = (
    (1, "runs, devices, phases, counters and samples", _v1),
    (2, "tags table, per-run CPU seconds and sample count, listing indexes", _v2),
    (3, "'stopped' status and the reason a run ended", _v3),
    (4, "CPU seconds of wattprint's own sampling per run", _v4),
    (5, "distributed jobs: each run's job id and place in the job", _v5),
    (6, "team server outbox: runs acknowledged per server, with their payload digest", _v6),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _state(conn: sqlite3.Connection) -> tuple[int, int, int]:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return int(version), int(app), int(tables)


def check_version(conn: sqlite3.Connection, path: str, *, writable: bool) -> int:
    """Raise :class:`LedgerError` when ``path`` is not a ledger this code can use."""
    version, app, tables = _state(conn)
    if app not in (0, APPLICATION_ID) or (version == 0 and tables and app != APPLICATION_ID):
        raise LedgerError(f"{path} is an SQLite database but not a wattprint ledger",
                          path=path, reason="not_ledger",
                          fix="choose another file with --ledger PATH or WATTPRINT_LEDGER")
    if version > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {path} has schema version {version}, newer than this "
                          f"wattprint understands ({SCHEMA_VERSION})", path=path,
                          reason="schema", fix="upgrade wattprint (pip install -U wattprint)")
    if version < SCHEMA_VERSION and not writable:
        raise LedgerError(f"the ledger {path} has schema version {version} and needs "
                          f"upgrading to {SCHEMA_VERSION}, which needs write access",
                          path=path, reason="unwritable",
                          fix="run any wattprint command once with write access to the file")
    return version


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Apply the missing migrations; return the version the ledger had before."""
    before = check_version(conn, path, writable=True)
    if before == SCHEMA_VERSION:
        return before
    with write_txn(conn):
        before = check_version(conn, path, writable=True)  # another process may have won
        for version, _what, apply in MIGRATIONS:
            if version > before:
                apply(conn)
                conn.execute(f"PRAGMA user_version = {version}")
    return before
