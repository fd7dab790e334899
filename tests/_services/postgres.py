"""A throw-away PostgreSQL cluster for the team server's tests: ``initdb`` in a temporary
folder (as the ``postgres`` user when the tests run as root: initdb and pg_ctl refuse
root), listening on 127.0.0.1 and a free port only, trust authentication, fsync off;
stopped by ``pg_ctl stop`` (and by a watchdog if the test process dies first).
Each test gets a database of its own (:meth:`PostgresCluster.new_database`)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ._proc import ServiceError, free_port, tail, watch

__all__ = ["PostgresCluster", "start_postgres", "APT_POSTGRES"]

APT_POSTGRES = "apt-get install -y postgresql"


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        import pytest

        pytest.fail(f"PostgreSQL is not installed; install it with `{APT_POSTGRES}` "
                    "(.ci/run does this on CI)", pytrace=False)
    return os.path.dirname(initdb)


@dataclass
class PostgresCluster:
    folder: Path
    port: int
    bindir: str
    as_user: list[str]
    start_s: float
    _count: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        import psycopg

        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D",
                        str(self.folder / "data"), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    """Start a cluster in a new folder under the system temporary folder (pytest's own
    folders are private to root, where the ``postgres`` user cannot reach)."""
    t0 = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="wattprint-pg-"))
    bindir = _bindir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data, log = folder / "data", folder / "log"
    init = subprocess.run([*as_user, f"{bindir}/initdb", "-D", str(data), "-A", "trust",
                           "-U", "postgres", "--no-sync"], capture_output=True, text=True,
                          timeout=120)
    if init.returncode:
        raise ServiceError(f"initdb failed: {init.stderr[-2000:]}")
    start = subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-l", str(log),
                            "-w", "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 "
                            "-c fsync=off -c full_page_writes=off", "start"],
                           capture_output=True, text=True, timeout=120)
    if start.returncode:
        raise ServiceError(f"pg_ctl start failed: {start.stderr[-2000:]}\n{tail(log)}")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    watch(pid)
    return PostgresCluster(folder, port, bindir, as_user, time.monotonic() - t0)
