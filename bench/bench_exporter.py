"""What ``wattprint exporter`` costs the host, beside ``prometheus-node-exporter``.

The exporter runs as its own process on a fake 8-GPU host (``wattprint.testing.fake_nvml.
RealTimeNVML``: 8 GPUs at 300 W, fake time following the real clock) with a one-socket
powercap tree (package-0 with core and dram zones, written to a temporary folder), and
reads a ledger holding 20 runs in progress (10 devices each: 8 GPUs, CPU package, DRAM)
that this script feeds like 20 trackers would (one sample per device every 2 s).
``prometheus-node-exporter`` (Debian) runs beside it with its default collectors. Both
are scraped every ``--interval`` seconds (default 5, as a Prometheus would), alternating
(the second one half an interval after the first; the order swaps every round), for
``--duration`` seconds per round after a warm-up. Reported per process: CPU % of one core
over the window (user + system, from /proc), RSS (max over the scrapes), scrape latency
(median, p95, max; the whole HTTP GET), exposition size; exporter / node-exporter
ratios, with PASS/FAIL against the targets (≤ 0.5 % of a core, ≤ 40 MiB, median scrape
≤ 20 ms; the p95 is printed beside it). On a shared machine the wall time of a scrape is
mostly waiting for a CPU, so the script also times the work of one scrape in-process
(``time.thread_time`` around ``Exporter.exposition()`` on the same ledger, ledger re-read
each time): the CPU a scrape costs, whatever the load.

    python bench/bench_exporter.py                      # 2 rounds of 60 s, ~3 minutes
    python bench/bench_exporter.py --rounds 1 --duration 20   # smoke run
    python bench/bench_exporter.py --json bench/results/exporter-DATE.json

The exporter's CPU includes the fake NVML's own Python calls (a real NVML call is C).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, SRC)

RUNS = 20
GPUS = 8
TARGETS = {"cpu_pct": 0.5, "rss_mib": 40.0, "scrape_ms": 20.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _powercap_tree(root: str) -> None:
    zones = [("intel-rapl:0", "package-0", 48_213_795_326),
             ("intel-rapl:0/intel-rapl:0:0", "core", 21_004_117_201),
             ("intel-rapl:0/intel-rapl:0:1", "dram", 7_654_321_098)]
    for rel, name, energy_uj in zones:
        zone = os.path.join(root, rel)
        os.makedirs(zone, exist_ok=True)
        for attr, value in (("name", name), ("energy_uj", energy_uj),
                            ("max_energy_range_uj", 262_143_328_850), ("enabled", 1)):
            with open(os.path.join(zone, attr), "w") as f:
                f.write(f"{value}\n")


def child(port: int, ledger: str, rapl: str, state: str) -> int:
    """The exporter process: the CLI's own code path with fake GPUs and a fake powercap."""
    from wattprint.telemetry.exporter import ExporterOptions, run
    from wattprint.testing.fake_nvml import FakeGPU, RealTimeNVML

    nvml = RealTimeNVML([FakeGPU(power_w=300.0) for _ in range(GPUS)])
    options = ExporterOptions(port=port, ledger=ledger, state_path=state, zone="FR",
                              price_per_kwh=0.2).checked()
    return run(options, detect_options={"nvml": nvml, "rapl_root": rapl}, ready=None)


class Feeder:
    """20 runs in progress, fed like trackers would: one sample per device every 2 s."""

    def __init__(self, ledger_path: str, sleeper_pid: int) -> None:
        from wattprint.ledger import Ledger
        from wattprint.testing import FakeSensor

        self.ledger = Ledger(ledger_path)
        sensors = ([FakeSensor(300.0, name=f"nvml:{i}", provenance={"uuid": f"GPU-{i}"})
                    for i in range(GPUS)]
                   + [FakeSensor(90.0, name="rapl:package-0", domain="cpu"),
                      FakeSensor(12.0, name="rapl:dram", domain="dram")])
        self.writers = [self.ledger.begin_run(name=f"run-{k}", project=f"p{k % 4}",
                                              sensors=sensors, pid=sleeper_pid)
                        for k in range(RUNS)]
        self.watts = [s._power(0.0) for s in sensors]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(2.0):
            now = time.monotonic()
            for w in self.writers:
                for i, watts in enumerate(self.watts):
                    w.sink(i, now, watts, watts * (now - t0))
                w.flush()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for w in self.writers:
            w.abandon()
        self.ledger.close()


def _scrape(url: str) -> tuple[float, int]:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1000.0, len(body)


def _cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _round(targets: dict, duration_s: float, interval_s: float, warmup_s: float) -> dict:
    """Scrape both, alternating, for ``duration_s`` after ``warmup_s``; returns figures."""
    names = list(targets)
    procs = {n: psutil.Process(targets[n]["pid"]) for n in names}
    lat = {n: [] for n in names}
    rss = {n: [] for n in names}
    size = {n: 0 for n in names}
    t_end_warm = time.monotonic() + warmup_s
    while time.monotonic() < t_end_warm:  # warm-up scrapes, not measured
        for n in names:
            _scrape(targets[n]["url"])
        time.sleep(interval_s / 2)
    cpu0 = {n: _cpu_s(procs[n]) for n in names}
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < duration_s:
        for j, n in enumerate(names):
            due = t0 + k * interval_s + j * interval_s / 2
            time.sleep(max(0.0, due - time.monotonic()))
            ms, nbytes = _scrape(targets[n]["url"])
            lat[n].append(ms)
            size[n] = nbytes
            rss[n].append(procs[n].memory_info().rss / 2**20)
        k += 1
    wall = time.monotonic() - t0
    out = {}
    for n in names:
        xs = sorted(lat[n])
        out[n] = {"cpu_pct": 100.0 * (_cpu_s(procs[n]) - cpu0[n]) / wall,
                  "rss_mib": max(rss[n]), "scrape_ms_median": statistics.median(xs),
                  "scrape_ms_p95": xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))],
                  "scrape_ms_max": xs[-1], "scrapes": len(xs), "exposition_bytes": size[n],
                  "window_s": wall}
    return out


def _scrape_cpu_ms(ledger: str, rapl: str, state: str, n: int = 50) -> float:
    """Median CPU (ms, this thread) of one ``exposition()`` with the ledger re-read."""
    from wattprint.telemetry.exporter import Exporter, ExporterOptions
    from wattprint.testing.fake_nvml import FakeGPU, RealTimeNVML

    nvml = RealTimeNVML([FakeGPU(power_w=300.0) for _ in range(GPUS)])
    exp = Exporter(ExporterOptions(ledger=ledger, state_path=state, zone="FR",
                                   price_per_kwh=0.2),
                   detect_options={"nvml": nvml, "rapl_root": rapl})
    exp.start(serve=False)
    try:
        exp.factors.wait()
        exp.exposition()
        times = []
        for _ in range(n):
            t = time.thread_time()
            exp.runs.refresh(force=True)  # a scrape re-reads the ledger (at most 1/s)
            exp.exposition()
            times.append((time.thread_time() - t) * 1000.0)
        return statistics.median(times)
    finally:
        exp.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per round")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between scrapes")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=12.0)
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--child", nargs=4, metavar=("PORT", "LEDGER", "RAPL", "STATE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(int(args.child[0]), *args.child[1:])

    node_exporter = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
    if not os.access(node_exporter, os.X_OK):
        sys.exit("prometheus-node-exporter is not installed: apt-get install -y "
                 "prometheus-node-exporter")
    tmp = tempfile.mkdtemp(prefix="wattprint-bench-exporter-")
    rapl = os.path.join(tmp, "powercap")
    _powercap_tree(rapl)
    ledger = os.path.join(tmp, "ledger.db")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(86400)"])
    feeder = Feeder(ledger, sleeper.pid)
    wp_port, ne_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CUDA_VISIBLE_DEVICES", None)  # all 8 fake GPUs visible
    exporter = subprocess.Popen([sys.executable, __file__, "--child", str(wp_port), ledger,
                                 rapl, os.path.join(tmp, "state.json")], env=env)
    node = subprocess.Popen([node_exporter, f"--web.listen-address=127.0.0.1:{ne_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    targets = {"wattprint": {"pid": exporter.pid, "url": f"http://127.0.0.1:{wp_port}/metrics"},
               "node-exporter": {"pid": node.pid,
                                 "url": f"http://127.0.0.1:{ne_port}/metrics"}}
    rounds = []
    try:
        deadline = time.monotonic() + 60
        for t in targets.values():
            while True:
                try:
                    _scrape(t["url"])
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        first = _scrape(targets["wattprint"]["url"])
        print(f"wattprint first scrape {first[0]:.1f} ms", flush=True)
        for r in range(args.rounds):
            order = dict(reversed(list(targets.items()))) if r % 2 else targets
            res = _round(order, args.duration, args.interval, args.warmup if r == 0 else 2.0)
            rounds.append(res)
            for n, f in res.items():
                print(f"round {r + 1} {n:14s} CPU {f['cpu_pct']:6.3f} % of a core  RSS "
                      f"{f['rss_mib']:5.1f} MiB  scrape median {f['scrape_ms_median']:5.1f} ms "
                      f"p95 {f['scrape_ms_p95']:5.1f} max {f['scrape_ms_max']:5.1f}  "
                      f"{f['exposition_bytes']} B", flush=True)
        body = urllib.request.urlopen(targets["wattprint"]["url"]).read().decode()
        series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        runs_seen = len({line.split('run="')[1].split('"')[0] for line in body.splitlines()
                         if line.startswith("wattprint_run_info")})
        print(f"wattprint exposition: {series} samples, {runs_seen} runs", flush=True)
        scrape_cpu_ms = _scrape_cpu_ms(ledger, rapl, os.path.join(tmp, "state-inproc.json"))
        print(f"wattprint CPU per scrape (in process, thread_time): {scrape_cpu_ms:.2f} ms",
              flush=True)
    finally:
        for p in (exporter, node):
            p.send_signal(signal.SIGTERM)
        for p in (exporter, node):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        feeder.stop()
        sleeper.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds)

    keys = ("cpu_pct", "rss_mib", "scrape_ms_median", "scrape_ms_p95", "scrape_ms_max")
    summary = {n: {k: med(n, k) for k in keys} for n in targets}
    print("\nmedian over rounds      wattprint   node-exporter   ratio")
    for k in keys:
        a, b = summary["wattprint"][k], summary["node-exporter"][k]
        print(f"  {k:18s} {a:11.3f} {b:15.3f} {a / b if b else float('nan'):7.2f}")
    verdict = {
        "cpu_pct": summary["wattprint"]["cpu_pct"] <= TARGETS["cpu_pct"],
        "rss_mib": summary["wattprint"]["rss_mib"] <= TARGETS["rss_mib"],
        "scrape_ms": summary["wattprint"]["scrape_ms_median"] <= TARGETS["scrape_ms"]}
    for k, ok in verdict.items():
        print(f"  {'PASS' if ok else 'FAIL'} {k} target {TARGETS[k]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": rounds, "summary": summary, "targets": TARGETS,
                       "verdict": verdict, "duration_s": args.duration,
                       "interval_s": args.interval, "cpu": platform.processor() or
                       platform.machine(), "cpus": os.cpu_count(),
                       "python": platform.python_version(), "series": series,
                       "scrape_cpu_ms": scrape_cpu_ms,
                       "runs": runs_seen}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
