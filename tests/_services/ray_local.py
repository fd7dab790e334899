"""A local Ray head for tests, inside a network namespace that has only the loopback
interface (``netns.LoopbackNamespace``), so no Ray process can listen on or send to
anything outside it.

Ray picks the machine's own interface even when told ``--node-ip-address=127.0.0.1``
(it probes 8.8.8.8, then resolves the host name); in the namespace the probe fails at
once and the host name's addresses, put on the namespace's ``lo``, are all it can use.
The head and every driver enter the namespace with ``nsenter``. Stopping kills every
process in the namespace, by PID, and nothing else (never ``ray stop``, which kills Ray
processes machine-wide by name)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

from ._proc import PIP_RAY, ServiceError, clean_env, require
from .netns import LoopbackNamespace

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
                             f"--num-cpus={self.num_cpus}",
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

    def interfaces(self) -> dict[str, list[str]]:
        """The namespace's network interfaces and their addresses (only ``lo``)."""
        found: dict[str, list[str]] = {}
        for line in self.run(["ip", "-o", "link"], timeout=10).stdout.splitlines():
            found[line.split(":")[1].strip().split("@")[0]] = []
        for line in self.run(["ip", "-o", "addr"], timeout=10).stdout.splitlines():
            parts = line.split()
            found.setdefault(parts[1], []).append(parts[3].split("/")[0])
        return found

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
