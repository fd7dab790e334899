"""Pushing to the real team server (``wattprint server`` under uvicorn, SQLite database in a
temporary folder) with the real CLI as subprocesses: the outbox, idempotence, chunked
runs, edits pushed again, and the faults of issue 12 — the server killed mid-push, the
server down for a whole run, the client killed mid-run, a wrong token — with nothing
lost, nothing duplicated, and the wrapped command's exit status unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Iterator

import pytest

from _cli import WATTPRINT, cli_env, kill_tree, wp
from _report_fixtures import GPU_PROV, record_run
from _teamserver import TeamServer, free_port
from wattprint.ledger import Ledger
from wattprint.wire import run_payloads

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[TeamServer]:
    srv = TeamServer(tmp_path_factory.mktemp("teamserver")).start()
    yield srv
    srv.kill()


def _env(tmp_path, srv: TeamServer, token: str, **extra: str) -> dict[str, str]:
    return cli_env(tmp_path, WATTPRINT_SERVER=srv.url, WATTPRINT_TOKEN=token, **extra)


def _record(path: str, n: int, *, devices: int = 3, duration_s: float = 3000,
            seed: int = 0, **kw: Any) -> list[str]:
    """``n`` finished runs; with 3 devices x 3000 samples a run is 2 chunks of payload
    (2001 points per device after downsampling, 5000 points per chunk)."""
    gpus = [(f"nvml:{i}", "gpu", "measured", f"GPU-{i}", GPU_PROV) for i in range(devices)]
    with Ledger(path) as ledger:
        return [record_run(ledger, name=f"train-{seed + k}", devices=gpus,
                           power=[lambda t, i=i: 250.0 + 10 * i for i in range(devices)],
                           duration_s=duration_s, seed=seed + k, tokens=1e6,
                           phases=[("train", 0, duration_s * 0.8)], **kw)
                for k in range(n)]


def _assert_same(ledger_path: str, srv: TeamServer, token: str, run_id: str) -> None:
    """The server's copy of a run carries the local ledger's figures."""
    with Ledger(ledger_path, readonly=True) as ledger:
        local = ledger.get(run_id)
        chunks = run_payloads(ledger, run_id)
    remote = srv.run(run_id, token)
    assert remote["complete"] is True
    for key in ("name", "status", "energy_j", "energy_low_j", "energy_high_j", "duration_s",
                "exit_code", "host", "basis"):
        assert remote[key] == getattr(local, key), key
    assert sorted(remote["tags"]) == sorted(local.tags)
    assert [d["energy_j"] for d in remote["devices"]] == [d.energy_j for d in local.devices]
    assert [p["energy_j"] for p in remote["phases"]] == [p.energy_j for p in local.phases]
    assert remote["counters"] == local.counters
    sent = sum(len(p["t"]) for c in chunks for p in c["power"])
    assert sum(len(p["t"]) for p in remote["power"]) == sent  # every chunk arrived


def _ids_on(srv: TeamServer, token: str) -> list[str]:
    return sorted(r["id"] for r in srv.runs(token))


def test_push_sends_waiting_runs_once_and_edited_runs_again(server, tmp_path) -> None:
    token = server.token("outbox")
    env = _env(tmp_path, server, token)
    ledger = str(tmp_path / "ledger.db")
    ids = _record(ledger, 2)
    proc = wp(tmp_path, "push", "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "2 run(s) would be pushed" in proc.stdout and "4 chunk(s)" in proc.stdout
    assert _ids_on(server, token) == []  # a dry run sends nothing
    assert f"{server.url}: waiting to be pushed" in wp(tmp_path, "show", ids[1], env=env).stdout
    note = f"2 run(s) wait to be pushed to {server.url}"
    assert note in wp(tmp_path, "runs", env=env).stdout
    assert note in wp(tmp_path, "pending", env=env).stdout
    proc = wp(tmp_path, "push", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 pushed, 0 already there, 0 failed"), proc.stdout
    assert token not in proc.stdout + proc.stderr
    assert _ids_on(server, token) == sorted(ids)
    for run_id in ids:
        _assert_same(ledger, server, token, run_id)
    assert "wait to be pushed" not in wp(tmp_path, "runs", env=env).stdout
    assert f"{server.url}: acknowledged 20" in wp(tmp_path, "show", ids[1], env=env).stdout
    proc = wp(tmp_path, "push", env=env)  # the outbox is empty
    assert proc.returncode == 0 and "nothing to push" in proc.stdout, proc.stdout
    proc = wp(tmp_path, "push", ids[0], env=env)  # named: acknowledged, not re-sent
    assert proc.returncode == 0 and "0 pushed, 1 already there" in proc.stdout, proc.stdout
    # double push: everything sent again, still one copy of each run on the server
    proc = wp(tmp_path, "push", "--all", env=env)
    assert proc.returncode == 0 and "2 pushed (0 new, 2 replaced" in proc.stdout, proc.stdout
    assert _ids_on(server, token) == sorted(ids)
    # an edited run waits again and the server gets the edit
    assert wp(tmp_path, "tag", ids[1], "reviewed", env=env).returncode == 0
    assert "edited since: waiting" in wp(tmp_path, "show", ids[1], env=env).stdout
    proc = wp(tmp_path, "push", "--dry-run", env=env)
    assert "1 run(s) would be pushed" in proc.stdout and ids[1] in proc.stdout
    proc = wp(tmp_path, "push", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("1 pushed"), proc.stdout
    assert "reviewed" in server.run(ids[1], token)["tags"]
    _assert_same(ledger, server, token, ids[1])
    assert _ids_on(server, token) == sorted(ids)


def test_a_wrong_token_fails_in_one_line_and_keeps_the_runs(server, tmp_path) -> None:
    bad = "wpt_" + "not-a-real-token" * 2
    env = _env(tmp_path, server, bad)
    run_id = _record(str(tmp_path / "ledger.db"), 1, devices=1, duration_s=60)[0]
    proc = wp(tmp_path, "push", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        "wattprint: error: token refused: check WATTPRINT_TOKEN"
    assert "Traceback" not in proc.stderr and bad not in proc.stdout + proc.stderr
    proc = wp(tmp_path, "push", "--dry-run", env=env)
    assert "1 run(s) would be pushed" in proc.stdout and run_id in proc.stdout
    # the wrapped command's exit status is never changed by a refused push
    proc = wp(tmp_path, "run", "-q", "--", sys.executable, "-c", "raise SystemExit(7)",
              env=env)
    assert proc.returncode == 7, proc.stderr
    line = [x for x in proc.stderr.splitlines() if "not pushed" in x]
    assert len(line) == 1 and "token refused" in line[0] and "outbox" in line[0], proc.stderr
    with Ledger(str(tmp_path / "ledger.db"), readonly=True) as ledger:
        assert len(ledger.waiting(server.url)) == 2  # both runs wait in the outbox


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_server_killed_mid_push_then_the_push_completes(tmp_path, request, database) -> None:
    db = request.getfixturevalue("postgres_cluster").new_database() \
        if database == "postgresql" else None
    srv = TeamServer(tmp_path / "srv", db=db).start()
    try:
        token = srv.token("fault")
        env = _env(tmp_path, srv, token)
        ledger = str(tmp_path / "ledger.db")
        ids = _record(ledger, 8, devices=5)  # 3 chunks a run
        push = subprocess.Popen([*WATTPRINT, "push"], env=env, cwd=str(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not srv.runs(token):  # the first chunks are in: the push is in flight
            assert push.poll() is None, push.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        srv.kill()
        out, err = push.communicate(timeout=120)
        assert push.returncode == 1, (out, err)
        assert err.strip().splitlines()[-1] == (
            f"wattprint: error: server unreachable at {srv.url}: the runs stay in the "
            "outbox; run `wattprint push` later"), err
        with Ledger(ledger, readonly=True) as led:
            left = led.waiting(srv.url)
        assert 0 < len(left) <= len(ids)
        srv.start()  # same database, same port
        proc = wp(tmp_path, "push", env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"{len(left)} pushed" in proc.stdout
        assert _ids_on(srv, token) == sorted(ids)  # no duplicate, no loss
        for run_id in ids:
            _assert_same(ledger, srv, token, run_id)
        with Ledger(ledger, readonly=True) as led:
            assert led.waiting(srv.url) == []
    finally:
        srv.kill()


@pytest.mark.slow
def test_server_down_for_a_whole_run_then_pushed_intact(tmp_path) -> None:
    srv = TeamServer(tmp_path / "srv", port=free_port())  # not started: down
    token = srv.token("down")  # tokens are made in the database, no server needed
    env = _env(tmp_path, srv, token)
    started = time.monotonic()
    proc = wp(tmp_path, "run", "--name", "offline", "--tag", "nightly", "--", sys.executable,
              "-c", "import time; time.sleep(1.5); raise SystemExit(5)", env=env)
    elapsed = time.monotonic() - started
    assert proc.returncode == 5, proc.stderr  # the command's status, whatever the push did
    lines = [x for x in proc.stderr.splitlines() if "not pushed" in x]
    assert len(lines) == 1 and f"not pushed to {srv.url}" in lines[0], proc.stderr
    assert "stays in the outbox" in lines[0] and "Traceback" not in proc.stderr
    assert elapsed < 60  # bounded: never the push's full retry budget on top of the run
    ledger = str(tmp_path / "ledger.db")
    with Ledger(ledger, readonly=True) as led:
        (run_id,) = led.waiting(srv.url)
    srv.start()
    try:
        proc = wp(tmp_path, "push", env=env)
        assert proc.returncode == 0 and proc.stdout.startswith("1 pushed"), proc.stdout
        _assert_same(ledger, srv, token, run_id)
        remote = srv.run(run_id, token)
        assert remote["status"] == "failed" and remote["exit_code"] == 5
        assert remote["tags"] == ["nightly"]
    finally:
        srv.kill()


@pytest.mark.slow
def test_client_killed_mid_run_then_the_next_run_pushes_it(server, tmp_path) -> None:
    token = server.token("killed")
    env = _env(tmp_path, server, token)
    ledger = str(tmp_path / "ledger.db")
    proc = subprocess.Popen([*WATTPRINT, "run", "-q", "--name", "doomed", "--",
                             sys.executable, "-c", "import time; time.sleep(300)"],
                            env=env, cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # recording, with samples flushed
            assert time.monotonic() < deadline and proc.poll() is None
            if os.path.exists(ledger):
                with Ledger(ledger, readonly=True) as led:
                    running = led.runs(status="running")
                    if running and len(list(led.samples(running[0].id))) >= 3:
                        doomed = running[0].id
                        break
            time.sleep(0.2)
    finally:
        kill_tree(proc.pid)  # SIGKILL: wattprint gets no chance to finish the run
        proc.wait(timeout=30)
    assert doomed not in _ids_on(server, token)
    # the next run recovers the interrupted one and pushes both in the background
    proc = wp(tmp_path, "run", "-q", "--name", "next", "--", sys.executable, "-c", "pass",
              env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not pushed" not in proc.stderr, proc.stderr
    with Ledger(ledger, readonly=True) as led:
        assert led.get(doomed).status == "interrupted"
        assert led.waiting(server.url) == []
        ids = [r.id for r in led.runs()]
    assert _ids_on(server, token) == sorted(ids)
    assert server.run(doomed, token)["status"] == "interrupted"
    _assert_same(ledger, server, token, doomed)


def test_track_pushes_the_run_before_the_program_exits(server, tmp_path) -> None:
    token = server.token("library")
    env = _env(tmp_path, server, token)
    script = ("import wattprint\n"
              "from wattprint.testing import FakeSensor\n"
              "with wattprint.track('in-python', sensors=[FakeSensor(40.0)], ledger=True,"
              " tags=['lib']) as run:\n"
              "    run.count(tokens=512)\n"
              "print(run.result.run_id)\n")
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # a push that worked says nothing
    run_id = proc.stdout.strip()
    assert _ids_on(server, token) == [run_id]
    _assert_same(str(tmp_path / "ledger.db"), server, token, run_id)
    assert server.run(run_id, token)["counters"] == {"tokens": 512.0}


def test_a_run_still_running_is_not_pushed_and_says_why(server, tmp_path) -> None:
    token = server.token("running")
    env = _env(tmp_path, server, token)
    ledger = str(tmp_path / "ledger.db")
    done = _record(ledger, 1, devices=1, duration_s=60)[0]
    with Ledger(ledger) as led:
        live = led.begin_run(name="still going", pid=os.getpid()).run_id  # alive: not stale
        assert led.waiting(server.url) == [done]  # the running run does not wait yet
    proc = wp(tmp_path, "push", live, done, env=env)
    assert proc.returncode == 1
    assert proc.stdout.startswith("1 pushed, 0 already there, 1 failed"), proc.stdout
    assert f"{live}: cannot be pushed" in proc.stdout and "'running'" in proc.stdout
    assert proc.stderr.strip().startswith(f"wattprint: error: 1 run(s) not pushed ({live}:")
    assert _ids_on(server, token) == [done]


def test_a_loop_of_tracked_calls_pushes_each_run_once(server, tmp_path) -> None:
    token = server.token("loop")
    script = ("import wattprint\n"
              "from wattprint.testing import FakeSensor\n"
              "@wattprint.track(sensors=[FakeSensor(5.0)], ledger=True, tags=['loop'])\n"
              "def step(k):\n"
              "    return k\n"
              "for k in range(5):\n"
              "    step(k)\n")
    proc = subprocess.run([sys.executable, "-c", script], env=_env(tmp_path, server, token),
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    with Ledger(str(tmp_path / "ledger.db"), readonly=True) as led:
        ids = sorted(r.id for r in led.runs())
        assert len(ids) == 5 and led.waiting(server.url) == []
    assert _ids_on(server, token) == ids


def test_a_distributed_job_is_pushed_by_its_id_one_run_per_part(server, tmp_path) -> None:
    from wattprint import Tracker
    from wattprint.distributed import JobIdentity
    from wattprint.testing import FakeSensor

    token = server.token("jobs")
    env = _env(tmp_path, server, token)
    ledger = str(tmp_path / "ledger.db")
    parts = []
    for rank in (1, 0):  # rank 0 last: it finds rank 1's part at once when it ends
        job = JobIdentity("torch", "torch:push-test", rank=rank, world_size=2,
                          local_rank=rank, local_world_size=2, host_id="h1")
        with Tracker(f"rank{rank}", sensors=[FakeSensor(30.0 + rank)], ledger=ledger,
                     job=job) as run:
            pass
        parts.append(run.result.run_id)
    _record(ledger, 1, devices=1, duration_s=60)  # another run: not named, not pushed
    proc = wp(tmp_path, "push", "torch:push-test", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("2 pushed"), proc.stdout
    assert _ids_on(server, token) == sorted(parts)
    for run_id in parts:
        assert server.run(run_id, token)["job"] == "torch:push-test"
        _assert_same(ledger, server, token, run_id)


def test_push_from_python(server, tmp_path) -> None:
    from wattprint.push import Target, push

    token = server.token("python")
    path = str(tmp_path / "ledger.db")
    ids = _record(path, 2, devices=1, duration_s=60)
    target = Target(server.url, token)
    assert token not in repr(target)
    with Ledger(path) as ledger:
        report = push(ledger, target=target)
        assert report.ok and sorted(report.pushed) == sorted(ids) and report.failed == []
        again = push(ledger, ids, target=target)
        assert again.ok and again.pushed == [] and sorted(again.already) == sorted(ids)
        assert ledger.waiting(server.url) == []
    with Ledger(path) as ledger:
        bad = push(ledger, target=Target(server.url, "wpt_wrong-token-123"), everything=True)
    assert not bad.ok and bad.stopped is not None and bad.stopped.reason == "token"
    assert bad.not_tried == 2 and bad.stopped.status == 401
    assert _ids_on(server, token) == sorted(ids)


@pytest.mark.parametrize("where", ["project", "user"])
def test_server_and_token_from_a_config_file_push_runs(server, tmp_path, where) -> None:
    """No WATTPRINT_SERVER / WATTPRINT_TOKEN: the ``server`` and ``token`` keys of the
    project's wattprint.toml, or of the user file docs/push.md recommends, are enough for
    the automatic push after ``wattprint run`` and for ``wattprint push``."""
    token = server.token(f"file-{where}")
    env = cli_env(tmp_path)
    assert not any(k in env for k in ("WATTPRINT_SERVER", "WATTPRINT_TOKEN"))
    path = (tmp_path / "wattprint.toml" if where == "project"
            else tmp_path / "config" / "wattprint" / "config.toml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'server = "{server.url}/"\ntoken = "{token}"\n')
    ledger = str(tmp_path / "ledger.db")
    earlier = _record(ledger, 1, devices=1, duration_s=60)
    proc = wp(tmp_path, "run", "-q", "--name", "from-file", "--", sys.executable, "-c", "pass",
              env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # pushed, so nothing to say
    with Ledger(ledger, readonly=True) as led:
        (ran,) = [r.id for r in led.runs() if r.name == "from-file"]
    assert ran in _ids_on(server, token)
    _assert_same(ledger, server, token, ran)
    proc = wp(tmp_path, "push", env=env)
    assert proc.returncode == 0, proc.stderr
    assert _ids_on(server, token) == sorted([ran, *earlier])
    _assert_same(ledger, server, token, earlier[0])
    assert token not in proc.stdout + proc.stderr


@pytest.mark.parametrize("key, value, shown", [
    ("server", "team.example:8000", "'team.example:8000'"),
    ("token", "wpt_has spaces in it", "'wpt_… (20 characters)'"),
])
def test_a_bad_server_or_token_in_the_config_file_is_one_line_naming_it(
        server, tmp_path, key, value, shown) -> None:
    token = server.token("bad-file")
    good = {"server": server.url, "token": token}
    path = tmp_path / "wattprint.toml"
    path.write_text("".join(f'{k} = "{value if k == key else v}"\n' for k, v in good.items()))
    env = cli_env(tmp_path)
    _record(str(tmp_path / "ledger.db"), 1, devices=1, duration_s=60)
    for args in (["push"], ["run", "-q", "--", sys.executable, "-c", "pass"]):
        proc = wp(tmp_path, *args, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (args, proc.stderr)
        assert lines[0].startswith(f"wattprint: error: {path}: {key} = {shown} is not valid; "
                                   "expected "), lines[0]
        assert "Traceback" not in proc.stderr
        assert key == "server" or value not in proc.stderr  # a token is never shown
    # the library never stops the program: the block runs, one line says why the run is
    # not recorded (and so not pushed)
    script = ("import wattprint\n"
              "with wattprint.track('lib', ledger=True):\n"
              "    print('trained')\n")
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "trained\n", proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("wattprint: this run is not recorded in the ledger: ") \
        and f"{path}: {key} = {shown} is not valid; expected " in line, line
    assert key == "server" or value not in proc.stderr
    assert _ids_on(server, token) == []


def test_a_refused_token_is_looked_for_where_it_was_set(server, tmp_path) -> None:
    """A token the server refuses: the line names the file (and key) or the flag that set
    it, not a WATTPRINT_TOKEN nobody set."""
    path = tmp_path / "wattprint.toml"
    path.write_text(f'server = "{server.url}"\ntoken = "wpt_wrong-token-12345"\n')
    env = cli_env(tmp_path)
    _record(str(tmp_path / "ledger.db"), 1, devices=1, duration_s=60)
    proc = wp(tmp_path, "push", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        f"wattprint: error: token refused: check `token` in {path}"
    proc = wp(tmp_path, "run", "-q", "--", sys.executable, "-c", "pass", env=env)
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "not pushed" in x]
    assert f"(token refused: check `token` in {path})" in line, proc.stderr
    proc = wp(tmp_path, "push", "--token", "wpt_another-wrong-one", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        "wattprint: error: token refused: check --token"
    assert "wrong" not in proc.stdout + proc.stderr
