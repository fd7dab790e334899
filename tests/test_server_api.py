"""The team server's REST API, the same suite on the SQLite default and on a real
PostgreSQL: ingest (idempotent, chunked), listings with filters and keyset paging, one
run, its report, summaries equal to the accounting, auth and isolation, hostile input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import create_engine, inspect, text

from _report_fixtures import fp16_and_int8, sensorless
from _server import clone, make_server
from wattprint.ledger import Ledger
from wattprint.report import build_report
from wattprint.server._migrate import current_revision, head_revision, upgrade
from wattprint.wire import run_payloads

BACKENDS = ["sqlite", pytest.param("postgresql", marks=[pytest.mark.services,
                                                        pytest.mark.slow])]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    return request.getfixturevalue("postgres_cluster").new_database()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """Real recorded runs: two measured GPU fine-tunings (DE, July 2023, hourly
    intensity), one sensorless CPU run (FR, 2024)."""
    path = tmp_path_factory.mktemp("srv") / "ledger.db"
    with Ledger(str(path)) as led:
        fp16_and_int8(led, duration_s=1800, every_s=2.0)
        sensorless(led, duration_s=600)
        yield led


@pytest.fixture(scope="module")
def payloads(ledger) -> dict[str, list[dict]]:
    """name -> the run's chunks (small chunks, so long runs take several)."""
    return {r.name: run_payloads(ledger, r.id, max_points_per_device=400, chunk_points=500)
            for r in ledger.runs()}


@pytest.fixture
def server(db_url):
    return make_server(db_url)


def test_migrations_build_the_schema_from_empty_and_are_idempotent(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from wattprint.server._db import Base

    engine = create_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine, "0001") == "0001"
    assert "runs_project_energy" not in {i["name"] for i in inspect(engine).get_indexes("runs")}
    assert upgrade(engine) == head_revision() == "0003"
    tables = set(inspect(engine).get_table_names())
    assert {"projects", "tokens", "runs", "run_tags", "run_chunks",
            "run_rollups", "alembic_version"} <= tables
    indexes = {i["name"] for i in inspect(engine).get_indexes("runs")}
    assert {"runs_project_started", "runs_project_host", "runs_project_user",
            "runs_project_energy", "runs_project_co2e"} <= indexes
    assert upgrade(engine) == "0003"  # again: nothing to do
    with engine.connect() as conn:  # the migrations build exactly the models' schema
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_app_processes_starting_at_once_migrate_once(db_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from wattprint.server._db import make_engine

    engines = [make_engine(db_url) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(upgrade, engines)) == [head_revision()] * 4
    for engine in engines:
        engine.dispose()


def test_ingest_then_list_and_read_one_run(server, payloads, ledger) -> None:
    chunks = payloads["llama-ft fp16"]
    assert len(chunks) > 2
    answers = server.push(chunks)
    assert [r.status_code for r in answers] == [201] + [200] * (len(chunks) - 1)
    assert [r.json()["complete"] for r in answers] == [False] * (len(chunks) - 1) + [True]
    assert {r.json()["digest"] for r in answers} == {chunks[0]["digest"]}
    listing = server.get("/api/v1/runs").json()
    assert listing["next_cursor"] is None
    (run,) = listing["runs"]
    record = ledger.get(chunks[0]["run"]["id"])
    assert run["id"] == record.id and run["name"] == "llama-ft fp16"
    assert run["project"] == "team-a" and run["local_project"] == "reports"
    assert run["energy_j"] == pytest.approx(record.energy_j)
    assert run["basis"] == "mixed" and run["tags"] == ["fine-tuning"]
    assert run["accelerator"] == "NVIDIA A100-SXM4-80GB" and run["complete"] is True
    assert run["started_at"].startswith("2023-07-03T08:20:00")
    one = server.get(f"/api/v1/runs/{record.id}").json()
    assert [d["name"] for d in one["devices"]] == [d.name for d in record.devices]
    assert [p["name"] for p in one["phases"]] == [p.name for p in record.phases]
    assert one["counters"] == {"tokens": 2.4e8}
    assert len(one["power"]) == 4
    assert sum(len(p["t"]) for p in one["power"]) == sum(
        sum(len(s["t"]) for s in c["power"]) for c in chunks)
    assert all(p["t"] == sorted(p["t"]) for p in one["power"])


def test_same_run_twice_is_one_run_and_chunks_can_come_again_in_any_order(
        server, payloads) -> None:
    chunks = payloads["llama-ft int8"]
    first = server.push(list(reversed(chunks)))
    assert first[-1].status_code == 201 and first[-1].json()["complete"] is True
    assert [r.json()["complete"] for r in first[:-1]] == [False] * (len(chunks) - 1)
    again = server.push(chunks + [chunks[1], chunks[1]])
    assert all(r.status_code == 200 and r.json()["complete"] for r in again)
    runs = server.get("/api/v1/runs").json()["runs"]
    assert [r["id"] for r in runs] == [chunks[0]["run"]["id"]]
    with server.app.state.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM run_chunks")).scalar() == len(chunks)


def test_a_retagged_run_pushed_again_replaces_the_stored_one(server, ledger) -> None:
    run_id = ledger.runs(name="cpu baseline")[0].id
    server.push(run_payloads(ledger, run_id, chunk_points=300))
    ledger.tag(run_id, add=["retagged"])
    try:
        newer = run_payloads(ledger, run_id, chunk_points=300)
    finally:
        ledger.tag(run_id, remove=["retagged"])
    server.push(newer)
    (run,) = server.get("/api/v1/runs").json()["runs"]
    assert run["tags"] == ["retagged"] and run["complete"] is True
    with server.app.state.engine.connect() as conn:
        digests = {d for (d,) in conn.execute(text("SELECT digest FROM run_chunks"))}
    assert digests == {newer[0]["digest"]}


def test_summary_figures_are_the_accounting_of_each_run(server, payloads, ledger) -> None:
    for name in payloads:
        server.push(payloads[name])
    expected = {}
    for r in ledger.runs():
        data = build_report(ledger, r.id)  # the local report: account() over the trace
        expected[r.name] = data
    runs = {r["name"]: r for r in server.get("/api/v1/runs").json()["runs"]}
    for name, data in expected.items():
        assert runs[name]["co2e_g"] == pytest.approx(data.carbon["co2e_location_g"], rel=1e-6)
        assert runs[name]["co2e_market_g"] == pytest.approx(data.carbon["co2e_market_g"],
                                                            rel=1e-6)
        assert runs[name]["facility_energy_j"] == pytest.approx(
            data.energy["facility_energy_j"], rel=1e-9)
    # a run in an annual-only zone: exactly account() on its energy
    from wattprint.accounting import account
    from wattprint.ledger._records import parse_time

    cpu = ledger.runs(name="cpu baseline")[0]
    acc = account(cpu.energy_j, zone="FR", when=parse_time(cpu.started_at),
                  duration_s=cpu.duration_s)
    assert runs["cpu baseline"]["co2e_g"] == pytest.approx(acc.co2e_location_g.value)
    assert runs["cpu baseline"]["water_l"] == pytest.approx(acc.water_l)
    by_week = server.get("/api/v1/summary", group_by="week").json()["groups"]
    assert [g["key"] for g in by_week] == ["2023-07-03", "2024-02-26"]  # Mondays
    assert by_week[0]["runs"] == 2
    assert by_week[0]["energy_j"] == pytest.approx(
        runs["llama-ft fp16"]["energy_j"] + runs["llama-ft int8"]["energy_j"])
    assert by_week[0]["co2e_g"] == pytest.approx(
        sum(expected[n].carbon["co2e_location_g"] for n in ("llama-ft fp16", "llama-ft int8")))
    measured = sum(runs[n]["measured_energy_j"] for n in ("llama-ft fp16", "llama-ft int8"))
    assert by_week[0]["measured_share"] == pytest.approx(measured / by_week[0]["energy_j"])
    assert by_week[1]["measured_share"] == 0.0  # sensorless: all modelled
    (proj,) = server.get("/api/v1/summary", group_by="project").json()["groups"]
    assert proj["key"] == "team-a" and proj["runs"] == 3
    assert proj["co2e_g"] == pytest.approx(sum(r["co2e_g"] for r in runs.values()))
    assert proj["water_l"] == pytest.approx(sum(r["water_l"] for r in runs.values()))
    days = server.get("/api/v1/summary", group_by="day").json()["groups"]
    assert [g["key"] for g in days] == ["2023-07-03", "2024-03-01"]
    acc_groups = server.get("/api/v1/summary", group_by="accelerator").json()["groups"]
    assert {g["key"]: g["runs"] for g in acc_groups} == {"NVIDIA A100-SXM4-80GB": 2,
                                                          "none": 1}
    since = server.get("/api/v1/summary", group_by="host", since="2024-01-01").json()
    assert [g["runs"] for g in since["groups"]] == [1]
    table = list(csv.reader(io.StringIO(server.get("/api/v1/summary.csv",
                                                   group_by="week").text)))
    assert table[0][:3] == ["key", "runs", "energy_j"] and len(table) == 3
    # in one chunk (accounted once, at ingest, with its trace): the same figures
    fp16 = ledger.runs(name="fp16")[0].id
    (answer,) = server.push(run_payloads(ledger, fp16), who="b")
    assert answer.json()["complete"] is True
    (whole,) = server.get("/api/v1/runs", who="b").json()["runs"]
    assert whole["co2e_g"] == pytest.approx(runs["llama-ft fp16"]["co2e_g"], rel=1e-6)


def test_cost_is_summed_per_currency(server, payloads) -> None:
    base = payloads["cpu baseline"]
    settings = dict(base[0]["run"]["settings"])
    server.push(clone(base, "c1", settings=dict(settings, price_per_kwh=0.2, currency="EUR")))
    server.push(clone(base, "c2", settings=dict(settings, price_per_kwh=0.3, currency="EUR")))
    runs = {r["id"]: r for r in server.get("/api/v1/runs").json()["runs"]}
    kwh = runs["c1"]["facility_energy_j"] / 3.6e6
    assert runs["c1"]["cost"] == pytest.approx(kwh * 0.2) and runs["c1"]["currency"] == "EUR"
    (group,) = server.get("/api/v1/summary").json()["groups"]
    assert group["cost"] == pytest.approx(kwh * 0.5) and group["currency"] == "EUR"
    server.push(clone(base, "c3", settings=dict(settings, price_per_kwh=0.1, currency="USD")))
    (group,) = server.get("/api/v1/summary").json()["groups"]
    assert group["cost"] is None and group["currency"] == "mixed"


def test_filters_and_keyset_paging(server, payloads) -> None:
    base = payloads["cpu baseline"]
    for k in range(23):
        server.push(clone(base, f"r{k:02d}", user=f"u{k % 3}", host=f"h{k % 2}",
                          name=f"job {k}", energy_j=1000.0 + 10 * (k % 5),
                          started_at=f"2024-03-{1 + k:02d}T10:00:00+00:00",
                          tags=["odd"] if k % 2 else []))
    for sort in ("-started_at", "started_at", "-energy_j", "energy_j"):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 5} | ({"cursor": cursor} if cursor else {})
            page = server.get("/api/v1/runs", **params).json()
            seen += page["runs"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 23 and len({r["id"] for r in seen}) == 23
        key = sort.lstrip("-")
        values = [r[key] for r in seen]
        assert values == sorted(values, reverse=sort.startswith("-"))
    assert len(server.get("/api/v1/runs", user="u1").json()["runs"]) == 8
    assert len(server.get("/api/v1/runs", host="h0", user="u0").json()["runs"]) == 4
    assert len(server.get("/api/v1/runs", tag="odd").json()["runs"]) == 11
    assert len(server.get("/api/v1/runs", since="2024-03-10", until="2024-03-12T00:00Z")
               .json()["runs"]) == 2
    assert [r["name"] for r in server.get("/api/v1/runs", q="JOB 2").json()["runs"]] == [
        "job 22", "job 21", "job 20", "job 2"]
    assert server.get("/api/v1/runs", status="finished").json()["runs"]
    bad = server.get("/api/v1/runs", status="running")
    assert bad.status_code == 422 and "is not a run status" in bad.text
    assert server.get("/api/v1/runs", since="last tuesday").status_code == 422
    assert server.get("/api/v1/runs", cursor="not-a-cursor").status_code == 422
    table = list(csv.DictReader(io.StringIO(server.get("/api/v1/runs.csv", user="u2").text)))
    assert len(table) == 7 and table[0]["user"] == "u2"


@pytest.mark.parametrize("value", ["' OR '1'='1", "x'; DROP TABLE runs; --", "%", "_",
                                   "\\", "1) OR (1=1", "\" OR \"\"=\"", "<script>"])
def test_sql_ish_filter_values_are_harmless(server, payloads, value) -> None:
    server.push(payloads["cpu baseline"])
    for key in ("user", "host", "tag", "accelerator", "q"):
        r = server.get("/api/v1/runs", **{key: value})
        assert r.status_code == 200, r.text
        assert r.json()["runs"] == []
    assert server.get("/api/v1/summary", group_by="user", user=value).json()["groups"] == []
    assert len(server.get("/api/v1/runs").json()["runs"]) == 1  # the table is still there


def test_html_in_run_names_stays_inert(server, payloads) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    server.push(clone(payloads["cpu baseline"], "evil1", name=evil, tags=["<b>x</b>"]))
    assert server.get("/api/v1/runs").json()["runs"][0]["name"] == evil  # data, as given
    page = server.get("/api/v1/runs/evil1/report.html")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    table = server.get("/api/v1/runs.csv", q="=cmd").text
    assert "\n=" not in table


def test_report_and_comparison_of_stored_runs(server, payloads, ledger) -> None:
    for name in ("llama-ft fp16", "llama-ft int8"):
        server.push(payloads[name])
    a, b = (payloads[n][0]["run"]["id"] for n in ("llama-ft fp16", "llama-ft int8"))
    page = server.get(f"/api/v1/runs/{a}/report.html")
    assert page.status_code == 200 and "llama-ft fp16" in page.text and "<svg" in page.text
    assert "https://" not in page.text.split("<body", 1)[1].split("href=")[0]
    cmp = server.get("/api/v1/compare", a=a, b=b)
    assert cmp.status_code == 200, cmp.text
    assert [r["run"]["name"] for r in cmp.json()["runs"]] == ["llama-ft fp16", "llama-ft int8"]
    assert cmp.json()["baseline"] == a and cmp.json()["rows"]
    assert server.get("/api/v1/compare.html", a=a, b=b).text.count("llama-ft") >= 2
    assert server.get("/api/v1/compare", a=a, b="nope").status_code == 404


def test_tokens_and_isolation(server, payloads) -> None:
    chunks = payloads["cpu baseline"]
    run_id = chunks[0]["run"]["id"]
    assert server.client.get("/api/v1/runs").status_code == 401
    bad = server.client.get("/api/v1/runs", headers={"Authorization": "Bearer wpt_nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert server.client.get("/healthz").json()["status"] == "ok"
    # read-only tokens read but never write
    ro = server.client.post("/api/v1/runs", json=chunks[0], headers=server.headers("a_read"))
    assert ro.status_code == 403
    server.push(chunks, who="a")
    assert len(server.get("/api/v1/runs", who="a_read").json()["runs"]) == 1
    # another project sees nothing of it: 404, not 403
    for path in (f"/api/v1/runs/{run_id}", f"/api/v1/runs/{run_id}/report.html"):
        assert server.get(path, who="b").status_code == 404
    assert server.get("/api/v1/runs", who="b").json()["runs"] == []
    assert server.get("/api/v1/summary", who="b").json()["groups"] == []
    assert server.get("/api/v1/runs", who="b", project="team-a").status_code == 403
    assert server.get("/api/v1/compare", who="b", a=run_id, b=run_id).status_code == 404
    # the same id pushed by project B is B's own run; A's is untouched
    server.push(clone(chunks, run_id, name="b's run"), who="b")
    assert server.get(f"/api/v1/runs/{run_id}", who="a").json()["name"] == "cpu baseline"
    assert server.get(f"/api/v1/runs/{run_id}", who="b").json()["name"] == "b's run"
    assert server.get(f"/api/v1/runs/{run_id}", who="b").json()["project"] == "team-b"
    # an admin sees both projects
    admin = server.get("/api/v1/summary", who="admin", group_by="project").json()
    assert [g["key"] for g in admin["groups"]] == ["team-a", "team-b"]
    assert len(server.get("/api/v1/runs", who="admin", project="team-b").json()["runs"]) == 1
    assert server.get("/api/v1/me", who="a_read").json()["role"] == "read"
    assert server.get("/api/v1/me", who="admin").json()["project"] is None
    # a revoked token is refused
    from wattprint.server._auth import revoke_token

    with server.app.state.sessions() as session, session.begin():
        revoke_token(session, server.tokens["a"][:12])
    assert server.get("/api/v1/runs", who="a").status_code == 401


def test_invalid_and_oversized_bodies(db_url, payloads) -> None:
    server = make_server(db_url, max_body_bytes=50_000)
    post = server.client.post
    h = server.headers("a")
    r = post("/api/v1/runs", content=b"{not json", headers=h)
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]
    bad = json.loads(json.dumps(payloads["cpu baseline"][0]))
    bad["run"]["energy_j"] = -5
    r = post("/api/v1/runs", json=bad, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"] == "invalid run payload: run.energy_j: must be >= 0 (got -5)"
    big = dict(payloads["cpu baseline"][0], padding="x" * 60_000)
    r = post("/api/v1/runs", json=big, headers=h)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert server.get("/api/v1/runs").json()["runs"] == []


def test_concurrent_pushes_lose_nothing_and_never_duplicate(server, payloads) -> None:
    """Eight clients at once: distinct runs, and the same run pushed by several of them
    (real threads, each request on its own event loop, one database)."""
    from concurrent.futures import ThreadPoolExecutor

    base = payloads["llama-ft int8"]
    jobs = [clone(base, f"p{k}", name=f"parallel {k}") for k in range(12)]
    jobs += [base] * 6  # the same run, six times at once

    def push(chunks):
        return [r.status_code for r in server.push(chunks)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(push, jobs))
    assert all(c in (200, 201) for run in codes for c in run)
    runs = server.get("/api/v1/runs", limit=100).json()["runs"]
    assert len(runs) == 13 and len({r["id"] for r in runs}) == 13
    assert all(r["complete"] for r in runs)
    assert sum(run[0] == 201 for run in codes[12:]) == 1  # created once, then replaced
    with server.app.state.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM run_chunks")).scalar() == 13 * len(base)


def test_a_run_with_settings_the_server_cannot_use_is_kept_and_says_so(server, payloads) -> None:
    base = payloads["cpu baseline"]
    settings = dict(base[0]["run"]["settings"], pue=0.4)
    answers = server.push(clone(base, "odd1", zone="Narnia", settings=settings))
    assert answers[0].status_code == 201
    run = server.get("/api/v1/runs/odd1").json()
    assert run["zone"] == "Narnia" and run["co2e_g"] > 0
    assert run["facility_energy_j"] >= run["energy_j"]  # the default PUE, not 0.4
    assert any("refused" in n for n in run["accounting"]["notes"])


def test_tokens_are_stored_hashed_and_compared_in_constant_time(server, monkeypatch) -> None:
    import hmac

    from wattprint.server import _auth

    with server.app.state.engine.connect() as conn:
        stored = [h for (h,) in conn.execute(text("SELECT secret_sha256 FROM tokens"))]
    assert all(t not in stored for t in server.tokens.values())
    assert _auth.hash_secret(server.tokens["a"]) in stored
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_auth.hmac, "compare_digest", spy)
    assert server.get("/api/v1/me").status_code == 200
    assert calls == [(_auth.hash_secret(server.tokens["a"]),) * 2]


def test_no_free_database_connection_is_503_with_retry_after(tmp_path) -> None:
    from sqlalchemy.orm import sessionmaker

    server = make_server(f"sqlite:///{tmp_path / 'server.db'}")
    tiny = create_engine(f"sqlite:///{tmp_path / 'server.db'}", pool_size=1,
                         max_overflow=0, pool_timeout=0.2)
    server.app.state.sessions = sessionmaker(tiny)
    with tiny.connect():  # the only connection, busy
        r = server.get("/api/v1/me")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert "busy" in r.json()["detail"]
    assert server.get("/api/v1/me").status_code == 200  # free again
    tiny.dispose()
