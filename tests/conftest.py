"""Session fixtures for the real distributed engines (see ``_services``). A test that uses
one is marked ``services`` and ``slow`` automatically; the start-up time of each service
is printed at the end of the run.

Every test gets its own ``$XDG_STATE_HOME``: runs that a ledger could not take are saved
there as pending run files when the ledger's own folder cannot be written, so no test
writes to the real home folder or sees another test's files."""

from __future__ import annotations

from typing import Iterator

import pytest

from _services import (PostgresCluster, RayCluster, SlurmCluster, start_postgres, start_ray,
                       start_slurm)

SERVICE_FIXTURES = {"slurm_cluster", "slurm_two_nodes", "ray_cluster", "postgres_cluster"}
_started: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


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
