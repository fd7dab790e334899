"""``wattprint server`` as a real subprocess: tokens made with the CLI, the server
answering on a free port, a run pushed over HTTP and read back; the default database
place; a missing ``[server]`` extra as one line naming the pip command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from _cli import WATTPRINT, assert_clean_error, cli_env, kill_tree, wp
from _report_fixtures import sensorless
from _services._proc import free_port
from wattprint.ledger import Ledger
from wattprint.server._db import default_db_url
from wattprint.wire import run_payloads


def _call(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"} |
                                 ({"Authorization": f"Bearer {token}"} if token else {}))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.slow
def test_server_subprocess_answers_and_takes_a_push(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'team.db'}"
    made = wp(tmp_path, "server", "token", "create", "--project", "vision", "--name", "ci",
              "--db", db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("wpt_") and len(token) > 40 and "not shown again" in made.stderr
    ro = wp(tmp_path, "server", "token", "create", "--project", "vision", "--read-only",
            "--db", db).stdout.strip()
    listed = wp(tmp_path, "server", "token", "list", "--json", "--db", db)
    tokens = json.loads(listed.stdout)
    assert [(t["role"], t["project"], t["revoked"]) for t in tokens] == [
        ("write", "vision", False), ("read", "vision", False)]
    assert token not in listed.stdout  # secrets are never shown again
    port = free_port()
    proc = subprocess.Popen([*WATTPRINT, "server", "--db", db, "--port", str(port)],
                            env=cli_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = _call(base + "/healthz")
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.2)
        assert status == 200 and health["status"] == "ok"
        assert _call(base + "/api/v1/me")[0] == 401
        assert _call(base + "/api/v1/me", token)[1]["project"] == "vision"
        with Ledger(str(tmp_path / "ledger.db")) as led:
            chunks = run_payloads(led, sensorless(led, duration_s=120))
        assert [_call(base + "/api/v1/runs", token, c)[0] for c in chunks] == [201]
        assert _call(base + "/api/v1/runs", ro, chunks[0])[0] == 403
        status, listing = _call(base + "/api/v1/runs", ro)
        assert status == 200 and [r["name"] for r in listing["runs"]] == ["cpu baseline"]
        revoked = wp(tmp_path, "server", "token", "revoke", tokens[1]["prefix"], "--db", db)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert _call(base + "/api/v1/runs", ro)[0] == 401
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait()
    assert "wattprint server on http://127.0.0.1:" in proc.stderr.read()


def test_token_errors_are_one_line(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'team.db'}"
    assert_clean_error(wp(tmp_path, "server", "token", "create", "--db", db),
                       "--project")
    assert_clean_error(wp(tmp_path, "server", "token", "create", "--admin", "--project",
                          "x", "--db", db), "every project")
    assert_clean_error(wp(tmp_path, "server", "token", "create", "--project", " bad/name",
                          "--db", db), "not a valid project name")
    assert_clean_error(wp(tmp_path, "server", "token", "revoke", "wpt_nothere", "--db", db),
                       "no token 'wpt_nothere'")
    assert_clean_error(wp(tmp_path, "server", "--port", "70000", "--db", db), "--port 70000")


@pytest.mark.parametrize("url, needle", [
    ("nonsense", "the database URL 'nonsense' is not one the server can use"),
    ("mysql://u@h/db", "it supports SQLite and PostgreSQL"),
    ("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x",
     "cannot use the database postgresql+psycopg://nobody:***@127.0.0.1:1/x"),
])
def test_a_database_that_cannot_be_used_is_one_line(tmp_path, url, needle) -> None:
    proc = wp(tmp_path, "server", "migrate", "--db", url)
    assert_clean_error(proc, needle)
    assert "hunter2" not in proc.stderr


def test_migrate_reports_the_revision(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'sub' / 'team.db'}"
    proc = wp(tmp_path, "server", "migrate", "--db", db)
    assert proc.returncode == 0, proc.stderr
    assert "schema revision 0003" in proc.stdout
    assert (tmp_path / "sub" / "team.db").exists()


def test_default_database_is_a_sqlite_file_beside_the_ledger(tmp_path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert default_db_url(env) == f"sqlite:///{tmp_path / 'data' / 'wattprint' / 'server.db'}"
    url = "postgresql+psycopg://wp@db.example/wattprint"
    assert default_db_url(env | {"WATTPRINT_SERVER_DB": url}) == url
    made = wp(tmp_path, "server", "token", "create", "--admin")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "data" / "wattprint" / "server.db").exists()


def test_missing_extra_names_the_pip_command(tmp_path) -> None:
    code = ("import sys; sys.modules['fastapi'] = None\n"
            "from wattprint.cli import main\n"
            "sys.exit(main(['server', 'token', 'list']))")
    proc = subprocess.run([sys.executable, "-c", code], env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert_clean_error(proc, "pip install 'wattprint[server]'")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_importing_wattprint_never_loads_the_server_libraries(tmp_path) -> None:
    code = ("import sys, wattprint, wattprint.wire, wattprint.server, wattprint.cli; "
            "heavy = {'fastapi', 'sqlalchemy', 'alembic', 'uvicorn', 'psycopg'} & "
            "set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, env=cli_env(tmp_path),
                   timeout=60)


def test_tokens_made_by_the_cli_on_postgresql_open_the_api(tmp_path, postgres_cluster) -> None:
    from fastapi.testclient import TestClient

    from wattprint.server import create_app

    url = postgres_cluster.new_database()
    made = wp(tmp_path, "server", "token", "create", "--project", "nlp", "--db", url)
    assert made.returncode == 0, made.stderr
    env = cli_env(tmp_path, WATTPRINT_SERVER_DB=url)  # the variable instead of --db
    listed = json.loads(wp(tmp_path, "server", "token", "list", "--json", env=env).stdout)
    assert [(t["project"], t["role"]) for t in listed] == [("nlp", "write")]
    client = TestClient(create_app(url))
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {made.stdout.strip()}"})
    assert me.status_code == 200 and me.json()["project"] == "nlp"
