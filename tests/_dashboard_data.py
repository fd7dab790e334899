"""A team server and a small fleet for the dashboard tests (and for
``scripts/dashboard_screenshots.py``): ``wattprint server`` started as a subprocess on
127.0.0.1 over SQLite in a folder, with tokens made by ``wattprint server token create``;
real runs recorded in a local ledger with the
testing fakes (through ``_report_fixtures.record_run``), turned into ``wattprint.run/1``
payloads by :func:`wattprint.wire.run_payloads` and POSTed to a running team server as
several machines of two projects would push them. The host of each payload is set to the
machine it stands for (one ledger here plays every node)."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from _report_fixtures import CPU_MODEL_PROV, GPU_PROV, RAM_MODEL_PROV, gpu_power, record_run
from wattprint.ledger import Ledger
from wattprint.wire import payload_digest, run_payloads

#: A run name a hostile user could choose: must show as text, never run.
HOSTILE_NAME = '<img src=x onerror=alert(1)><script>alert(2)</script>"\'&amp;'
HOSTILE_TAG = "<b>bold</b>"

A100 = ("NVIDIA A100-SXM4-80GB", "nvml")
H100 = ("NVIDIA H100 80GB HBM3", "nvml")


@dataclass
class Fleet:
    """What was pushed: per project the run ids with the hosts, users, tags and statuses
    the filters will be checked against."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> payload run

    def of(self, **match: Any) -> list[str]:
        return [rid for rid, r in self.runs.items()
                if all((v in r["tags"]) if k == "tag" else r.get(k) == v
                       for k, v in match.items())]


@dataclass
class TeamServer:
    """A running ``wattprint server``: its URL, tokens by name and process."""

    base: str
    tokens: dict[str, str]
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wattprint(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "wattprint", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"wattprint {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def _token(env: dict[str, str], *args: str) -> str:
    out = _wattprint(env, "server", "token", "create", *args)
    match = re.search(r"\bwpt_[A-Za-z0-9_-]+", out)
    if not match:
        raise RuntimeError(f"no token in the output of token create: {out!r}")
    return match.group(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_team_server(folder: Path, db: str | None = None,
                      timeout_s: float = 60) -> TeamServer:
    """``wattprint server`` over ``db`` (default: SQLite in ``folder/server.db``) with
    tokens ``vision``, ``nlp`` (write), ``reader`` (vision, read-only), ``idle`` (a
    project without runs, read-only) and ``admin``; returns once /healthz answers."""
    db = db or f"sqlite:///{folder / 'server.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(WATTPRINT_SERVER_DB=db, XDG_CONFIG_HOME=str(folder / "config"),
               XDG_DATA_HOME=str(folder / "data"), XDG_STATE_HOME=str(folder / "state"),
               WATTPRINT_LEDGER=str(folder / "cli-ledger.db"), PYTHONUNBUFFERED="1")
    tokens = {"vision": _token(env, "--project", "vision"),
              "nlp": _token(env, "--project", "nlp"),
              "reader": _token(env, "--project", "vision", "--read-only"),
              "idle": _token(env, "--project", "idle", "--read-only"),
              "admin": _token(env, "--admin")}
    port = _free_port()
    log = folder / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "wattprint", "server", "--db", db,
                                 "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    server = TeamServer(f"http://127.0.0.1:{port}", tokens, proc, log)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=2):
                return server
        except OSError:  # refused, reset, or a read that timed out on a loaded machine
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("the server did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)


def post(base_url: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"{base_url}/api/v1/runs", method="POST",
                                 data=json.dumps(payload).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status in (200, 201), resp.status
        return json.loads(resp.read())


def _gpu_run(ledger: Ledger, *, name: str, gpu: tuple[str, str], watts: float,
             started: datetime, duration_s: float, seed: int, tags: tuple[str, ...],
             status: str = "finished") -> str:
    model = gpu[0]
    devices = [("nvml:0", "gpu", "measured", model, GPU_PROV),
               ("nvml:1", "gpu", "measured", model, GPU_PROV),
               ("ram-model", "ram", "modelled", "memory in use (modelled)", RAM_MODEL_PROV)]
    power = [gpu_power(watts, seed, eval_every=600, eval_len=60),
             gpu_power(watts * 0.96, seed + 7, eval_every=600, eval_len=60), lambda t: 12.0]
    return record_run(ledger, name=name, devices=devices, power=power, duration_s=duration_s,
                      every_s=10.0, started_at=started.isoformat(timespec="milliseconds"),
                      zone="DE", phases=[("warmup", 0, 120), ("train", 120, duration_s)],
                      tokens=duration_s * 4000, tags=tags, seed=seed, status=status,
                      end_reason=None if status == "finished" else "stopped by signal")


def _cpu_run(ledger: Ledger, *, name: str, started: datetime, duration_s: float, seed: int,
             tags: tuple[str, ...]) -> str:
    devices = [("cpu-model", "cpu", "modelled", "AMD EPYC (8 vCPU, modelled)", CPU_MODEL_PROV),
               ("ram-model", "ram", "modelled", "memory in use (modelled)", RAM_MODEL_PROV)]
    return record_run(ledger, name=name, devices=devices,
                      power=[lambda t: 40.0 + 5 * math.sin(t / 60), lambda t: 3.0],
                      duration_s=duration_s, every_s=10.0, zone="FR",
                      started_at=started.isoformat(timespec="milliseconds"),
                      tokens=duration_s * 100, tags=tags, seed=seed)


def build_and_push(ledger_path: str, base_url: str, tokens: dict[str, str],
                   now: datetime | None = None) -> Fleet:
    """Record the fleet's runs and push them: project ``vision`` (tokens["vision"]):
    30 GPU runs over 6 weeks on gpu-node-1/2 by alice and bob, two of them stopped, one
    with the hostile name; project ``nlp`` (tokens["nlp"]): 6 runs, CPU-only (modelled)
    and H100, by carol on cpu-box and h100-node."""
    now = now or datetime.now(timezone.utc)
    fleet = Fleet()
    plan: list[tuple[str, str, str, dict[str, Any]]] = []  # project, host, user, kwargs
    with Ledger(ledger_path) as ledger:
        for i in range(30):
            started = now - timedelta(days=2 + i * 1.4, hours=i % 5)
            status = "stopped" if i in (4, 17) else "finished"
            name = HOSTILE_NAME if i == 7 else f"resnet50 sweep lr{i:02d}"
            tags = (("sweep", HOSTILE_TAG) if i == 7 else ("sweep",) if i % 3
                    else ("sweep", "baseline"))
            rid = _gpu_run(ledger, name=name, gpu=A100, watts=180 + 9 * i, started=started,
                           duration_s=1200 + 60 * i, seed=i, tags=tags, status=status)
            plan.append(("vision", f"gpu-node-{1 + i % 2}", "alice" if i % 4 else "bob",
                         {"id": rid}))
        for i in range(3):
            rid = _cpu_run(ledger, name=f"tokenizer build {i}", seed=100 + i,
                           started=now - timedelta(days=3 + 9 * i), duration_s=900,
                           tags=("preprocessing",))
            plan.append(("nlp", "cpu-box", "carol", {"id": rid}))
        for i in range(3):
            rid = _gpu_run(ledger, name=f"llama finetune {i}", gpu=H100, watts=520,
                           started=now - timedelta(days=5 + 10 * i), duration_s=3600,
                           seed=200 + i, tags=("finetune",))
            plan.append(("nlp", "h100-node", "carol", {"id": rid}))
        for project, host, user, kw in plan:
            payloads = run_payloads(ledger, kw["id"], user=user, max_points_per_device=200)
            payloads[0]["run"]["host"] = host  # the machine this run stands for
            digest = payload_digest(payloads)
            for payload in payloads:
                payload["digest"] = digest
                post(base_url, tokens[project], payload)
            fleet.runs[kw["id"]] = {**payloads[0]["run"], "project": project}
    return fleet
