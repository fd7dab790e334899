"""A throw-away Slurm cluster on this machine: munged, slurmctld and one slurmd per node,
all in a temporary folder, talking over 127.0.0.1 only, as root.

One node (``NodeName=localhost``) or several "nodes" on one host (``n1``, ``n2``: one
slurmd each, on its own port), so ``srun -N 2 -n 2`` runs a real two-node job. Every
daemon runs in the foreground as our child and is stopped by its PID."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ._proc import APT_SLURM, Daemon, ServiceError, clean_env, free_port, require, tail, wait_for

_CONF = """\
ClusterName={name}
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/msock/munge.sock
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=5
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd-%n.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd-%n.log
{nodes}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

#: Job states in which a job has not ended yet (``scontrol show job``).
_LIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                "RESIZING", "SIGNALING", "STAGE_OUT"}


@dataclass(frozen=True)
class BatchJob:
    """An ended batch job: its id, final state (``COMPLETED``, ``FAILED``…), exit status
    and terminating signal of the script, its output file's text, and every field of
    ``scontrol show job``."""

    job_id: str
    state: str
    exit_code: int
    signal: int
    output: str
    fields: dict[str, str]


class SlurmCluster:
    """A running cluster. ``env`` has ``SLURM_CONF`` (every Slurm command needs it);
    ``run`` runs a command against the cluster; ``sbatch`` submits and waits."""

    def __init__(self, root: Path, nodes: Sequence[str], cpus_per_node: int) -> None:
        for prog in ("munged", "mungekey", "slurmctld", "slurmd", "srun", "sbatch", "sinfo"):
            require(prog, APT_SLURM)
        self.root, self.nodes, self.cpus_per_node = Path(root), list(nodes), cpus_per_node
        #: Each test cluster has its own name: job ids restart at 1 in every cluster, so
        #: only (SLURM_CLUSTER_NAME, SLURM_JOB_ID) names a job.
        self.name = "wp" + secrets.token_hex(3)
        self.conf = self.root / "slurm.conf"
        self.env: dict[str, str] = {"SLURM_CONF": str(self.conf)}
        self.daemons: list[Daemon] = []
        self.start_s = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout_s: float = 120) -> SlurmCluster:
        """Start the daemons and wait until every node is idle (no-op if started)."""
        if self.daemons:
            return self
        t0 = time.monotonic()
        r = self.root
        for d in ("munge", "msock", "state", "run", "log", *(f"spool/{n}" for n in self.nodes)):
            (r / d).mkdir(parents=True, exist_ok=True)
        (r / "munge").chmod(0o700)
        (r / "msock").chmod(0o755)  # 700 makes munged refuse: "Socket is inaccessible"
        key = r / "munge" / "munge.key"
        if not key.exists():
            subprocess.run([require("mungekey", APT_SLURM), "--create", f"--keyfile={key}"],
                           check=True, capture_output=True, timeout=30)
        one = self.nodes == ["localhost"]
        lines = []
        for name in self.nodes:
            port = f" Port={free_port()}"
            host = "" if one else " NodeHostname=localhost"
            lines.append(f"NodeName={name}{host} NodeAddr=127.0.0.1{port} "
                         f"CPUs={self.cpus_per_node} State=UNKNOWN")
        self.conf.write_text(_CONF.format(name=self.name, root=r, ctld_port=free_port(),
                                          nodes="\n".join(lines)))
        env = clean_env(self.env)
        try:
            sock = r / "msock" / "munge.sock"
            sock.unlink(missing_ok=True)  # left by an earlier start of this cluster
            munged = self._daemon("munged", [
                require("munged", APT_SLURM), "--foreground", "--force", f"--socket={sock}",
                f"--key-file={key}", f"--pid-file={r}/run/munged.pid",
                f"--log-file={r}/log/munged.log", f"--seed-file={r}/munge/seed"], env)
            wait_for("munged", sock.exists, 60, munged.died)
            ctld = self._daemon("slurmctld", [require("slurmctld", APT_SLURM), "-D", "-i"], env)
            wait_for("slurmctld", lambda: self._ping(), 60, ctld.died)
            for name in self.nodes:
                self._daemon(f"slurmd {name}",
                             [require("slurmd", APT_SLURM), "-D", "-N", name], env)
            wait_for(f"slurm nodes {','.join(self.nodes)} idle", self._all_idle, timeout_s,
                     self._any_died)
        except BaseException:
            self.stop()
            raise
        self.start_s = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Cancel what still runs, then stop the daemons by PID, newest first."""
        if any(d.died() is None for d in self.daemons if d.name == "slurmctld"):
            jobs = self.run(["squeue", "-h", "-o", "%i"], timeout=10).stdout.split()
            if jobs:
                self.run(["scancel", *jobs], timeout=10)
        for d in reversed(self.daemons):
            d.stop()
        self.daemons.clear()

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use -------------------------------------------------------------------------------
    def run(self, argv: Sequence[str], timeout: float = 60, env: Mapping[str, str] | None = None,
            cwd: Path | str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (``srun …``, ``sinfo``, a script) with ``SLURM_CONF`` set and no
        inherited launcher variables; ``env`` is added on top."""
        proc = subprocess.run(list(argv), env=clean_env({**self.env, **(env or {})}),
                              cwd=str(cwd or self.root), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise ServiceError(f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n"
                               f"{proc.stderr}\n{self.logs()}")
        return proc

    def sbatch(self, script: str, *options: str, timeout: float = 120,
               env: Mapping[str, str] | None = None, cwd: Path | str | None = None
               ) -> BatchJob:
        """Submit ``script`` (a batch script's text; ``#!/bin/sh`` is added if it has no
        shebang) with ``options`` and wait until the job has ended."""
        folder = Path(cwd or self.root)
        path = folder / f"job-{time.monotonic_ns()}.sh"
        path.write_text(script if script.startswith("#!") else "#!/bin/sh\n" + script)
        out = path.with_suffix(".out")
        sub = self.run(["sbatch", "--parsable", f"--output={out}", *options, str(path)],
                       timeout=30, env=env, cwd=folder, check=True)
        job_id = sub.stdout.strip().split(";")[0]
        fields: dict[str, str] = {}

        def ended() -> bool:  # sbatch --wait polls every 10 s; scontrol answers at once
            line = self.run(["scontrol", "-o", "show", "job", job_id], timeout=10).stdout
            fields.update(re.findall(r"(\w+)=(\S*)", line))
            return fields.get("JobState", "PENDING") not in _LIVE_STATES

        wait_for(f"batch job {job_id}", ended, timeout, self._any_died, every_s=0.2)
        code = fields.get("ExitCode", "0:0").split(":")
        return BatchJob(job_id, fields["JobState"], int(code[0]), int(code[1]),
                        out.read_text() if out.exists() else "", fields)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{tail(p)}"
                         for p in sorted((self.root / "log").glob("*.log")))

    # -- readiness -------------------------------------------------------------------------
    def _daemon(self, name: str, argv: list[str], env: dict[str, str]) -> Daemon:
        log = self.root / "log" / (name.replace(" ", "-") + ".out")
        d = Daemon(name, argv, log, env)
        self.daemons.append(d)
        return d

    def _ping(self) -> bool:
        return self.run(["scontrol", "ping"], timeout=10).stdout.count("UP") > 0

    def _all_idle(self) -> bool:
        proc = self.run(["sinfo", "-h", "-N", "-o", "%N %t"], timeout=10)
        states = dict(ln.split() for ln in proc.stdout.splitlines() if ln.strip())
        return all(states.get(n) == "idle" for n in self.nodes)

    def _any_died(self) -> str | None:
        for d in self.daemons:
            why = d.died()
            if why:
                return why + "\n" + self.logs()
        return None


def start_slurm(root: Path, nodes: Sequence[str] = ("localhost",), cpus_per_node: int = 4,
                timeout_s: float = 120) -> SlurmCluster:
    """Start a cluster in ``root`` with ``nodes`` (``["localhost"]``, or ``["n1", "n2"]``:
    several slurmd daemons on this host). ``cpus_per_node`` is declared, not measured
    (``SlurmdParameters=config_overrides``), so jobs may oversubscribe a small machine.

    Ports are picked free just before the daemons bind them; if another program takes one
    in between, the start is retried once with new ports."""
    cluster = SlurmCluster(root, nodes, cpus_per_node)
    try:
        return cluster.start(timeout_s)
    except ServiceError as first:
        print(f"slurm: first start failed, retrying with new ports:\n{first}")
        return cluster.start(timeout_s)
