"""Property-based fuzzing of every endpoint of the team server's ``/openapi.json``
(Schemathesis) with a valid token, over a SQLite database holding real pushed runs: no
500s, every status code, content type and JSON body as the schema documents. Bounded
(a few dozen examples per endpoint) so the suite stays quick."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from _report_fixtures import fp16_and_int8, sensorless
from _server import make_server
from wattprint.ledger import Ledger
from wattprint.wire import run_payloads

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    server = make_server(f"sqlite:///{folder / 'server.db'}")
    with Ledger(str(folder / "ledger.db")) as led:
        fp16_and_int8(led, duration_s=600, every_s=5.0)
        sensorless(led, duration_s=120)
        for run in led.runs():
            server.push(run_payloads(led, run.id, chunk_points=400))
    return server


@pytest.fixture(scope="module")
def api_schema(team_server):
    return schemathesis.openapi.from_asgi("/openapi.json", team_server.app)


schema = schemathesis.pytest.from_fixture("api_schema")


def test_every_endpoint_is_fuzzed(team_server) -> None:
    paths = team_server.app.openapi()["paths"]
    assert {"/api/v1/runs", "/api/v1/runs.csv", "/api/v1/runs/{run_id}",
            "/api/v1/runs/{run_id}/report.html", "/api/v1/compare", "/api/v1/summary",
            "/api/v1/summary.csv", "/api/v1/me", "/healthz"} <= set(paths)
    assert "post" in paths["/api/v1/runs"]


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, team_server) -> None:
    case.call_and_validate(headers=team_server.headers("a"), checks=CHECKS)
