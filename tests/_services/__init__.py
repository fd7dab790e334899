"""Real distributed engines for tests, started and stopped by the tests themselves:
a throw-away Slurm cluster (one node, or two slurmd "nodes" on this host), a local Ray
head on loopback only, and torchrun with gloo on CPU.

A missing engine fails the test with the command that installs it (never a skip).
The pytest fixtures built on these live in ``tests/conftest.py``; facts about what each
engine gives its ranks are in ``docs/distributed-engines.md``."""

from ._proc import ServiceError, clean_env
from .ray_local import RayCluster, start_ray
from .slurm import BatchJob, SlurmCluster, start_slurm
from .torchrun import torchrun, torchrun_argv

__all__ = ["BatchJob", "RayCluster", "ServiceError", "SlurmCluster", "clean_env",
           "start_ray", "start_slurm", "torchrun", "torchrun_argv"]
