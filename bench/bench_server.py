"""The team server under load: sustained ingest from many clients, then listings and
summaries over a million runs (issue 12's performance targets).

    python bench/bench_server.py                       # PostgreSQL, 200 clients, 1M runs
    python bench/bench_server.py --clients 50 --rows 100000 --json out.json
    python bench/bench_server.py --db sqlite           # the embedded default, same steps

Steps, all on 127.0.0.1:
1. A throw-away PostgreSQL cluster (``tests/_services/postgres.py``; run as root, it
   starts the cluster as the ``postgres`` user) or an SQLite file, and ``wattprint
   server`` as a subprocess (``--workers``) migrating it on start; tokens made by
   ``wattprint server token create`` for ten projects and an admin.
2. **Ingest**: one real local ledger run of ``--samples`` power samples (10,000) is turned
   into payloads by :func:`wattprint.wire.run_payloads` (downsampled for the server, as
   ``wattprint push`` sends them); ``--clients`` threads (200), each with its own
   keep-alive connection and a project token, start together and push ``--runs-per-client``
   runs each under fresh run ids. Reported: runs/s, local samples/s (what the pushed runs
   recorded), points/s stored, p50/p95/max latency of a POST, errors. Afterwards every
   run is read back from the database: the count must equal what was acknowledged, with
   the power points of every run complete (nothing lost, nothing twice).
3. **Queries at scale**: ``--rows`` runs (1,000,000) are generated straight into the
   server's own tables with SQL (ten projects, 49 users, 199 hosts, five accelerators,
   a year of start times, a tag on one run in ten), then each query is timed ``--repeat``
   times over HTTP with a project token and with the admin token: ``GET /runs`` (first page,
   filters, the next page), ``/summary`` by project, week, day and host. Targets:
   ``GET /runs`` p95 ≤ 100 ms, ``/summary`` by project-week ≤ 300 ms.

Wall-clock figures: run it on a quiet machine; ``others`` in the output is the load other
processes put on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests")]

PROJECTS = [f"team-{i}" for i in range(10)]
ACCELERATORS = ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA L4",
                "AMD Instinct MI300X", "cpu"]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
    return xs[k]


def busy_ticks() -> int:
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    idle = int(parts[3]) + int(parts[4])
    return sum(int(x) for x in parts[:8]) - idle


def template_payloads(folder: str, samples: int) -> list[dict[str, Any]]:
    """Payload chunks of one recorded run of ``samples`` samples (one GPU, 1 s apart)."""
    from _report_fixtures import GPU_PROV, record_run

    from wattprint.ledger import Ledger
    from wattprint.wire import run_payloads

    with Ledger(os.path.join(folder, "local.db")) as led:
        run_id = record_run(led, name="bench", duration_s=float(samples), every_s=1.0,
                            devices=[("nvml:0", "gpu", "measured", "GPU-0", GPU_PROV)],
                            power=[lambda t: 300.0 + 50.0 * ((t // 60) % 2)],
                            phases=[("train", 0.0, samples * 0.9),
                                    ("eval", samples * 0.9, float(samples))],
                            tokens=1e6)
        return run_payloads(led, run_id)


class Client(threading.Thread):
    """Pushes ``runs`` runs (every chunk of each) over one keep-alive connection."""

    def __init__(self, idx: int, port: int, token: str, chunks: list[dict[str, Any]],
                 runs: int, start: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.idx, self.port, self.token, self.runs, self.barrier = idx, port, token, runs, start
        self.chunks = chunks
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.acked: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": f"Bearer {self.token}",
                   "Content-Type": "application/json"}
        self.barrier.wait()
        for k in range(self.runs):
            run_id = f"bench-{self.idx:04d}-{k:04d}-{os.getpid()}"
            ok = True
            for chunk in self.chunks:
                body = dict(chunk)
                body["run"] = dict(chunk["run"], id=run_id)
                data = json.dumps(body).encode()
                for attempt in range(5):  # what `wattprint push` does: retry on failure
                    t0 = time.perf_counter()
                    try:
                        conn.request("POST", "/api/v1/runs", body=data, headers=headers)
                        resp = conn.getresponse()
                        resp.read()
                        self.latencies.append(time.perf_counter() - t0)
                        if resp.status in (200, 201):
                            break
                        self.errors.append(f"HTTP {resp.status}")
                    except (OSError, http.client.HTTPException) as err:
                        self.errors.append(type(err).__name__)
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                    time.sleep(0.2 * 2 ** attempt)
                else:
                    ok = False
            if ok:
                self.acked.append(run_id)
        conn.close()


def ingest(server: Any, tokens: dict[str, str], chunks: list[dict[str, Any]], clients: int,
           runs_per_client: int, samples: int) -> dict[str, Any]:
    barrier = threading.Barrier(clients + 1)
    threads = [Client(i, server.port, tokens[PROJECTS[i % len(PROJECTS)]], chunks,
                      runs_per_client, barrier) for i in range(clients)]
    for t in threads:
        t.start()
    busy0, t0 = busy_ticks(), time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = [x for t in threads for x in t.latencies]
    acked = [r for t in threads for r in t.acked]
    points = sum(sum(len(s["t"]) for s in c.get("power", [])) for c in chunks)
    return {"clients": clients, "runs_pushed": clients * runs_per_client,
            "runs_acknowledged": len(acked), "chunks_per_run": len(chunks),
            "points_per_run": points, "samples_per_run": samples, "wall_s": wall,
            "runs_per_s": len(acked) / wall, "samples_per_s": len(acked) * samples / wall,
            "points_per_s": len(acked) * points / wall,
            "post_p50_ms": pct(lat, 50) * 1e3, "post_p95_ms": pct(lat, 95) * 1e3,
            "post_max_ms": max(lat) * 1e3 if lat else float("nan"),
            "errors": sorted({e for t in threads for e in t.errors}),
            "error_count": sum(len(t.errors) for t in threads),
            "machine_busy_cores": (busy_ticks() - busy0) / os.sysconf("SC_CLK_TCK") / wall,
            "acked_ids": acked}


def check_stored(engine: Any, acked: list[str], points_per_run: int) -> dict[str, Any]:
    """Every acknowledged run once, complete, with all its points."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.run_id, r.complete, (SELECT coalesce(sum(c.points), 0) FROM run_chunks c "
            "WHERE c.project_id = r.project_id AND c.run_id = r.run_id) FROM runs r "
            "WHERE r.run_id LIKE 'bench-%'")).all()
    ids = [r[0] for r in rows]
    return {"stored": len(ids), "duplicates": len(ids) - len(set(ids)),
            "missing": len(set(acked) - set(ids)),
            "incomplete": sum(1 for r in rows if not r[1] or r[2] != points_per_run)}


def generate_runs(engine: Any, rows: int) -> float:
    """``rows`` synthetic runs into the server's tables (projects from the tokens)."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    spacing = 365 * 86400 / rows  # a year of start times, whatever the count
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        pids = [conn.execute(text("SELECT id FROM projects WHERE name = :n"), {"n": p}).scalar()
                for p in PROJECTS]
        accel = "(ARRAY[" + ", ".join(f"'{a}'" for a in ACCELERATORS) + "])"
        if pg:
            conn.execute(text(f"""
                INSERT INTO runs (project_id, run_id, name, "user", host, status, mode,
                    started_at, ended_at, duration_s, zone, energy_j, energy_low_j,
                    energy_high_j, measured_energy_j, basis, facility_energy_j, co2e_g,
                    co2e_market_g, cost, currency, water_l, accelerator, detail, digest,
                    chunk_count, complete, received_at)
                SELECT (ARRAY{pids})[1 + g % 10], 'gen-' || g, 'run ' || g, 'user' || (g % 49),
                    'host' || (g % 199), CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'finished' END,
                    'process', ts, ts + make_interval(secs => 3600), 3600, 'DE',
                    e, e * 0.9, e * 1.1, e * 0.8, 'mixed', e * 1.2, e / 3.6e6 * 380,
                    e / 3.6e6 * 300, e / 3.6e6 * 0.3, 'EUR', e / 3.6e6 * 1.8,
                    {accel}[1 + g % 5], '{{}}', 'x', 1, true, ts
                FROM (SELECT g, timestamp '2026-01-01' + make_interval(secs => (g * :spacing)::bigint) AS ts,
                             1e6 + (g % 997) * 1e5 AS e
                      FROM generate_series(1, :n) AS g) s"""), {"n": rows, "spacing": spacing})
            conn.execute(text("INSERT INTO run_tags (run_pk, tag) SELECT pk, 'sweep' FROM runs "
                              "WHERE run_id LIKE 'gen-%' AND pk % 10 = 0"))
        else:
            accel_sql = "CASE g % 5 " + " ".join(
                f"WHEN {i} THEN '{a}'" for i, a in enumerate(ACCELERATORS)) + " END"
            proj_sql = "CASE g % 10 " + " ".join(
                f"WHEN {i} THEN {p}" for i, p in enumerate(pids)) + " END"
            conn.execute(text(f"""
                WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n)
                INSERT INTO runs (project_id, run_id, name, user, host, status, mode,
                    started_at, ended_at, duration_s, zone, energy_j, energy_low_j,
                    energy_high_j, measured_energy_j, basis, facility_energy_j, co2e_g,
                    co2e_market_g, cost, currency, water_l, accelerator, detail, digest,
                    chunk_count, complete, received_at)
                SELECT {proj_sql}, 'gen-' || g, 'run ' || g, 'user' || (g % 49),
                    'host' || (g % 199), CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'finished' END,
                    'process', datetime('2026-01-01', '+' || CAST(g * :spacing AS INT) || ' seconds'),
                    datetime('2026-01-01', '+' || (CAST(g * :spacing AS INT) + 3600) || ' seconds'),
                    3600, 'DE', 1e6 + (g % 997) * 1e5, 0, 0, 0, 'mixed', 0, 0, 0, 0, 'EUR', 0,
                    {accel_sql}, '{{}}', 'x', 1, 1, datetime('2026-01-01')
                FROM s"""), {"n": rows, "spacing": spacing})
            conn.execute(text("INSERT INTO run_tags (run_pk, tag) SELECT pk, 'sweep' FROM runs "
                              "WHERE run_id LIKE 'gen-%' AND pk % 10 = 0"))
        # a bulk load skips ingest: its rollups are built as the migration backfills them
        from wattprint.server._rollup import rebuild
        rebuild(conn)
    # what autovacuum does on a live server after a bulk load: statistics and, on
    # PostgreSQL, the visibility map that index-only scans need
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    return time.perf_counter() - t0


QUERIES = [
    ("GET /runs (first page, 100)", "/api/v1/runs", "project"),
    ("GET /runs?host=…", "/api/v1/runs?host=host17", "project"),
    ("GET /runs?user=…&status=failed", "/api/v1/runs?user=user7&status=failed", "project"),
    ("GET /runs?tag=sweep", "/api/v1/runs?tag=sweep", "project"),
    ("GET /runs?since=…&until=… (a week)",
     "/api/v1/runs?since=2026-06-01T00:00:00Z&until=2026-06-08T00:00:00Z", "project"),
    ("GET /runs?sort=-energy_j", "/api/v1/runs?sort=-energy_j", "project"),
    ("GET /runs next page", "NEXT", "project"),
    ("GET /runs (admin, every project)", "/api/v1/runs", "admin"),
    ("GET /summary?group_by=project (admin)", "/api/v1/summary?group_by=project", "admin"),
    ("GET /summary?group_by=week", "/api/v1/summary?group_by=week", "project"),
    ("GET /summary?group_by=week (admin)", "/api/v1/summary?group_by=week", "admin"),
    ("GET /summary?group_by=day", "/api/v1/summary?group_by=day", "project"),
    ("GET /summary?group_by=host", "/api/v1/summary?group_by=host", "project"),
    ("GET /summary?group_by=week&tag=sweep (runs table)",
     "/api/v1/summary?group_by=week&tag=sweep", "project"),
]


def time_queries(port: int, tokens: dict[str, str], repeat: int) -> list[dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def get(path: str, token: str) -> tuple[float, Any]:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t0
        if resp.status != 200:
            raise SystemExit(f"{path}: HTTP {resp.status}: {body[:300]!r}")
        return dt, json.loads(body)

    out = []
    first = get("/api/v1/runs", tokens[PROJECTS[0]])[1]
    next_path = "/api/v1/runs?cursor=" + urllib.parse.quote(first["next_cursor"])
    for label, path, who in QUERIES:
        token = tokens["admin"] if who == "admin" else tokens[PROJECTS[0]]
        path = next_path if path == "NEXT" else path
        get(path, token)  # warm
        times, body = [], None
        for _ in range(repeat):
            dt, body = get(path, token)
            times.append(dt)
        n = len(body.get("runs", body.get("groups", [])))
        out.append({"query": label, "path": path, "p50_ms": pct(times, 50) * 1e3,
                    "p95_ms": pct(times, 95) * 1e3, "items": n})
    conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--runs-per-client", type=int, default=3)
    ap.add_argument("--samples", type=int, default=10_000, help="samples of each pushed run")
    ap.add_argument("--rows", type=int, default=1_000_000, help="runs generated for queries")
    ap.add_argument("--repeat", type=int, default=30, help="timings per query")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)

    from _teamserver import TeamServer

    from wattprint.server._db import make_engine

    folder = tempfile.mkdtemp(prefix="wattprint-bench-server-")
    cluster = None
    if args.db == "postgres":
        from _services.postgres import start_postgres

        cluster = start_postgres()
        db = cluster.new_database()
    else:
        db = f"sqlite:///{folder}/server.db"
    server = TeamServer(folder, db=db)
    server_args = ["--workers", str(args.workers)]
    result: dict[str, Any] = {"db": args.db, "workers": args.workers,
                              "cpus": os.cpu_count()}
    try:
        _start(server, server_args)
        tokens = {p: server.token(p) for p in PROJECTS}
        tokens["admin"] = _admin_token(server)
        chunks = template_payloads(folder, args.samples)
        print(f"ingest: {args.clients} clients x {args.runs_per_client} runs of "
              f"{args.samples} samples ({len(chunks)} chunk(s) each)...", flush=True)
        ing = ingest(server, tokens, chunks, args.clients, args.runs_per_client, args.samples)
        engine = make_engine(db)
        ing.update(check_stored(engine, ing.pop("acked_ids"), ing["points_per_run"]))
        result["ingest"] = ing
        print(json.dumps({k: v for k, v in ing.items()}, indent=1), flush=True)
        print(f"generating {args.rows:,} runs...", flush=True)
        result["generate_s"] = generate_runs(engine, args.rows)
        result["rows"] = args.rows
        print(f"  {result['generate_s']:.1f} s", flush=True)
        busy0, t0 = busy_ticks(), time.perf_counter()
        result["queries"] = time_queries(server.port, tokens, args.repeat)
        result["queries_machine_busy_cores"] = (busy_ticks() - busy0) / os.sysconf(
            "SC_CLK_TCK") / (time.perf_counter() - t0)
    finally:
        server.kill()
        if cluster is not None:
            cluster.stop()
    print(render(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def _start(server: Any, extra: list[str]) -> None:
    """TeamServer.start with extra server arguments (``--workers``)."""
    import subprocess

    import _teamserver

    orig = subprocess.Popen

    def popen(cmd: list[str], *a: Any, **kw: Any) -> Any:
        return orig([*cmd, *extra] if "server" in cmd else cmd, *a, **kw)

    _teamserver.subprocess.Popen = popen  # type: ignore[attr-defined]
    try:
        server.start(timeout_s=120)
    finally:
        _teamserver.subprocess.Popen = orig  # type: ignore[attr-defined]


def _admin_token(server: Any) -> str:
    import subprocess

    from _teamserver import WATTPRINT, _env

    proc = subprocess.run([*WATTPRINT, "server", "token", "create", "--admin", "--db",
                           server.db], env=_env(), capture_output=True, text=True,
                          timeout=120, check=True)
    return proc.stdout.strip().splitlines()[0]


def render(r: dict[str, Any]) -> str:
    ing = r.get("ingest", {})
    lines = [f"\n## Team server on {r['db']}, {r['workers']} worker(s), {r['cpus']} CPUs", "",
             "| ingest | value |", "|---|---:|"]
    for key in ("clients", "runs_acknowledged", "runs_per_s", "samples_per_s", "points_per_s",
                "post_p50_ms", "post_p95_ms", "post_max_ms", "error_count", "stored",
                "duplicates", "missing", "incomplete", "machine_busy_cores"):
        v = ing.get(key)
        lines.append(f"| {key} | {v:,.1f} |" if isinstance(v, float) else f"| {key} | {v} |")
    lines += ["", f"Queries over {r.get('rows', 0):,} generated runs "
              f"(+ the pushed ones); other load {r.get('queries_machine_busy_cores', 0):.2f} "
              "cores busy in all", "", "| query | p50 ms | p95 ms | items |",
              "|---|---:|---:|---:|"]
    for q in r.get("queries", []):
        lines.append(f"| {q['query']} | {q['p50_ms']:.1f} | {q['p95_ms']:.1f} | {q['items']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
