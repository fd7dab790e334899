"""What gathering a distributed job's parts adds to ``stop()``, by world size.

    python bench/bench_gather.py                   # world sizes 2, 4, 8; 5 rounds each
    python bench/bench_gather.py --sizes 2 4 8 16 --rounds 7

For each world size, real ``torchrun --standalone`` ranks (gloo, CPU) each run a tracker in
the job (``job=None``: detected; parts gathered on rank 0 through the process group's
store) and one outside it (``job=False``), alternating, with ``FakeSensor`` devices so the
figures are about gathering, not sensors; all ranks stop at once after a barrier. Rank 0
reports the median ``stop()`` of both and their difference, which is the gather's cost
(rank 0 waits for every part, so it carries the whole of it). The other ranks' ``stop()``
only puts their part in the store. Results go to stdout as a table and, with
``--json PATH``, to a file. The extrapolation to 64 ranks in docs/benchmarks.md is a
straight line through the measured points (the store is read once per rank).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RANK_SCRIPT = r'''
import json, os, statistics, sys, time
import torch.distributed as dist
import wattprint
from wattprint.testing import FakeSensor

rounds, out = int(sys.argv[1]), sys.argv[2]
dist.init_process_group("gloo")
rank = dist.get_rank()
timings = {"job": [], "alone": []}
for r in range(rounds):
    for kind in (("job", "alone") if r % 2 == 0 else ("alone", "job")):
        run = wattprint.track(f"bench-{kind}", sensors=[FakeSensor(50.0), FakeSensor(5.0, domain="cpu")],
                              job=None if kind == "job" else False).start()
        run.count(tokens=100)
        time.sleep(0.2)
        dist.barrier()
        t0 = time.perf_counter()
        run.stop()
        timings[kind].append(time.perf_counter() - t0)
        if kind == "job" and rank == 0:
            assert run.job_result is not None and not run.job_result.missing_ranks
if rank == 0:
    with open(out, "w") as f:
        json.dump(timings, f)
dist.destroy_process_group()
'''


def measure(size: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "rank.py")
        with open(script, "w") as f:
            f.write(RANK_SCRIPT)
        out = os.path.join(tmp, "timings.json")
        env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "WATTPRINT_RUNTIME_DIR": tmp,
               "OMP_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                               f"--nproc_per_node={size}", script, str(rounds), out],
                              env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise SystemExit(f"world size {size} failed:\n{proc.stderr[-3000:]}")
        with open(out) as f:
            t = json.load(f)
    job, alone = statistics.median(t["job"]), statistics.median(t["alone"])
    return {"world_size": size, "stop_job_ms": job * 1e3, "stop_alone_ms": alone * 1e3,
            "gather_ms": (job - alone) * 1e3, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    rows = []
    print(f"{'ranks':>5} {'stop() in job':>14} {'stop() alone':>13} {'gather adds':>12}")
    for size in args.sizes:
        t0 = time.monotonic()
        row = measure(size, args.rounds)
        rows.append(row)
        print(f"{size:>5} {row['stop_job_ms']:>11.1f} ms {row['stop_alone_ms']:>10.1f} ms "
              f"{row['gather_ms']:>9.1f} ms   ({time.monotonic() - t0:.0f} s)", flush=True)
    if len(rows) >= 2:
        xs = [r["world_size"] for r in rows]
        ys = [r["gather_ms"] for r in rows]
        slope, intercept = statistics.linear_regression(xs, ys)
        print(f"linear fit: {intercept:.1f} ms + {slope:.2f} ms/rank -> 64 ranks: "
              f"{intercept + 64 * slope:.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
