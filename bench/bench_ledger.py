"""Ledger benchmarks: sample ingest rate, and the latency of ``wattprint runs`` and
``wattprint show`` on a large ledger.

1. **ingest** — samples pushed through :meth:`RunWriter.sink` (what the sampler thread
   calls for every reading) and written by :meth:`RunWriter.flush` in batches the size a
   0.5 s flush would see at the given rate; 1,000,000 samples over 4 devices, on a fresh
   ledger file; median of ``--reps`` repetitions. Target: >= 100,000 samples/s.
2. **fill** — a ledger of ``--runs`` runs x ``--samples`` samples (default 10,000 x 1,000
   = 10 million samples), each run recorded as a tracker records it: begin (running row
   and 2 devices), samples, finish (totals, devices, a phase, counters); a tenth of the
   runs have project ``p3`` and tag ``t7``.
3. **CLI** — ``python -m wattprint runs``, ``runs --project p3 --tag t7 --sort energy``,
   ``show RUN`` and ``show last`` as fresh subprocesses against that ledger, each
   ``--reps`` times; the medians are wall times including interpreter start-up, which
   ``python -m wattprint --version`` shows alone. Targets: ``runs`` <= 200 ms,
   ``show`` <= 300 ms.

    python bench/bench_ledger.py                      # full: ~2-3 min on 2 vCPUs
    python bench/bench_ledger.py --runs 1000          # quick
    python bench/bench_ledger.py --keep /tmp/big.db   # keep the filled ledger

Not part of the test suite (pytest collects ``tests/`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from wattprint.ledger import Ledger
from wattprint.result import DeviceEnergy, PhaseEnergy, RunResult


class _Sensor:
    def __init__(self, i: int) -> None:
        self.name, self.domain, self.kind, self.device = f"gpu:{i}", "gpu", "measured", ""

    def provenance(self) -> dict:
        return {"kind": "measured", "method": "bench"}


def bench_ingest(folder: str, n: int = 1_000_000, devices: int = 4,
                 rate_hz: float = 10.0) -> float:
    """Samples per second through sink() + flush()."""
    path = os.path.join(folder, f"ingest-{time.monotonic_ns()}.db")
    with Ledger(path) as ledger:
        writer = ledger.begin_run(name="ingest", sensors=[_Sensor(i) for i in range(devices)],
                                  t0=0.0)
        sink, flush = writer.sink, writer.flush
        batch = max(int(devices * rate_hz * 0.5), 1) * 500  # 500 flush intervals' worth
        start = time.perf_counter()
        for i in range(n):
            sink(i % devices, i * 0.025, 100.0, float(i))
            if i % batch == batch - 1:
                flush()
        flush()
        elapsed = time.perf_counter() - start
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    return n / elapsed


def _result(i: int, duration_s: float, energies: list[float]) -> RunResult:
    devices = [DeviceEnergy(name=f"gpu:{k}", domain="gpu", kind="measured", device="",
                            energy_j=e, device_energy_j=e, mean_power_w=e / duration_s,
                            peak_power_w=e / duration_s * 1.1, samples=0, counted=True,
                            provenance={"kind": "measured"}) for k, e in enumerate(energies)]
    total = sum(energies)
    return RunResult(name=f"run-{i}", mode="process", started_at="", duration_s=duration_s,
                     energy_j=total, energy_low_j=total, energy_high_j=total,
                     by_domain={"gpu": total}, devices=devices,
                     phases=[PhaseEnergy("train", total * 0.9, duration_s * 0.9, 1,
                                         {"gpu": total * 0.9}, {"tokens": 1e6})],
                     counters={"tokens": 1e6}, peak_power_w=total / duration_s * 1.1)


def fill(path: str, runs: int, samples: int, devices: int = 2) -> float:
    """Record ``runs`` runs of ``samples`` samples each; return the seconds it took."""
    per_device = samples // devices
    start = time.perf_counter()
    with Ledger(path) as ledger:
        sensors = [_Sensor(k) for k in range(devices)]
        for i in range(runs):
            tagged = i % 10 == 7
            writer = ledger.begin_run(name=f"run-{i}", project="p3" if tagged else f"p{i % 3}",
                                      tags=["t7"] if tagged else [], command=["python", "x"],
                                      mode="process", sensors=sensors, t0=0.0)
            power = 100.0 + (i % 50)
            writer.add_samples((k, j * 0.1, power, power * j * 0.1)
                               for k in range(devices) for j in range(1, per_device + 1))
            writer.finish(_result(i, per_device * 0.1, [power * per_device * 0.1] * devices))
            if i % 1000 == 999:
                print(f"  filled {i + 1:,} runs", file=sys.stderr)
    return time.perf_counter() - start


def time_cli(path: str, args: list[str], reps: int) -> float:
    env = dict(os.environ, WATTPRINT_LEDGER=path)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "wattprint", *args], env=env,
                              capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"wattprint {' '.join(args)} failed: {proc.stderr}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=1_000, help="samples per run")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--keep", metavar="PATH", help="fill this ledger and keep it")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    figures: dict[str, object] = {"python": platform.python_version(),
                                  "cpus": os.cpu_count(), "platform": platform.platform()}
    import sqlite3

    figures["sqlite"] = sqlite3.sqlite_version
    with tempfile.TemporaryDirectory() as folder:
        rates = [bench_ingest(folder) for _ in range(args.reps)]
        figures["ingest_samples_per_s"] = statistics.median(rates)
        print(f"ingest: {figures['ingest_samples_per_s']:,.0f} samples/s "
              f"(median of {args.reps}; min {min(rates):,.0f}, max {max(rates):,.0f})")
        path = args.keep or os.path.join(folder, "big.db")
        if os.path.exists(path):
            raise SystemExit(f"{path} exists; remove it or choose another --keep")
        seconds = fill(path, args.runs, args.samples)
        total = args.runs * args.samples
        figures.update(fill_runs=args.runs, fill_samples=total, fill_s=seconds,
                       fill_samples_per_s=total / seconds,
                       ledger_mb=os.path.getsize(path) / 1e6)
        print(f"fill: {args.runs:,} runs, {total:,} samples in {seconds:.1f} s "
              f"({total / seconds:,.0f} samples/s end to end); file "
              f"{figures['ledger_mb']:,.0f} MB")
        with Ledger(path, readonly=True) as ledger:
            some_id = ledger.runs(sort="started", descending=False, limit=1)[0].id
        commands = {
            "startup (--version)": ["--version"],
            "runs": ["runs"],
            "runs --project p3 --tag t7 --sort energy": ["runs", "--project", "p3", "--tag",
                                                         "t7", "--sort", "energy"],
            "show OLDEST": ["show", some_id],
            "show last": ["show", "last"],
        }
        figures["cli_median_s"] = {}
        for label, cli_args in commands.items():
            median = time_cli(path, cli_args, args.reps)
            figures["cli_median_s"][label] = median  # type: ignore[index]
            print(f"wattprint {label}: {median * 1000:.0f} ms (median of {args.reps})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)


if __name__ == "__main__":
    main()
