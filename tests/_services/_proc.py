"""Shared plumbing for the real-service fixtures: finding the programs (failing with the
command that installs them), free loopback ports, an environment with no inherited
engine variables, and foreground daemons that log to a file and are stopped by PID."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pytest

#: How .ci/run installs each service on Debian (named in every "not installed" failure).
APT_SLURM = "apt-get install -y slurmctld slurmd slurm-client munge"
PIP_RAY = "pip install -e '.[test,integrations,ray]'"
APT_NETNS = "apt-get install -y util-linux iproute2"

#: Variables a launcher sets for its ranks. Stripped from every environment a fixture
#: builds so a test started inside Slurm, torchrun or Ray sees only the engine it starts.
_ENGINE_PREFIXES = ("SLURM_", "SLURMD_", "TORCHELASTIC_", "PET_", "RAY_", "OMPI_", "PMI_",
                    "PMIX_", "MPI_LOCALRANKID", "ACCELERATE_")
_ENGINE_NAMES = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                 "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME",
                 "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCH_NCCL_ASYNC_ERROR_HANDLING",
                 "PL_GLOBAL_SEED", "PL_TRAINER_GPUS"}


class ServiceError(RuntimeError):
    """A service did not start or stop; the message carries its log."""


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without launcher variables, gloo kept on loopback, plus ``extra``
    (pass only what to add: a whole copied environment would bring the variables back)."""
    env = {k: v for k, v in os.environ.items()
           if k not in _ENGINE_NAMES and not k.startswith(_ENGINE_PREFIXES)}
    env.update(GLOO_SOCKET_IFNAME="lo", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def require(program: str, install: str) -> str:
    """The path of ``program``, or fail the test naming the command that installs it.

    Missing services fail rather than skip: a skipped test would hide a missing feature."""
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/sbin/{program}") if os.access(p, os.X_OK)),
        None)
    if path is None:
        pytest.fail(f"{program} is not installed; install it with `{install}` "
                    "(.ci/run does this on CI)", pytrace=False)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, ready: Callable[[], bool], timeout_s: float,
             alive: Callable[[], str | None] = lambda: None, every_s: float = 0.1) -> float:
    """Poll ``ready`` until true; raise ``ServiceError`` after ``timeout_s`` or as soon as
    ``alive`` returns a reason (a daemon died). Returns the seconds waited."""
    t0 = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - t0
        dead = alive()
        if dead:
            raise ServiceError(f"{what}: {dead}")
        if time.monotonic() - t0 > timeout_s:
            raise ServiceError(f"{what}: not ready after {timeout_s:.0f} s\n{alive() or ''}")
        time.sleep(every_s)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


_WATCHDOG = r"""
parent=$1 target=$2 netns=$3
while kill -0 "$parent" 2>/dev/null; do
    kill -0 "$target" 2>/dev/null || exit 0
    sleep 1
done
for sig in TERM KILL; do
    kill -"$sig" "$target" 2>/dev/null
    if [ -n "$netns" ]; then
        for d in /proc/[0-9]*; do
            [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$netns" ] &&
                kill -"$sig" "${d#/proc/}" 2>/dev/null
        done
    fi
    sleep 3
done
"""


def watch(target_pid: int, netns: str = "") -> None:
    """Stop ``target_pid`` (and every process in ``netns``, a ``net:[inode]`` link) if
    this process dies without stopping it, e.g. a pytest killed by a timeout. A small
    ``sh`` loop in its own session checks once a second; it ends with its target.
    (``die_with_parent`` does the same where the kernel honours it; gVisor does not.)"""
    subprocess.Popen(["sh", "-c", _WATCHDOG, "watchdog", str(os.getpid()), str(target_pid),
                      netns], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the test process dies, even by SIGKILL,
    so no daemon outlives a killed pytest (Linux ``PR_SET_PDEATHSIG``; gVisor accepts the
    call but does not send the signal)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Daemon:
    """A service run in the foreground as our child, its output in ``log``; stopped by PID."""

    def __init__(self, name: str, argv: Sequence[str], log: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.name, self.argv, self.log = name, list(argv), log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=dict(env or os.environ),
                                         start_new_session=True, preexec_fn=die_with_parent)
        watch(self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def died(self) -> str | None:
        """Why the daemon is no longer running (its exit status and log), or None."""
        rc = self.proc.poll()
        if rc is None:
            return None
        return (f"{self.name} exited with status {rc}; command: {' '.join(self.argv)}\n"
                f"--- {self.log} ---\n{tail(self.log)}")

    def stop(self, timeout_s: float = 10) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
