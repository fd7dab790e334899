"""CLI costs: start-up of a command, and listing / exporting a ledger of 100,000 runs.

Every figure comes from a fresh ``python -m wattprint …`` subprocess whose resources are
read with ``os.wait4`` (that child alone, started by a small launcher so that its peak RSS
is its own): CPU seconds (user + system), wall seconds and peak RSS (``ru_maxrss``). CPU time is the robust figure on a machine shared with other
work; wall time is printed beside it.

* ``startup``: ``wattprint --version``, ``--help``, ``runs`` (on a ledger of 3 runs) and,
  for reference, ``python -c pass`` (the interpreter alone) and ``codecarbon --help``
  (CodeCarbon's command line, when ``codecarbon`` is installed: ``pip install -e
  '.[bench]'``). ``--repeat`` runs each (default 15), medians.
* ``listing``: a ledger of ``--runs`` runs (default 100,000) made in seconds by copying
  one recorded run (its runs, tags, counters, devices and phases rows) with direct SQL
  inserts into the ledger's own schema; then ``runs --all``, ``runs --all --json``,
  ``export --what runs`` (CSV to stdout) and ``export --what runs -o runs.jsonl``, each
  ``--list-repeat`` times (default 3), medians. Output goes to ``/dev/null`` (or a
  temporary file), so terminal speed is not measured.

    python bench/bench_cli.py                      # both, ~2-4 minutes on 2 vCPUs
    python bench/bench_cli.py startup --repeat 30
    python bench/bench_cli.py listing --runs 100000 --json out.json

Not part of the test suite (pytest collects ``tests/`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024


#: Started by a small launcher process: a child's peak RSS (``ru_maxrss``) starts at its
#: parent's RSS at fork, so children of this (large) process would all show its size.
LAUNCHER = """import os, sys, time
t = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t
print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, wall,
      usage.ru_maxrss / 1024.0, file=sys.stderr)
"""


def measure(cmd: list[str], *, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` once, its output to /dev/null: its own CPU seconds (user + system),
    wall seconds and peak RSS."""
    cmd = [shutil.which(cmd[0]) or cmd[0], *cmd[1:]]
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *cmd], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    *err, figures = proc.stderr.strip().splitlines() or [""]
    code, cpu_s, wall_s, rss_mib = (figures.split() + ["?"] * 4)[:4]
    if proc.returncode != 0 or code != "0":
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {' '.join(err)[-2000:]}")
    return {"cpu_s": float(cpu_s), "wall_s": float(wall_s), "peak_rss_mib": float(rss_mib)}


def medians(samples: list[dict]) -> dict:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def wattprint_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "wattprint", *args]


def child_env(src: str | None = None) -> dict[str, str]:
    """The children's environment: wattprint from ``src`` (a ``src`` folder of another
    checkout, e.g. a ``git worktree`` of an older commit), else from PYTHONPATH or this
    checkout."""
    env = dict(os.environ)
    # As after a pip install: .pyc files are written by the warm-up run and then loaded.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
        return env
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    if os.path.isdir(here) and not env.get("PYTHONPATH"):
        env["PYTHONPATH"] = here  # this checkout, not another installed copy
    return env


def versions(against: str | None) -> dict[str, dict[str, str]]:
    """Label -> environment of each wattprint measured: this one, and ``--against``."""
    out = {"this": child_env()}
    if against:
        out["against"] = child_env(against)
    return out


def compare(cases: dict[str, list[str]], envs: dict[str, dict[str, str]], repeat: int,
            unit: str) -> dict:
    """Medians per case and version; the versions alternate run by run (the order
    rotating), so both see the same load of a shared machine."""
    samples: dict[str, dict[str, list[dict]]] = {c: {v: [] for v in envs} for c in cases}
    for k in range(repeat):
        for name, cmd in cases.items():
            order = list(envs) if k % 2 == 0 else list(envs)[::-1]
            for label in order:
                samples[name][label].append(measure(cmd, env=envs[label]))
    out: dict = {}
    scale, fmt = (1e3, "{:8.1f} ms") if unit == "ms" else (1.0, "{:7.2f} s")
    for name in cases:
        out[name] = {label: medians(xs) for label, xs in samples[name].items()}
        line = f"  {name:<30}"
        for label, m in out[name].items():
            line += (f"  [{label}] CPU {fmt.format(scale * m['cpu_s'])} wall "
                     f"{fmt.format(scale * m['wall_s'])} RSS {m['peak_rss_mib']:7.1f} MiB")
        print(line, flush=True)
    return out


# --- a ledger of many runs ---------------------------------------------------------------

def make_ledger(path: str, n_runs: int, env: dict[str, str] | None = None) -> float:
    """A ledger of ``n_runs`` runs: one recorded for real (fake sensors, a phase, counters,
    tags), then copied with SQL inserts (new ids and start times), by the wattprint of
    ``env`` (in a child process). Returns seconds taken."""
    t = time.perf_counter()
    subprocess.run([sys.executable, os.path.abspath(__file__), "--make-ledger", path,
                    "--runs", str(n_runs)], env=env or child_env(), check=True)
    return time.perf_counter() - t


def _make_ledger(path: str, n_runs: int) -> None:
    import sqlite3

    import wattprint
    from wattprint.ledger._ids import new_run_id
    from wattprint.testing import FakeSensor

    sensors = [FakeSensor(250.0, name="nvml:0", domain="gpu"),
               FakeSensor(40.0, name="cpu-model", domain="cpu", counter=False)]
    with wattprint.track("bench template run", sensors=sensors, ledger=path,
                         project="bench", tags=["baseline", "lr=3e-4"]) as run:
        with run.phase("train"):
            run.count(tokens=4096, samples=8, steps=1)
        time.sleep(0.05)
    conn = sqlite3.connect(path, isolation_level=None)
    (rid0,) = conn.execute("SELECT rid FROM runs").fetchone()
    cols = [r[1] for r in conn.execute("PRAGMA table_info(runs)") if r[1] not in ("rid", "id")]
    start = time.time() - n_runs * 60.0  # one run a minute, ending now
    conn.execute("BEGIN")
    for k in range(1, n_runs):
        rid = conn.execute(
            f"INSERT INTO runs (id, {', '.join(cols)}) SELECT ?, {', '.join(cols)} "
            "FROM runs WHERE rid = ?", (new_run_id(start + 60.0 * k), rid0)).lastrowid
        conn.execute("UPDATE runs SET started_at = ?, name = ? WHERE rid = ?",
                     (time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00",
                                    time.gmtime(start + 60.0 * k)), f"run {k}", rid))
        for table in ("run_tags", "counters", "devices", "phases"):
            tcols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
                     if r[1] != "rid"]
            conn.execute(f"INSERT INTO {table} (rid, {', '.join(tcols)}) SELECT ?, "
                         f"{', '.join(tcols)} FROM {table} WHERE rid = ?", (rid, rid0))
    conn.execute("COMMIT")
    conn.close()


# --- the benchmarks ----------------------------------------------------------------------

def own_ledgers(made: str, envs: dict[str, dict[str, str]], workdir: str) -> None:
    """Give each version its own copy of the ledger ``made`` (``WATTPRINT_LEDGER``) and
    open it once: a newer wattprint migrates an older ledger, which the older one then
    could not read."""
    for label, env in envs.items():
        ledger = os.path.join(workdir, f"{label}-{os.path.basename(made)}")
        shutil.copyfile(made, ledger)
        env["WATTPRINT_LEDGER"] = ledger
        measure(wattprint_cmd("runs", "-n", "1"), env=env)


def bench_startup(repeat: int, workdir: str, envs: dict[str, dict[str, str]]) -> dict:
    ledger = os.path.join(workdir, "small.db")
    make_ledger(ledger, 3, envs[list(envs)[-1]])
    own_ledgers(ledger, envs, workdir)
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "wattprint --version": wattprint_cmd("--version"),
        "wattprint --help": wattprint_cmd("--help"),
        "wattprint runs": wattprint_cmd("runs"),
    }
    cc = shutil.which("codecarbon")
    if cc:
        cases["codecarbon --help"] = [cc, "--help"]
    for cmd in cases.values():  # warm-up: .pyc files, page cache, ledger migrations
        for env in envs.values():
            measure(cmd, env=env)
    return compare(cases, envs, repeat, "ms")


def bench_listing(n_runs: int, repeat: int, workdir: str,
                  envs: dict[str, dict[str, str]]) -> dict:
    """Every version lists its own copy of one ledger, made by the last version (the
    ``--against`` one, normally the older)."""
    made = os.path.join(workdir, "big.db")
    made_s = make_ledger(made, n_runs, envs[list(envs)[-1]])
    print(f"  ledger of {n_runs:,} runs made in {made_s:.1f} s "
          f"({os.path.getsize(made) / MIB:.0f} MiB)", flush=True)
    own_ledgers(made, envs, workdir)
    jsonl = os.path.join(workdir, "runs.jsonl")
    cases = {
        "runs --all": wattprint_cmd("runs", "--all"),
        "runs --all --json": wattprint_cmd("runs", "--all", "--json"),
        "export --what runs (csv)": wattprint_cmd("export", "--what", "runs"),
        "export --what runs -o x.jsonl": wattprint_cmd("export", "--what", "runs", "-o",
                                                       jsonl),
    }
    out: dict = {"runs": n_runs, "ledger_mib": os.path.getsize(made) / MIB}
    out.update(compare(cases, envs, repeat, "s"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="*", metavar="startup|listing",
                   help="what to measure (default: both)")
    p.add_argument("--repeat", type=int, default=15, help="start-up runs per command")
    p.add_argument("--runs", type=int, default=100_000, help="runs in the listing ledger")
    p.add_argument("--list-repeat", type=int, default=3, help="runs per listing command")
    p.add_argument("--json", metavar="PATH", help="write the figures here")
    p.add_argument("--against", metavar="SRC",
                   help="also measure the wattprint in SRC (the src folder of another "
                        "checkout, e.g. `git worktree add /tmp/old <commit>` then "
                        "/tmp/old/src), alternating run by run with this one")
    p.add_argument("--make-ledger", metavar="PATH", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.make_ledger:
        _make_ledger(args.make_ledger, args.runs)
        return 0
    args.what = args.what or ["startup", "listing"]
    if set(args.what) - {"startup", "listing"}:
        p.error(f"what to measure: startup or listing, not {args.what}")
    results: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="wattprint-bench-cli-") as workdir:
        if "startup" in args.what:
            print(f"start-up, median of {args.repeat}:", flush=True)
            results["startup"] = bench_startup(args.repeat, workdir, versions(args.against))
        if "listing" in args.what:
            print(f"listing, median of {args.list_repeat}:", flush=True)
            results["listing"] = bench_listing(args.runs, args.list_repeat, workdir,
                                               versions(args.against))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
