"""The run ledger through its Python API: recording from the tracker, batching, recovery
of dead runs, ids and prefixes, listing, deleting, tagging, and concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import wattprint
from wattprint.errors import LedgerError, RunNotFound, UsageError
from wattprint.ledger import Ledger
from wattprint.ledger._ids import ALPHABET, ID_LENGTH, id_time_s, new_run_id
from wattprint.testing import FakeSensor


def gpu(power_w: float = 100.0, name: str = "gpu:0") -> FakeSensor:
    return FakeSensor(power_w, name=name, domain="gpu")


def cpu_model(power_w: float = 20.0) -> FakeSensor:
    return FakeSensor(power_w, name="cpu-model", domain="cpu", kind="modelled",
                      scope="process", provenance={"uncertainty": 0.3})


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "ledger.db")


def test_tracked_run_is_recorded_in_full(path) -> None:
    with wattprint.track("finetune", sensors=[gpu(), cpu_model()], rate_hz=50, ledger=path,
                         project="llm", tags=["baseline", "lr=3e-4"], zone="FR",
                         command=["python", "train.py"], settings={"pue": 1.2}) as run:
        with run.phase("train"):
            time.sleep(0.2)
            run.count(tokens=1000, steps=2)
        with run.phase("eval"):
            time.sleep(0.1)
    result = run.result
    assert result.run_id == run.run_id and len(result.run_id) == ID_LENGTH
    with Ledger(path) as ledger:
        r = ledger.get(result.run_id)
    assert (r.name, r.project, r.tags, r.zone, r.status) == (
        "finetune", "llm", ["baseline", "lr=3e-4"], "FR", "finished")
    assert r.command == ["python", "train.py"]
    assert r.settings["pue"] == 1.2 and r.settings["rate_hz"] == 50.0
    assert r.energy_j == pytest.approx(result.energy_j)
    assert r.energy_high_j == pytest.approx(result.energy_high_j)
    assert r.basis == "mixed" and r.pid == os.getpid() and r.exit_code is None
    assert [(d.name, d.kind) for d in r.devices] == [("gpu:0", "measured"),
                                                     ("cpu-model", "modelled")]
    assert r.devices[1].provenance["uncertainty"] == 0.3
    assert [p.name for p in r.phases] == ["train", "eval"]
    assert r.phases[0].counters == {"tokens": 1000.0, "steps": 2.0}
    assert r.counters == {"tokens": 1000.0, "steps": 2.0}
    assert r.per_unit["j_per_token"] == pytest.approx(result.energy_j / 1000)
    assert r.samples == sum(d.samples for d in result.devices) > 10
    assert r.cpu_s is not None and r.cpu_s >= 0
    assert r.overhead_cpu_s == result.overhead_cpu_s and r.overhead_cpu_s > 0


def test_not_recorded_by_default_and_with_false(path) -> None:
    with wattprint.track(sensors=[gpu()]) as run:
        pass
    assert run.run_id is None and run.result.run_id is None
    with wattprint.track(sensors=[gpu()], ledger=False) as run:
        pass
    assert run.run_id is None


def test_samples_are_flushed_while_running(path) -> None:
    run = wattprint.start("live", sensors=[gpu()], rate_hz=50, ledger=path)
    try:
        deadline = time.monotonic() + 60  # the writer flushes every second or so
        n = 0
        while time.monotonic() < deadline and n == 0:
            time.sleep(0.1)
            with Ledger(path, readonly=True) as other:
                n = sum(1 for _ in other.samples(run.run_id))
                status = other.get(run.run_id).status
        assert n > 0 and status == "running"
    finally:
        run.stop()
    with Ledger(path, readonly=True) as other:
        samples = list(other.samples(run.run_id))
    t = [s[1] for s in samples]
    # offsets from the run's start (not monotonic clock readings), within the run
    assert t == sorted(t) and 0 < t[0] and t[-1] <= run.result.duration_s
    energies = [s[3] for s in samples]
    assert energies == sorted(energies) and energies[-1] == pytest.approx(run.result.energy_j)


def test_keyboard_interrupt_and_exit_codes_set_status(path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with wattprint.track(sensors=[gpu()], ledger=path):
            raise KeyboardInterrupt
    for code, status in ((0, "finished"), (3, "failed"), (-9, "interrupted")):
        tracker = wattprint.start(sensors=[gpu()], ledger=path)
        assert tracker.stop(exit_code=code).status == status
    with Ledger(path) as ledger:
        runs = ledger.runs(sort="started", descending=False)
    assert [(r.status, r.exit_code) for r in runs] == [
        ("interrupted", None), ("finished", 0), ("failed", 3), ("interrupted", -9)]


def _fake_run(ledger: Ledger, pid: int, samples: list[tuple[int, float, float, float]],
              **kw):
    writer = ledger.begin_run(name="killed", sensors=[gpu(), cpu_model()], pid=pid, **kw)
    writer.add_samples(samples)
    assert writer.flush()
    return writer


def test_dead_process_run_is_recovered_from_its_samples(path) -> None:
    pid = dead_pid()
    with Ledger(path) as ledger:
        writer = _fake_run(ledger, pid, [(0, 1.0, 100.0, 100.0), (0, 2.0, 110.0, 210.0),
                                         (1, 1.0, 20.0, 20.0), (1, 2.5, 20.0, 50.0)])
        writer.progress = lambda: ({"tokens": 500.0}, [])
        writer.flush()  # progress written with a flush
        run_id = writer.run_id
        assert ledger.get(run_id).status == "running"  # opened before: not recovered yet
    with Ledger(path) as ledger:
        assert ledger.recovered == [run_id]
        r = ledger.get(run_id)
    assert r.status == "interrupted"
    assert r.energy_j == pytest.approx(260.0)
    assert r.energy_low_j == pytest.approx(210 + 50 * 0.7)
    assert r.energy_high_j == pytest.approx(210 + 50 * 1.3)
    assert r.by_domain == {"gpu": 210.0, "cpu": 50.0} and r.basis == "mixed"
    assert r.duration_s == pytest.approx(2.5) and r.samples == 4
    assert r.peak_power_w is None and r.ended_at > r.started_at
    assert [d.energy_j for d in r.devices] == [210.0, 50.0]
    assert r.devices[0].peak_power_w == 110.0 and r.devices[0].samples == 2
    assert r.counters == {"tokens": 500.0} and r.per_unit["j_per_token"] == pytest.approx(0.52)
    assert "interrupted" in r.warnings[-1] and str(pid) in r.warnings[-1]


def test_reused_pid_counts_as_dead_and_live_runs_are_left_alone(path) -> None:
    with Ledger(path) as ledger:
        live = _fake_run(ledger, os.getpid(), [(0, 1.0, 1.0, 1.0)]).run_id
        reused = _fake_run(ledger, os.getpid(), [(0, 1.0, 1.0, 1.0)]).run_id
        with ledger._writing() as conn:
            conn.execute("UPDATE runs SET pid_started = 1.0 WHERE id = ?", (reused,))
        other_host = _fake_run(ledger, dead_pid(), []).run_id
        with ledger._writing() as conn:
            conn.execute("UPDATE runs SET host = 'elsewhere' WHERE id = ?", (other_host,))
        assert ledger.recover() == [reused]
        assert ledger.get(live).status == "running"
        assert ledger.get(other_host).status == "running"


def test_ids_sort_by_time_and_resolve_by_prefix(path) -> None:
    ids = [new_run_id(1_700_000_000 + i) for i in range(3)]
    assert ids == sorted(ids) and all(len(i) == ID_LENGTH and set(i) <= set(ALPHABET)
                                      for i in ids)
    assert id_time_s(ids[1]) == pytest.approx(1_700_000_001)
    assert len({new_run_id(1.0) for _ in range(200)}) > 150  # random suffix
    with Ledger(path) as ledger:
        made = []
        for _ in range(3):
            t = wattprint.start(sensors=[gpu()], ledger=ledger)
            made.append(t.stop().run_id)
            time.sleep(0.002)
        assert ledger.resolve(made[1]) == made[1]
        assert ledger.resolve(made[2][:11].upper()) == made[2]
        assert ledger.resolve("last") == made[2] and ledger.resolve("last~2") == made[0]
        with pytest.raises(RunNotFound) as err:
            ledger.resolve(made[0][:3])
        assert set(err.value.candidates) == set(made) and "several" in str(err.value)
        with pytest.raises(RunNotFound, match="wattprint runs"):
            ledger.get("zzzzzzzzzzzz")
        with pytest.raises(RunNotFound, match="not a run id"):
            ledger.get("no-such-id!")
        with pytest.raises(RunNotFound):
            ledger.get("last~9")


def test_listing_filters_and_sorting(path) -> None:
    with Ledger(path) as ledger:
        specs = [("a", "p1", ["x"], 50.0), ("b", "p1", ["x", "y"], 200.0),
                 ("c", "p2", ["y"], 100.0)]
        for name, project, tags, power in specs:
            run = wattprint.start(name, sensors=[gpu(power)], rate_hz=50, ledger=ledger,
                                  project=project, tags=tags)
            time.sleep(0.1)
            run.stop(exit_code=0 if name != "c" else 1)
        names = lambda runs: [r.name for r in runs]  # noqa: E731
        assert names(ledger.runs()) == ["c", "b", "a"]
        assert names(ledger.runs(project="p1")) == ["b", "a"]
        assert names(ledger.runs(tags=["x", "y"])) == ["b"]
        assert names(ledger.runs(status="failed")) == ["c"]
        # a run's energy is its power times its wall-clock length, which load stretches
        by_energy = sorted(ledger.runs(), key=lambda r: -r.energy_j)
        assert names(ledger.runs(sort="energy")) == names(by_energy)
        assert names(ledger.runs(sort="name", descending=False, limit=2)) == ["a", "b"]
        assert names(ledger.runs(name="b")) == ["b"]
        assert ledger.count(project="p1") == 2
        assert ledger.runs(since="2999-01-01T00:00:00.000+00:00") == []
        assert len(ledger.runs(until="2999-01-01T00:00:00.000+00:00")) == 3
        with pytest.raises(UsageError, match="status"):
            ledger.runs(status="done")
        with pytest.raises(UsageError, match="sort"):
            ledger.runs(sort="colour")


def test_delete_and_tag(path) -> None:
    with Ledger(path) as ledger:
        done = wattprint.start(sensors=[gpu()], rate_hz=50, ledger=ledger)
        time.sleep(0.1)
        done_id = done.stop().run_id
        live = wattprint.start(sensors=[gpu()], ledger=ledger)
        try:
            with pytest.raises(LedgerError, match="still being recorded") as err:
                ledger.delete([live.run_id])
            assert err.value.reason == "in_use"
        finally:
            live.stop()
        assert ledger.tag(done_id, add=["keep", "v2"]) == ["keep", "v2"]
        assert ledger.tag(done_id, remove=["keep"]) == ["v2"]
        with pytest.raises(UsageError, match="tag"):
            ledger.tag(done_id, add=["has space"])
        assert ledger.delete([done_id]) == [done_id]
        with pytest.raises(RunNotFound):
            ledger.get(done_id)
        with ledger._reading() as conn:
            left = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("samples", "devices", "run_tags", "runs")}
        assert left == {"samples": left["samples"], "devices": 1, "run_tags": 0, "runs": 1}


def test_unopenable_ledger_keeps_the_run_and_records_it_when_it_can(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    ledger_path = blocker / "ledger.db"
    with wattprint.track(sensors=[gpu()], rate_hz=100, ledger=str(ledger_path)) as run:
        time.sleep(0.1)
    assert run.ledger_error is not None and run.ledger_error.reason == "unwritable"
    assert run.run_id is not None and run.result.run_id == run.run_id
    assert any("kept in memory" in w for w in run.result.warnings)
    assert "kept in memory" in caplog.text and "wattprint pending" in caplog.text
    # the folder next to the ledger cannot be made: the run waits under XDG_STATE_HOME
    (pending,) = (Path(os.environ["XDG_STATE_HOME"]) / "wattprint" / "pending").iterdir()
    assert pending.name.startswith(run.run_id)
    blocker.unlink()
    blocker.mkdir()
    with Ledger(str(ledger_path)) as ledger:  # opening it for writing records the run
        r = ledger.get(run.run_id)
    assert not pending.exists()
    assert (r.status, r.energy_j) == ("finished", pytest.approx(run.result.energy_j))
    assert r.samples >= 5 and r.devices[0].name == "gpu:0"
    assert any("pending run file" in w for w in r.warnings)


def test_disk_full_mid_run_keeps_what_was_written(path) -> None:
    with Ledger(path) as ledger:
        run = wattprint.start("full", sensors=[gpu(), gpu(name="gpu:1")], rate_hz=200,
                              ledger=ledger)
        writer = run._recording.writer

        def count() -> int:
            with ledger._reading() as conn:
                return conn.execute("SELECT count(*) FROM samples").fetchone()[0]

        deadline = time.monotonic() + 60  # the writer flushes every second or so
        while time.monotonic() < deadline and count() == 0:
            time.sleep(0.05)
        with ledger._reading() as conn:  # the "disk" is full from now on
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        flushed = count()
        while time.monotonic() < deadline and writer.error is None:
            time.sleep(0.05)
        assert flushed > 0 and writer.error is not None and writer.error.reason == "full"
        result = run.stop()  # must not raise
        assert run.ledger_error is not None and run.ledger_error.reason == "full"
        assert any("could not be recorded" in w for w in result.warnings)
        r = ledger.get(run.run_id)
        assert r.status == "running" and r.samples == 0  # the finish was rolled back whole
        kept = count()
        assert kept >= flushed
        # the rest of the run waits next to the ledger, samples included
        (pending,) = (Path(path + ".pending")).iterdir()
        with pytest.raises(LedgerError, match="disk full"):
            ledger.import_pending()  # still full: the file stays
        assert pending.exists()
        with ledger._reading() as conn:
            conn.execute("PRAGMA max_page_count = 1073741823")
            conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead_pid(), run.run_id))
        assert ledger.recover() == [run.run_id]  # recovery first: the end then wins
        assert ledger.get(run.run_id).status == "interrupted"
        assert ledger.import_pending() == [run.run_id]
        r = ledger.get(run.run_id)
        assert not pending.exists()
        assert r.status == "finished" and r.energy_j == pytest.approx(result.energy_j)
        assert r.samples > kept  # the samples that never reached the ledger came back
        assert ledger.import_pending() == []


def test_concurrent_writers_in_threads(path) -> None:
    Ledger(path).close()
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            with Ledger(path, timeout_s=20) as ledger:
                for _ in range(3):
                    w = ledger.begin_run(name=f"w{k}", sensors=[gpu()])
                    w.add_samples((0, i * 0.1, 1.0, float(i)) for i in range(500))
                    assert w.flush()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(path, readonly=True) as ledger:
        assert ledger.count() == 12
        with ledger._reading() as conn:
            assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 6000


def test_readonly_missing_ledger_is_empty_and_not_created(tmp_path) -> None:
    p = tmp_path / "none" / "ledger.db"
    with Ledger(str(p), readonly=True) as ledger:
        assert ledger.runs() == [] and ledger.count() == 0
        with pytest.raises(LedgerError, match="read-only"):
            ledger.tag("last", add=["x"])
    assert not p.exists()


def test_closed_ledger_raises_ledger_error(path) -> None:
    ledger = Ledger(path)
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.runs()


def test_record_to_dict_is_json(path) -> None:
    with wattprint.track(sensors=[gpu()], ledger=path) as run:
        run.count(tokens=10)
    with Ledger(path) as ledger:
        data = ledger.get("last").to_dict()
    assert json.loads(json.dumps(data))["per_unit"]["j_per_token"] > 0
    assert "rid" not in data


def test_a_tracker_that_does_not_record_never_loads_sqlite() -> None:
    code = ("import sys, wattprint; from wattprint.testing import FakeSensor; "
            "wattprint.start(sensors=[FakeSensor(1.0)], project='p').stop(); "
            "assert 'sqlite3' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_flush_cadence_is_fast_at_the_start_then_slower(path) -> None:
    """0.5 s between flushes for the first 10 s of a run (a run killed early keeps nearly
    everything), 2 s after (each flush is a SQLite transaction); a fixed interval wins."""
    from wattprint.ledger import _writer

    with Ledger(path) as ledger:
        writer = ledger.begin_run(name="cadence", sensors=[gpu()])
        writer.t0 = time.monotonic()
        assert writer._interval_s() == _writer.FIRST_FLUSH_S == 0.5
        writer.t0 = time.monotonic() - _writer.STARTUP_S - 1.0
        assert writer._interval_s() == _writer.STEADY_FLUSH_S == 2.0
        fixed = ledger.begin_run(name="fixed", sensors=[gpu()], flush_interval_s=0.1)
        fixed.t0 = time.monotonic() - 100.0
        assert fixed._interval_s() == 0.1
        # samples buffered by the sampler side reach the file at a flush, in one batch
        writer.sink(0, writer.t0 + 12.0, 100.0, 1200.0)
        writer.sink(0, writer.t0 + 12.1, 100.0, 1210.0)
        assert list(ledger.samples(writer.run_id)) == []  # buffered, not yet written
        assert writer.flush()
        assert list(ledger.samples(writer.run_id)) == [
            (0, pytest.approx(12.0), 100.0, 1200.0), (0, pytest.approx(12.1), 100.0, 1210.0)]


def test_readonly_open_during_the_first_runs_setup_reads_empty(path) -> None:
    """A reader that opens the file between its creation and the commit of the first
    writer's schema transaction sees an empty ledger, not a 'needs upgrading' error."""
    import sqlite3

    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE runs (id TEXT)")  # not committed yet
    try:
        with Ledger(path, readonly=True) as ledger:
            assert ledger.runs() == [] and ledger.count() == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with Ledger(path) as ledger:  # the file is still usable: the real setup runs now
        assert ledger.count() == 0
