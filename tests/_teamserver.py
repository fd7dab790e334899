"""The real team server for client tests: ``wattprint server`` (FastAPI under uvicorn) as a
subprocess on 127.0.0.1 over an SQLite database in a temporary folder (or a database
URL given, e.g. of the throw-away PostgreSQL cluster), its tokens made by
``wattprint server token create``, and its API read with the standard library. A test
can SIGKILL the server (:meth:`TeamServer.kill`) and start it again on the same port
and database (:meth:`TeamServer.start`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

WATTPRINT = [sys.executable, "-m", "wattprint"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class TeamServer:
    """One server: ``url``, ``db`` (its SQLAlchemy URL), ``proc`` while it runs."""

    def __init__(self, folder: Any, port: int | None = None, db: str | None = None) -> None:
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.db = db or f"sqlite:///{os.path.join(self.folder, 'server.db')}"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = os.path.join(self.folder, "server.log")

    def start(self, timeout_s: float = 60.0) -> "TeamServer":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*WATTPRINT, "server", "--db", self.db, "--host", "127.0.0.1",
                 "--port", str(self.port)], env=_env(), stdout=log, stderr=log,
                cwd=self.folder)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: "
                                   f"{open(self.log).read()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer within {timeout_s} s: "
                           f"{open(self.log).read()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def token(self, project: str = "team", *extra: str) -> str:
        proc = subprocess.run([*WATTPRINT, "server", "token", "create", "--project", project,
                               "--db", self.db, *extra], env=_env(), capture_output=True,
                              text=True, timeout=120, cwd=self.folder)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[0]

    def get(self, path: str, token: str) -> Any:
        request = urllib.request.Request(self.url + path,
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    def runs(self, token: str) -> list[dict[str, Any]]:
        """Every run the token sees (all pages)."""
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get("/api/v1/runs?limit=1000"
                            + (f"&cursor={cursor}" if cursor else ""), token)
            out += page["runs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def run(self, run_id: str, token: str) -> dict[str, Any]:
        return self.get(f"/api/v1/runs/{run_id}", token)
