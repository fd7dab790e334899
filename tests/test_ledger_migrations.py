"""Schema migrations: a version-1 ledger built from a checked-in SQL script is migrated
forward without losing anything; new ledgers get every migration once, even when two
processes open them at the same moment; a newer schema is refused."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from wattprint.errors import LedgerError
from wattprint.ledger import SCHEMA_VERSION, Ledger
from wattprint.ledger._migrations import APPLICATION_ID, MIGRATIONS

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "ledger_v1.sql")


@pytest.fixture
def v1_path(tmp_path) -> str:
    path = str(tmp_path / "v1.db")
    conn = sqlite3.connect(path)
    with open(FIXTURE) as fh:
        conn.executescript(fh.read())
    conn.commit()
    conn.close()
    return path


def test_migrations_are_numbered_in_order() -> None:
    assert [v for v, _, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == MIGRATIONS[-1][0] == 6


def test_v1_fixture_is_migrated_without_loss(v1_path) -> None:
    with Ledger(v1_path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION
        runs = {r.id: r for r in ledger.runs(descending=False)}
        assert list(runs) == ["01j0000000aa", "01j0000001bb", "01j0000002cc"]
        first = ledger.get("01j0000000aa")
        assert first.tags == ["baseline", "lr=3e-4"] and first.project == "llm"
        assert first.command == ["python", "train.py"] and first.zone == "FR"
        assert first.energy_j == 600.0 and first.samples == 3
        assert first.phases[0].counters == {"tokens": 1000.0}
        assert first.per_unit == {"j_per_token": 0.6}
        assert first.job is None and first.job_id is None  # old runs are lone runs
        assert [s[3] for s in ledger.samples("01j0000000aa")] == [200.0, 400.0, 600.0]
        assert runs["01j0000001bb"].tags == [] and runs["01j0000001bb"].status == "failed"
        assert runs["01j0000002cc"].status == "interrupted"  # v1 allowed any status text
        assert [r.id for r in ledger.runs(tags=["baseline"], descending=False)] == [
            "01j0000000aa", "01j0000002cc"]
        assert ledger.runs(tags=["lr=3e-4"])[0].id == "01j0000000aa"
        # the new schema works for writing too
        assert ledger.tag("01j0000001bb", add=["new"]) == ["new"]
    conn = sqlite3.connect(v1_path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    assert "tags" not in columns and "cpu_s" in columns and "job_id" in columns
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_reopening_a_migrated_ledger_changes_nothing(v1_path) -> None:
    Ledger(v1_path).close()
    conn = sqlite3.connect(v1_path)
    schema = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    Ledger(v1_path).close()
    conn = sqlite3.connect(v1_path)
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    conn.close()


def test_readonly_open_of_an_old_ledger_asks_for_write_access(v1_path) -> None:
    with pytest.raises(LedgerError, match="needs upgrading"):
        Ledger(v1_path, readonly=True)


def test_new_ledger_migrated_once_under_concurrent_opens(tmp_path) -> None:
    path = str(tmp_path / "race.db")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            Ledger(path, timeout_s=20).close()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path) -> None:
    path = str(tmp_path / "new.db")
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="newer") as err:
        Ledger(path)
    assert err.value.reason == "schema" and "upgrade wattprint" in str(err.value)


SERVER = "http://team.example:8080"


def _v5_ledger(path: str) -> None:
    """A ledger as version 5 left it: two final runs and a running one."""
    conn = sqlite3.connect(path, isolation_level=None)
    for version, _, apply in MIGRATIONS[:5]:
        apply(conn)
        conn.execute(f"PRAGMA user_version = {version}")
    for run_id, status in (("01j0000000aa", "finished"), ("01j0000001bb", "failed"),
                           ("01j0000002cc", "running")):
        conn.execute("INSERT INTO runs (id, host, status, started_at, energy_j, pid) "
                     "VALUES (?, 'elsewhere', ?, '2024-01-01T00:00:00+00:00', 5.0, 1)",
                     (run_id, status))
    conn.close()


def test_v5_ledger_gets_the_outbox_and_every_final_run_waits(tmp_path) -> None:
    path = str(tmp_path / "v5.db")
    _v5_ledger(path)
    with Ledger(path) as ledger:
        assert ledger.schema_version == 6
        assert ledger.get("01j0000000aa").energy_j == 5.0  # nothing lost
        # never pushed anywhere: the final runs wait, the running one does not
        assert ledger.waiting(SERVER) == ["01j0000000aa", "01j0000001bb"]
        assert ledger.count_waiting(SERVER) == 2
    conn = sqlite3.connect(path)
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    assert {"pushes", "pushes_run_edited", "pushes_tag_added", "pushes_tag_removed",
            "pushes_run_deleted"} <= names
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_outbox_acknowledgements_per_server_and_edits_push_again(tmp_path) -> None:
    path = str(tmp_path / "v5.db")
    _v5_ledger(path)
    other = "https://other.example/wattprint"
    with Ledger(path) as ledger:
        run_id, edits = ledger.begin_push(SERVER, "01j0000000")
        ledger.acknowledge(SERVER, run_id, edits, "sha256:aaa")
        assert ledger.waiting(SERVER) == ["01j0000001bb"]
        assert ledger.acknowledged_digest(SERVER, run_id) == "sha256:aaa"
        assert ledger.waiting(other) == ["01j0000000aa", "01j0000001bb"]  # per server
        assert ledger.waiting(SERVER, everything=True) == ["01j0000000aa", "01j0000001bb"]
        # a tag added later: the run waits again, with its old digest remembered
        ledger.tag(run_id, add=["late"])
        assert ledger.waiting(SERVER) == ["01j0000000aa", "01j0000001bb"]
        assert ledger.acknowledged_digest(SERVER, run_id) == "sha256:aaa"
        _, edits = ledger.begin_push(SERVER, run_id)
        ledger.acknowledge(SERVER, run_id, edits, "sha256:bbb")
        assert ledger.waiting(SERVER) == ["01j0000001bb"]
        # an edit while a push is in flight (after begin_push, before the ack): waits
        _, edits = ledger.begin_push(SERVER, run_id)
        ledger.tag(run_id, remove=["late"])
        ledger.acknowledge(SERVER, run_id, edits, "sha256:ccc")
        assert run_id in ledger.waiting(SERVER)
        # a deleted run leaves no acknowledgement behind
        ledger.delete([run_id])
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM pushes").fetchone()[0] == 0
    conn.close()


def test_a_recovered_run_waits_again_after_its_push(tmp_path) -> None:
    """A run pushed while `running` never is; once recovered (status and totals change)
    it waits, even if a push row was made for it before."""
    path = str(tmp_path / "rec.db")
    with Ledger(path) as ledger:
        writer = ledger.begin_run(name="dies", pid=os.getpid())
        assert ledger.waiting(SERVER) == []  # running: not pushed
        ledger.begin_push(SERVER, writer.run_id)
        conn = sqlite3.connect(path, isolation_level=None)
        # the recording process "died": a pid that does not exist
        conn.execute("UPDATE runs SET pid = 2147480000, pid_started = NULL")
        conn.close()
        assert ledger.recover() == [writer.run_id]
        assert ledger.waiting(SERVER) == [writer.run_id]
