"""A local Ray head for tests, inside a network namespace that has only the loopback
interface, so no Ray process can listen on or send to anything but 127.0.0.1.

Ray picks the machine's own interface even when told ``--node-ip-address=127.0.0.1``
(and probes 8.8.8.8 to find it); in a namespace with only ``lo`` it finds nothing else
and uses 127.0.0.1. A ``sleep`` process holds the namespace; the head and every script
enter it with ``nsenter``. Stopping kills every process in that namespace, by PID, and
nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

from ._proc import APT_NETNS, PIP_RAY, ServiceError, clean_env, require, wait_for

#: The GCS port inside the namespace: the namespace is private, so no clash is possible.
GCS_PORT = 6379


def _ray_cli() -> str:
    try:
        import ray  # noqa: F401
    except ImportError:
        import pytest
        pytest.fail(f"ray is not installed; install it with `{PIP_RAY}` (.ci/run does this "
                    "on CI)", pytrace=False)
    return require("ray", PIP_RAY)


class LoopbackNamespace:
    """A network namespace with only ``lo`` (up), held open by a ``sleep`` process."""

    def __init__(self) -> None:
        unshare, self.nsenter = require("unshare", APT_NETNS), require("nsenter", APT_NETNS)
        ip = require("ip", APT_NETNS)
        user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
        self.user = user[:1]
        self.holder = subprocess.Popen(
            [unshare, *user, "--net", "--", "sh", "-c",
             f"{ip} link set lo up && echo up && exec sleep 86400"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.holder.stdout.readline().strip() if self.holder.stdout else ""
        if line != "up":
            err = self.holder.stderr.read() if self.holder.stderr else ""
            self.holder.kill()
            raise ServiceError(f"could not create a loopback-only network namespace with "
                               f"`unshare --net` (needs root or user namespaces): {err}")
        self.inode = os.readlink(f"/proc/{self.holder.pid}/ns/net")

    def prefix(self) -> list[str]:
        """The argv prefix that runs a command inside the namespace."""
        extra = ["--user", "--preserve-credentials"] if self.user else []
        return [self.nsenter, f"--target={self.holder.pid}", *extra, "--net", "--"]

    def pids(self) -> list[int]:
        """Every process in the namespace (the holder included)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink(f"/proc/{entry}/ns/net") == self.inode:
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def close(self, timeout_s: float = 3) -> None:
        """SIGTERM every process in the namespace, SIGKILL what is left after
        ``timeout_s`` (gcs_server and raylet often ignore SIGTERM); the namespace
        disappears with its last process."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                wait_for("ray namespace empty", lambda: not self.pids(), timeout_s)
                break
            except ServiceError:
                continue
        self.holder.wait(timeout_s)


class RayCluster:
    """A Ray head in a loopback-only namespace. ``address`` is ``127.0.0.1:6379``, valid
    only inside the namespace; ``run``/``run_python`` run there with ``RAY_ADDRESS`` set,
    so a script's plain ``ray.init()`` joins this cluster.

    Ray workers inherit the environment of the head (this process's, when it started),
    not the driver's: pass per-test variables with
    ``ray.init(runtime_env={"env_vars": {...}})``."""

    def __init__(self, num_cpus: int = 4) -> None:
        self.ray = _ray_cli()
        self.num_cpus = num_cpus
        self.address = f"127.0.0.1:{GCS_PORT}"
        self.env = {"RAY_ADDRESS": self.address, "RAY_DEDUP_LOGS": "0",
                    "RAY_USAGE_STATS_ENABLED": "0",
                    "RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS": "0"}
        self.temp_dir = Path(tempfile.mkdtemp(prefix="wpray", dir="/tmp"))  # short: sockets
        self.netns: LoopbackNamespace | None = None
        self.start_s = 0.0

    def start(self, timeout_s: float = 180) -> RayCluster:
        """Create the namespace and start the head in it (no-op if started)."""
        if self.netns is not None:
            return self
        t0 = time.monotonic()
        self.netns = LoopbackNamespace()
        try:
            proc = self.run([self.ray, "start", "--head", f"--port={GCS_PORT}",
                             "--node-ip-address=127.0.0.1", f"--num-cpus={self.num_cpus}",
                             "--num-gpus=0", f"--temp-dir={self.temp_dir}",
                             "--object-store-memory=200000000", "--include-dashboard=false",
                             "--disable-usage-stats"], timeout=timeout_s)
            if proc.returncode != 0:
                raise ServiceError(f"ray start --head exited {proc.returncode}\n"
                                   f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        except BaseException:
            self.stop()
            raise
        self.start_s = time.monotonic() - t0
        return self

    def run(self, argv: Sequence[str], timeout: float = 120,
            env: Mapping[str, str] | None = None, cwd: Path | str | None = None
            ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace with ``RAY_ADDRESS`` set (plus ``env``)."""
        assert self.netns is not None, "cluster not started"
        return subprocess.run([*self.netns.prefix(), *argv],
                              env=clean_env({**self.env, **(env or {})}),
                              cwd=str(cwd or self.temp_dir), capture_output=True, text=True,
                              timeout=timeout)

    def run_python(self, script: str | Path, *args: str, timeout: float = 180,
                   env: Mapping[str, str] | None = None, cwd: Path | str | None = None
                   ) -> subprocess.CompletedProcess[str]:
        """Run a Python script (a path, or the source text) as a Ray driver."""
        if isinstance(script, str) and "\n" in script:
            path = self.temp_dir / f"driver-{time.monotonic_ns()}.py"
            path.write_text(script)
            script = path
        return self.run([sys.executable, str(script), *args], timeout=timeout, env=env,
                        cwd=cwd)

    def listening(self) -> list[str]:
        """``ss -ltnH`` inside the namespace: every listening TCP socket's local address."""
        out = self.run(["ss", "-ltnH"], timeout=10).stdout
        return [ln.split()[3] for ln in out.splitlines() if ln.strip()]

    def stop(self) -> None:
        if self.netns is not None:
            self.netns.close()
            self.netns = None
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> RayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_ray(num_cpus: int = 4, timeout_s: float = 180) -> RayCluster:
    """Start a local Ray head (logical ``num_cpus``) on loopback only."""
    return RayCluster(num_cpus).start(timeout_s)
