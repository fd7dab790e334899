"""``wattprint rm`` gives the space of removed runs back to the file system."""

from __future__ import annotations

import os
import sqlite3

import wattprint
from _cli import wp
from wattprint.ledger import Ledger
from wattprint.ledger._sqlite import reclaim_space
from wattprint.testing import FakeSensor

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "ledger_v1.sql")


def add_samples(path, rid: int, n: int) -> None:
    """``n`` samples for run ``rid``, written straight into the ledger's samples table."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO samples (rid, device, t, power_w, energy_j) "
                     "VALUES (?, 9, ?, ?, ?)",  # a device of its own
                     ((rid, 0.1 * k, 250.0 + k % 7, 25.0 * k) for k in range(n)))
    conn.execute("COMMIT")
    conn.close()


def record_runs(path, n: int) -> list[str]:
    ids = []
    for k in range(n):
        with wattprint.track(f"run {k}", sensors=[FakeSensor(100.0)], ledger=path) as run:
            pass
        ids.append(run.result.run_id)
    return ids


def rids(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, rid FROM runs"))
    finally:
        conn.close()


def pragma(path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_rm_shrinks_the_ledger_file(tmp_path) -> None:
    path = tmp_path / "ledger.db"
    ids = record_runs(path, 4)
    assert pragma(path, "auto_vacuum") == 2  # incremental, set when the file was made
    for run_id, rid in rids(path).items():
        add_samples(path, rid, 30_000)
    before = os.path.getsize(path)
    proc = wp(tmp_path, "rm", *ids[:3])
    assert proc.returncode == 0, proc.stderr
    after = os.path.getsize(path)
    assert after < before * 0.4, (before, after)
    assert not os.path.exists(f"{path}-wal") or os.path.getsize(f"{path}-wal") < before * 0.1
    with Ledger(path) as ledger:  # what was kept is whole
        assert [r.id for r in ledger.runs()] == [ids[3]]
        assert sum(1 for _ in ledger.samples(ids[3])) >= 30_000


def test_a_ledger_made_without_auto_vacuum_is_converted_once(tmp_path) -> None:
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    with open(FIXTURE) as f:
        conn.executescript(f.read())
    conn.close()
    with Ledger(path):  # migrated to the current schema; auto_vacuum cannot change here
        pass
    assert pragma(path, "auto_vacuum") == 0
    old = rids(path)
    big, small = list(old.items())[:2]
    add_samples(path, big[1], 50_000)
    add_samples(path, small[1], 100)
    with Ledger(path) as ledger:
        ledger.delete([small[0]])  # a little space: reused by new runs, no rewrite
    assert pragma(path, "auto_vacuum") == 0
    before = os.path.getsize(path)
    with Ledger(path) as ledger:
        ledger.delete([big[0]])
        kept = [r.id for r in ledger.runs()]
    assert pragma(path, "auto_vacuum") == 2  # converted by one VACUUM
    assert os.path.getsize(path) < before * 0.4
    assert sorted(kept) == sorted(set(old) - {big[0], small[0]})


def test_reclaim_space_says_what_it_did(tmp_path) -> None:
    path = tmp_path / "ledger.db"
    (run_id,) = record_runs(path, 1)
    with Ledger(path) as ledger:
        with ledger._locked() as conn:
            assert reclaim_space(conn) == "incremental"
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    assert reclaim_space(conn) == "reused"  # nothing free in a file without auto_vacuum
    conn.close()
    assert reclaim_space(conn).startswith("failed")  # never raises
