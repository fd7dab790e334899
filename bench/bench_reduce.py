"""``when`` and ``where`` over a 7-day horizon: library calls and CLI wall times.

* ``plan_where`` over 100 cloud regions (the first 100 of the shipped table, sorted),
  a 6 h job, each region at its best start within 7 days (162 h window + 6 h job): cold
  (a fresh interpreter: the shipped tables parsed and the typical weeks built) and warm
  (the same process again).
* ``plan_when`` for one hourly zone over the same horizon, cold and warm.
* ``wattprint when …`` and ``wattprint where …`` as fresh ``python -m wattprint``
  subprocesses (interpreter start-up included), with ``python -m wattprint --version``
  for the start-up share.

Medians of ``--repeat`` runs (default 7), wall and CPU time (CPU time is the robust
figure on a shared machine). Target (issue 15): <= 300 ms for a 7-day horizon over 100
regions.

    python bench/bench_reduce.py [--repeat 7] [--json out.json]

Not part of the test suite (pytest collects ``tests/`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

_LIB = """
import sys, time, json
from datetime import datetime, timezone
from wattprint.reduce.where import known_regions, plan_where
from wattprint.reduce.when import plan_when
now = datetime(2026, 6, 10, 9, 15, tzinfo=timezone.utc)
regions = known_regions()[:100]
out = {}
def timed(key, fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    out[key + "_wall"] = time.perf_counter() - w
    out[key + "_cpu"] = time.process_time() - c
if sys.argv[1] == "when":
    for label in ("cold", "warm"):
        timed("when_" + label, lambda: plan_when("US-CAL-CISO", 6 * 3600, now=now,
                                                  within_s=162 * 3600))
else:
    for label in ("cold", "warm"):
        timed("where_" + label, lambda: plan_where(regions, 6 * 3600, 2 * 3.6e9, now=now,
                                                    within_s=162 * 3600))
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wall(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child: user + system)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, env=_env(), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    lib: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for which in ("when", "where"):
            out = subprocess.run([sys.executable, "-c", _LIB, which], env=_env(), check=True,
                                 capture_output=True, text=True).stdout
            for k, v in json.loads(out).items():
                lib.setdefault(k, []).append(v)
    wp = [sys.executable, "-m", "wattprint"]
    cli = {
        "version": [wp + ["--version"]],
        "when": [wp + ["when", "--duration", "6h", "--within", "162h", "--zone",
                       "US-CAL-CISO", "--energy", "2MWh"]],
        "where_all": [wp + ["where", "--duration", "6h", "--within", "162h", "--energy",
                            "2MWh", "--regions", "aws:*,azure:*,gcp:*", "--top", "0"]],
    }
    cli_t = {k: [_wall(v[0]) for _ in range(args.repeat)] for k, v in cli.items()}
    result = {"repeat": args.repeat, "load_average": os.getloadavg(),
              "library_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in lib.items()},
              "cli_wall_ms": {k: round(statistics.median(w for w, _ in v) * 1000, 1)
                              for k, v in cli_t.items()},
              "cli_cpu_ms": {k: round(statistics.median(c for _, c in v) * 1000, 1)
                             for k, v in cli_t.items()}}
    n = subprocess.run(wp + ["where", "--duration", "1h", "--energy", "1MWh", "--regions",
                             "aws:*,azure:*,gcp:*", "--json"], env=_env(), capture_output=True,
                       text=True, check=True).stdout
    result["cli_where_regions"] = len(json.loads(n)["ranked"])
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
