"""The wrapped job always wins: ``wattprint run`` as a real subprocess under injected
faults — a ledger that cannot take the end of the run (a full disk, a lock held by
another process), a ledger that cannot be opened at the start (damaged, unwritable,
full), wattprint killed with SIGKILL, signals forwarded to the command (SIGINT, SIGTERM,
SIGHUP) and a Ctrl-C sent in the moment the command starts. In every case the command
runs, wattprint exits with its status, and the run ends up in the ledger."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from _cli import WATTPRINT, cli_env, kill_tree, wp, wp_json

PY = sys.executable


def default_sigint() -> None:
    """``preexec_fn`` for the wattprint under test: SIGINT at its default, whatever the
    test runner does with it (a runner started in the background ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_wattprint(tmp_path: Path, *args: str, env: dict[str, str] | None = None
                    ) -> subprocess.Popen[str]:
    return subprocess.Popen([*WATTPRINT, *args], env=env or cli_env(tmp_path),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def gone(pid: int) -> bool:
    """The process has ended (a zombie nobody reaped counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def gated_child(tmp_path: Path, exit_code: int = 0) -> list[str]:
    """A command that writes its PID, waits until the test creates ``go``, then exits."""
    code = (f"import os, sys, time, pathlib\n"
            f"d = pathlib.Path({str(tmp_path)!r})\n"
            f"(d / 'child.pid').write_text(str(os.getpid()))\n"
            f"t = time.monotonic()\n"
            f"while not (d / 'go').exists() and time.monotonic() - t < 120: time.sleep(0.05)\n"
            f"sys.exit({exit_code})\n")
    return [PY, "-c", code]


def child_pid(tmp_path: Path) -> int:
    path = tmp_path / "child.pid"
    wait_for(lambda: path.exists() and path.read_text().strip(), "the command started")
    return int(path.read_text())


def running_run(ledger: str) -> bool:
    if not os.path.exists(ledger):
        return False
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM runs WHERE status = 'running'"
                            ).fetchone()[0] > 0


def fill_disk(folder: Path) -> Path:
    """Write a file in ``folder`` until its file system has no space left."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (65536, 512):  # then the last partial blocks too
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass
    return filler


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs: a real file system that fills up. Mounting needs root (or a
    container that allows it); elsewhere the tests that need a full disk are skipped and
    the lock case below covers the same code path."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a real full disk) needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -- the end of the run cannot be recorded -------------------------------------------------
def test_exit_0_kept_when_the_disk_fills_during_the_run(tmp_path, small_disk) -> None:
    ledger = str(small_disk / "ledger.db")
    env = cli_env(tmp_path, WATTPRINT_LEDGER=ledger)
    proc = start_wattprint(tmp_path, "run", "-q", "--", *gated_child(tmp_path), env=env)
    try:
        child_pid(tmp_path)
        wait_for(lambda: running_run(ledger), "the run is in the ledger")
        filler = fill_disk(small_disk)
        (tmp_path / "go").touch()
        _, err = proc.communicate(timeout=120)
    finally:
        kill_tree(proc.pid)
    assert proc.returncode == 0, err
    assert "disk full" in err and ledger in err and "free some disk space" in err
    assert "Traceback" not in err and "unexpected" not in err
    # the rest of the run waits in a pending file (the full disk could not take it)
    (pending,) = (tmp_path / "state" / "wattprint" / "pending").iterdir()
    assert str(pending) in err
    filler.unlink()
    (run,) = wp_json(tmp_path, "runs", env=env)  # the next open records it
    assert (run["status"], run["exit_code"]) == ("finished", 0)
    assert not pending.exists()


def test_exit_0_kept_when_another_process_locks_the_ledger_at_the_end(tmp_path) -> None:
    env = cli_env(tmp_path)
    ledger = env["WATTPRINT_LEDGER"]
    proc = start_wattprint(tmp_path, "run", "-q", "--", *gated_child(tmp_path), env=env)
    try:
        child_pid(tmp_path)
        wait_for(lambda: running_run(ledger), "the run is in the ledger")
        holder = sqlite3.connect(ledger, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")  # held past wattprint's 10 s busy timeout
        try:
            (tmp_path / "go").touch()
            _, err = proc.communicate(timeout=120)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        kill_tree(proc.pid)
    assert proc.returncode == 0, err
    assert "locked" in err and "--ledger" in err and "wattprint pending" in err
    pending = list(Path(ledger + ".pending").iterdir())
    assert len(pending) == 1
    listing = wp(tmp_path, "pending", "--list", env=env)
    assert listing.returncode == 0 and str(pending[0]) in listing.stdout
    recorded = wp(tmp_path, "pending", env=env)
    assert recorded.returncode == 0 and "recorded 1 run" in recorded.stdout
    (run,) = wp_json(tmp_path, "runs", env=env)
    assert (run["status"], run["exit_code"]) == ("finished", 0) and run["samples"] > 0
    assert wp(tmp_path, "pending", env=env).stdout.startswith("no pending runs")


# -- the ledger cannot be opened at the start ------------------------------------------------
@pytest.mark.parametrize("fault", ["corrupt", "unwritable", "full"])
def test_unopenable_ledger_the_command_runs_and_the_run_is_recorded_later(
        tmp_path, fault, request) -> None:
    if fault == "full":
        disk = request.getfixturevalue("small_disk")
        ledger = disk / "ledger.db"
        filler = fill_disk(disk)
    elif fault == "corrupt":
        ledger = tmp_path / "ledger.db"
        ledger.write_bytes(b"garbage" * 1000)
    else:  # the ledger's folder is a file: nothing can be created there
        (tmp_path / "blocker").write_text("x")
        ledger = tmp_path / "blocker" / "ledger.db"
    env = cli_env(tmp_path, WATTPRINT_LEDGER=str(ledger))
    marker = tmp_path / "ran"
    proc = wp(tmp_path, "run", "--", PY, "-c",
              f"import sys; open({str(marker)!r}, 'w'); sys.exit(3)", env=env)
    assert marker.exists(), proc.stderr  # the command ran
    assert proc.returncode == 3, proc.stderr  # with its own status
    assert "--no-ledger" in proc.stderr and str(ledger) in proc.stderr
    assert "Traceback" not in proc.stderr and "wattprint: error:" not in proc.stderr
    assert {"corrupt": "not a readable SQLite database", "unwritable": "cannot open",
            "full": "disk full"}[fault] in proc.stderr
    run_id = proc.stderr.split("run id: ")[1].split()[0]
    if fault == "full":
        filler.unlink()
    elif fault == "corrupt":
        ledger.rename(tmp_path / "ledger.db.damaged")
    else:
        (tmp_path / "blocker").unlink()
    run = wp_json(tmp_path, "show", run_id, env=env)
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    assert run["devices"] and run["energy_j"] > 0
    assert any("pending run file" in w for w in run["warnings"])


# -- signals and the child's life --------------------------------------------------------
def test_kill_9_of_wattprint_takes_the_command_down(tmp_path) -> None:
    proc = start_wattprint(tmp_path, "run", "-q", "--", *gated_child(tmp_path))
    try:
        pid = child_pid(tmp_path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(lambda: gone(pid), "the command died with wattprint")
    finally:
        kill_tree(proc.pid)
        try:
            psutil.Process(int((tmp_path / "child.pid").read_text())).kill()
        except (psutil.NoSuchProcess, OSError, ValueError):
            pass


SIGNALLED = ("import os, signal, sys, time, pathlib\n"
             "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
             "if len(sys.argv) > 1:\n"
             "    signal.signal(signal.SIGTERM, lambda *a: sys.exit(int(sys.argv[1])))\n"
             "pathlib.Path('child.pid').write_text(str(os.getpid()))\n"
             "time.sleep(120)\n")


@pytest.mark.parametrize("sig, child_args, code, status", [
    (signal.SIGINT, [], 130, "interrupted"),
    (signal.SIGTERM, [], 128 + signal.SIGTERM, "interrupted"),
    (signal.SIGHUP, [], 128 + signal.SIGHUP, "interrupted"),
    (signal.SIGTERM, ["7"], 7, "failed"),  # the command handles it: its status wins
])
def test_signals_are_forwarded_and_the_commands_status_is_returned(
        tmp_path, sig, child_args, code, status) -> None:
    proc = start_wattprint(tmp_path, "run", "-q", "--", PY, "-c", SIGNALLED, *child_args)
    try:
        pid = child_pid(tmp_path)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_tree(proc.pid)
    assert proc.returncode == code, err
    assert gone(pid)
    assert "Traceback" not in err and "closed" not in err
    (run,) = wp_json(tmp_path, "runs")
    assert run["status"] == status
    assert run["exit_code"] == (-sig if status == "interrupted" else code)


def test_ctrl_c_in_the_moment_the_command_starts(tmp_path) -> None:
    """The command's first act is to send SIGINT to wattprint: the signal lands right
    after the child was created, the window where a handler installed after ``Popen``
    missed it. It must reach the command, and wattprint must exit with its status."""
    first_act = "trap - INT; echo $$ > child.pid; kill -INT $PPID; exec sleep 120"
    proc = start_wattprint(tmp_path, "run", "-q", "--", "/bin/sh", "-c", first_act)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        kill_tree(proc.pid)
    assert proc.returncode == 130, err
    assert gone(child_pid(tmp_path))
    assert "Traceback" not in err and "closed" not in err
    (run,) = wp_json(tmp_path, "runs")
    assert (run["status"], run["exit_code"]) == ("interrupted", -signal.SIGINT)


def test_a_signal_before_the_command_exists_is_kept_not_raised() -> None:
    """Handlers are in place before anything starts: a Ctrl-C while the tracker starts
    is recorded for the caller (who then does not start the command), not raised as a
    KeyboardInterrupt in the middle of wattprint's set-up."""
    from wattprint.cli._child import ChildSupervisor

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # whatever the runner set
    try:
        with ChildSupervisor() as supervisor:
            os.kill(os.getpid(), signal.SIGINT)
            wait_for(lambda: supervisor.pending, "the signal was handled", timeout=10)
            assert supervisor.pending == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL  # restored
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_hangup_ignored_by_whoever_started_wattprint_stays_ignored(tmp_path) -> None:
    """Under ``nohup`` SIGHUP is ignored: wattprint must not turn it into a kill of the
    command by forwarding it."""
    def nohup() -> None:
        default_sigint()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = subprocess.Popen([*WATTPRINT, "run", "-q", "--", *gated_child(tmp_path, 4)],
                            env=cli_env(tmp_path), cwd=tmp_path, stderr=subprocess.PIPE,
                            text=True, preexec_fn=nohup)
    try:
        pid = child_pid(tmp_path)
        proc.send_signal(signal.SIGHUP)
        os.kill(pid, signal.SIGHUP)  # the terminal hangs up on the whole session
        time.sleep(0.5)
        assert proc.poll() is None and not gone(pid)
        (tmp_path / "go").touch()
        _, err = proc.communicate(timeout=60)
    finally:
        kill_tree(proc.pid)
    assert proc.returncode == 4, err


# -- error reporting ---------------------------------------------------------------------
def test_non_utf8_config_names_the_file(tmp_path) -> None:
    (tmp_path / "wattprint.toml").write_bytes(b'project = "caf\xe9"\n')
    for args in (["runs"], ["config"], ["run", "--", PY, "-c", "pass"]):
        proc = wp(tmp_path, *args)
        assert proc.returncode == 2, proc.stderr
        assert str(tmp_path / "wattprint.toml") in proc.stderr and "UTF-8" in proc.stderr
        assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_value_refused_by_the_accounting_is_a_user_error(tmp_path) -> None:
    assert wp(tmp_path, "run", "-q", "--", PY, "-c", "pass").returncode == 0
    proc = wp(tmp_path, "report", "last", "--pue", "0.5")
    assert proc.returncode == 2, proc.stderr
    assert "wattprint: error:" in proc.stderr and "PUE" in proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr


def test_escape_codes_in_names_never_reach_the_terminal(tmp_path) -> None:
    name = "\x1b[2J\x1b]0;pwned\x07evil\u202eexe.txt"
    proc = wp(tmp_path, "run", "--name", name, "--project", "p\x1b[31mred", "--tag",
              "t\x9bx", "--", PY, "-c", "pass")
    assert proc.returncode == 0, proc.stderr
    listing = wp(tmp_path, "runs")
    shown = wp(tmp_path, "show", "last")
    for out in (listing.stdout, shown.stdout, proc.stderr):
        assert not any(c in out for c in "\x1b\x07\x9b\u202e"), repr(out)
    assert "\\x1b[2J\\x1b]0;pwned\\x07evil\\u202eexe.txt" in shown.stdout
    assert "p\\x1b[31mred" in listing.stdout
    tagged = wp(tmp_path, "tag", "last", "\x1b[5mblink")
    assert tagged.returncode == 0 and "\x1b" not in tagged.stdout
    assert "\\x1b[5mblink" in tagged.stdout
    # the ledger keeps the name as given: only the display is escaped
    assert json.loads(wp(tmp_path, "show", "last", "--json").stdout)["name"] == name


def test_an_io_error_on_a_full_disk_is_reported_as_disk_full(small_disk) -> None:
    """SQLite reports some writes that fail for want of space as a plain I/O error
    (growing the shared-memory file); the message must still say "disk full"."""
    from wattprint.ledger._sqlite import translate

    ledger = str(small_disk / "ledger.db")
    io_error = sqlite3.OperationalError("disk I/O error")
    io_error.sqlite_errorcode = 4874  # SQLITE_IOERR_SHMSIZE
    assert translate(io_error, ledger).reason == "io"  # space left: a real I/O error
    fill_disk(small_disk)
    err = translate(io_error, ledger)
    assert err.reason == "full" and str(err).startswith("disk full: ")
    assert ledger in str(err) and "free some disk space" in str(err)


def test_pending_says_why_when_the_ledger_still_cannot_take_the_runs(tmp_path) -> None:
    ledger = tmp_path / "ledger.db"
    ledger.write_bytes(b"garbage" * 1000)
    assert wp(tmp_path, "run", "-q", "--", PY, "-c", "pass").returncode == 0
    (pending,) = (tmp_path / "ledger.db.pending").iterdir()
    proc = wp(tmp_path, "pending")
    assert proc.returncode == 2 and "stay where they are" in proc.stderr, proc.stderr
    assert "not a readable SQLite database" in proc.stderr and pending.exists()
    listing = wp(tmp_path, "runs")  # a damaged ledger stays a clean error for readers
    assert listing.returncode == 2 and "Traceback" not in listing.stderr


def test_an_output_file_that_cannot_be_written_is_a_user_error(tmp_path, small_disk) -> None:
    assert wp(tmp_path, "run", "-q", "--", PY, "-c", "pass").returncode == 0
    proc = wp(tmp_path, "report", "last", "--format", "md", "-o", "/proc/report.md")
    assert proc.returncode == 2 and "/proc/report.md" in proc.stderr, proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    fill_disk(small_disk)
    out = small_disk / "report.html"
    proc = wp(tmp_path, "report", "last", "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "disk full" in proc.stderr and str(out) in proc.stderr, proc.stderr
