"""``/summary`` from the rollups kept at ingest equals the same summary summed over the
runs table, on SQLite and PostgreSQL: runs of several users, hosts, days, statuses and
currencies, a run still missing chunks, runs replaced by a new push (other user, day and
status), the rollups rebuilt from the runs and backfilled by the migration."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from _server import clone, make_server
from test_server_api import db_url, ledger, payloads  # noqa: F401  (fixtures)
from wattprint.server._api import Filters
from wattprint.server._auth import Principal
from wattprint.server._migrate import _config, head_revision, upgrade
from wattprint.server._rollup import rebuild
from wattprint.server._summary import GROUPS, _dim_of, summarise

FILTERS = [{}, {"status": "failed"}, {"user": "u1"}, {"host": "h2"},
           {"since": "2023-07-03", "until": "2024-03-01T00:00:00Z"}, {"project": "team-b"},
           {"accelerator": "NVIDIA A100-SXM4-80GB"}, {"user": "u0", "status": "finished"}]


def _push_mix(server, payloads) -> None:
    gpu, cpu = payloads["llama-ft fp16"], payloads["cpu baseline"]
    settings = dict(cpu[0]["run"]["settings"])
    for i in range(6):
        base = gpu if i % 2 else cpu
        run = dict(user=f"u{i % 3}" if i != 5 else None, host=f"h{i % 2}",
                   status="failed" if i == 4 else "finished",
                   started_at=f"2023-07-0{3 + i}T23:30:00+00:00",
                   settings=dict(base[0]["run"]["settings"],
                                 price_per_kwh=0.1 * (i + 1),
                                 currency="USD" if i == 3 else "EUR"))
        server.push(clone(base, f"r{i}", **run), who="a" if i < 4 else "b")
    server.push(clone(gpu, "partial")[:1])  # its other chunks never come
    server.push(clone(cpu, "plain", settings=settings))
    # replaced: another user, day and status; then again, as it was first
    server.push(clone(cpu, "r0", user="u2", status="interrupted",
                      started_at="2024-02-27T01:00:00+00:00"))
    server.push(clone(gpu, "r1", user="u9", started_at="2023-07-10T00:00:00+00:00"))
    server.push(clone(gpu, "r1", user="u1", started_at="2023-07-04T23:30:00+00:00"))


def _assert_same(session, who, filters: dict, group_by: str) -> None:
    f = Filters(**filters)
    crossed = {"user", "host", "accelerator"} & set(filters) - {group_by}
    # the rollups answer it unless it filters on one dimension and groups by another
    assert (_dim_of(f, group_by) is None) == bool(crossed and group_by in crossed | {
        "user", "host", "accelerator"}), (filters, group_by)
    fast = summarise(session, who, f, group_by)
    slow = summarise(session, who, f, group_by, use_rollups=False)
    assert [g["key"] for g in fast] == [g["key"] for g in slow], (filters, group_by)
    for a, b in zip(fast, slow):
        for name, value in b.items():
            if isinstance(value, float):
                assert a[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (name, filters)
            else:
                assert a[name] == value, (name, filters, group_by)


def _check_all(server) -> int:
    admin = Principal(token_id=0, role="admin", project_id=None, project=None)
    with server.app.state.sessions() as session:
        for filters in FILTERS:
            for group_by in GROUPS:
                _assert_same(session, admin, filters, group_by)
        groups = summarise(session, admin, Filters(), "project")
    return sum(g["runs"] for g in groups)


def test_rollup_summaries_equal_the_runs_tables(db_url, payloads) -> None:  # noqa: F811
    server = make_server(db_url)
    _push_mix(server, payloads)
    assert _check_all(server) == 8
    # a project token: its own project only
    by_user = server.get("/api/v1/summary", group_by="user", who="b").json()["groups"]
    assert {g["key"]: g["runs"] for g in by_user} == {"u1": 1, None: 1}
    week = server.get("/api/v1/summary", group_by="week", status="failed").json()["groups"]
    assert week == []  # the failed run is team-b's
    # rebuilt from the runs: the same rows
    with server.app.state.engine.begin() as conn:
        before = sorted(conn.execute(text("SELECT * FROM run_rollups WHERE runs > 0")))
        rebuild(conn)
        after = sorted(conn.execute(text("SELECT * FROM run_rollups")))
    assert [r[:8] for r in after] == [r[:8] for r in before]
    for a, b in zip(after, before):
        assert a[8:] == pytest.approx(b[8:], rel=1e-9, abs=1e-9)
    assert _check_all(server) == 8


def test_the_migration_backfills_rollups_of_stored_runs(db_url, payloads) -> None:  # noqa: F811
    from alembic import command

    server = make_server(db_url)
    _push_mix(server, payloads)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(runs) FROM run_rollups WHERE dim = ''")
                            ).scalar() == 8
    engine.dispose()
    assert _check_all(server) == 8
