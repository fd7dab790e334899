"""Real distributed engines for tests, started and stopped by the tests themselves:
a throw-away Slurm cluster (one node, or two slurmd "nodes" on this host), a local Ray
head and torchrun ranks (gloo, CPU), both in network namespaces that have only loopback;
a throw-away PostgreSQL cluster for the team server.

A missing engine fails the test with the command that installs it (never a skip).
The pytest fixtures built on these live in ``tests/conftest.py``; facts about what each
engine gives its ranks are in ``docs/distributed-engines.md``."""

from ._proc import ServiceError, clean_env
from .ray_local import RayCluster, start_ray
from .slurm import BatchJob, SlurmCluster, start_slurm
from .netns import LoopbackNamespace
from .postgres import PostgresCluster, start_postgres
from .torchrun import loopback_run, torchrun, torchrun_argv

__all__ = ["BatchJob", "LoopbackNamespace", "PostgresCluster", "start_postgres", "RayCluster", "ServiceError", "SlurmCluster",
           "clean_env", "loopback_run", "start_ray", "start_slurm", "torchrun",
           "torchrun_argv"]
