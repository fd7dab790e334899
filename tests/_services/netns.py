"""A network namespace with only the loopback interface, for test processes that must
not reach (or be reached on) any other address: a Ray head, torchrun ranks.

The host name's own addresses are put on the namespace's ``lo`` as well. Launchers
resolve the host name and connect to it (torchrun's agent store does; so does Ray's
driver): on most machines it is 127.0.0.1 or 127.0.1.1, but in a container /etc/hosts
maps it to the container's address, which, absent from the namespace, made them wait
forever. On ``lo`` of a namespace with no other interface it is still loopback.

A ``sleep`` process holds the namespace; commands enter it with ``nsenter``; closing
kills every process in it (found by ``/proc/<pid>/ns/net``), by PID, and nothing else."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
from typing import Mapping, Sequence

from ._proc import APT_NETNS, ServiceError, die_with_parent, require, wait_for, watch


def _host_addresses() -> list[str]:
    """The host name's addresses that are not loopback already, as ``ADDR/32`` or
    ``ADDR/128``."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return []
    found = []
    for family, *_, sockaddr in infos:
        addr = ipaddress.ip_address(sockaddr[0].split("%")[0])
        cidr = f"{addr}/{32 if family == socket.AF_INET else 128}"
        if not addr.is_loopback and not addr.is_link_local and cidr not in found:
            found.append(cidr)
    return found


class LoopbackNamespace:
    """A network namespace with only ``lo`` (up), held open by a ``sleep`` process."""

    def __init__(self) -> None:
        unshare, self.nsenter = require("unshare", APT_NETNS), require("nsenter", APT_NETNS)
        ip = require("ip", APT_NETNS)
        user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
        self.user = user[:1]
        setup = [f"{ip} link set lo up"] + [f"{ip} addr add {a} dev lo" for a in _host_addresses()]
        self.holder = subprocess.Popen(
            [unshare, *user, "--net", "--", "sh", "-c",
             " && ".join(setup) + " && echo up && exec sleep 86400"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, preexec_fn=die_with_parent)
        line = self.holder.stdout.readline().strip() if self.holder.stdout else ""
        if line != "up":
            err = self.holder.stderr.read() if self.holder.stderr else ""
            self.holder.kill()
            raise ServiceError(f"could not create a loopback-only network namespace with "
                               f"`unshare --net` (needs root or user namespaces): {err}")
        self.inode = os.readlink(f"/proc/{self.holder.pid}/ns/net")
        watch(self.holder.pid, self.inode)

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

    def run(self, argv: Sequence[str], env: Mapping[str, str], timeout: float,
            cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace and return the finished process."""
        return subprocess.run([*self.prefix(), *argv], env=dict(env), cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)

    def __enter__(self) -> LoopbackNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
