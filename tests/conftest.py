"""Session fixtures for the real distributed engines (see ``_services``). A test that uses
one is marked ``services`` and ``slow`` automatically; the start-up time of each service
is printed at the end of the run.

Every test gets its own ``$XDG_STATE_HOME``: runs that a ledger could not take are saved
there as pending run files when the ledger's own folder cannot be written, so no test
writes to the real home folder or sees another test's files. Every test starts without
the variables that hide GPUs (``CUDA_VISIBLE_DEVICES``…), whoever set them before."""

from __future__ import annotations

import os
import warnings
from typing import Iterator

import pytest

from _services import (PostgresCluster, RayCluster, SlurmCluster, start_postgres, start_ray,
                       start_slurm)

SERVICE_FIXTURES = {"slurm_cluster", "slurm_two_nodes", "ray_cluster", "postgres_cluster"}
_started: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


#: Variables that choose which GPUs a process sees. Every test sees all of its fake GPUs:
#: none of these comes from the machine (a GPU runner or container sets them) or from an
#: earlier test or library (Ray sets CUDA_VISIBLE_DEVICES="" in processes given no GPU).
GPU_VISIBILITY = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
                  "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "CUDA_DEVICE_ORDER")


_last_test: list[str] = []


@pytest.fixture(autouse=True)
def _all_gpus_visible(request) -> None:
    """Before each test: none of :data:`GPU_VISIBILITY` is set (a test that wants one sets
    it with ``monkeypatch``). One left by the previous test (or a library it ran) is
    removed and named in a warning, so no test depends on the order the suite ran in."""
    left = {name: os.environ.pop(name) for name in GPU_VISIBILITY if name in os.environ}
    if left and _last_test:
        warnings.warn(f"{_last_test[0]} left {left} in the environment (removed before "
                      f"{request.node.nodeid})", pytest.PytestWarning, stacklevel=1)
    _last_test[:] = [request.node.nodeid]


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """munged + slurmctld + one slurmd (``NodeName=localhost``, 4 CPUs declared)."""
    cluster = start_slurm(tmp_path_factory.mktemp("slurm"), nodes=["localhost"])
    _started["slurm_cluster"] = cluster.start_s
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def slurm_two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """Two slurmd "nodes", ``n1`` and ``n2`` (2 CPUs each), on this one host."""
    cluster = start_slurm(tmp_path_factory.mktemp("slurm2"), nodes=["n1", "n2"],
                          cpus_per_node=2)
    _started["slurm_two_nodes"] = cluster.start_s
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A Ray head (4 logical CPUs) in a network namespace with only loopback."""
    cluster = start_ray()
    _started["ray_cluster"] = cluster.start_s
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth); ``new_database()``."""
    cluster = start_postgres()
    _started["postgres_cluster"] = cluster.start_s
    yield cluster
    cluster.stop()


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _started:
        terminalreporter.write_line("services started: " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in sorted(_started.items())))
