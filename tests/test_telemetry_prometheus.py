"""A real Prometheus scraping ``wattprint exporter`` run as a subprocess (8 fake GPUs on a
fake host, tests/_fake_host.py) while a tracked run (2 fake GPUs at 300 W, recorded in the
ledger) is in progress; Prometheus's HTTP API is compared with the ledger's figures for the
same run, then the exporter is killed and restarted and no counter may go down.

Tolerances: rates over 60 s are compared with the ledger's mean power within 10 %
(Prometheus extrapolates a rate from scrapes 1 s apart; the ledger's samples are flushed
every 0.5-2 s). Counter values are compared after the run ended, when both are final:
within 1e-9 relative (the exposition prints floats with repr)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wattprint.ledger import Ledger

from _cli import cli_env
from _services._proc import Daemon, clean_env, free_port, wait_for
from _services.prometheus import Prometheus

pytestmark = [pytest.mark.services, pytest.mark.slow]

HERE = Path(__file__).parent
FAKE_HOST = [sys.executable, str(HERE / "_fake_host.py")]


def _fake_host_env(tmp_path: Path, gpus: int) -> dict[str, str]:
    """The CLI test environment with ``gpus`` fake GPUs, all visible: a
    ``CUDA_VISIBLE_DEVICES`` left in the test process by a library (seen in the full
    suite) would hide them from NVML's device list."""
    env = clean_env({**cli_env(tmp_path), "WATTPRINT_FAKE_GPUS": str(gpus)})
    for name in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"):
        env.pop(name, None)
    return env


def _exposed(port: int, needle: str) -> str:
    """The exporter's lines containing ``needle`` (for failure messages)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return "\n".join(line for line in r.read().decode().splitlines()
                             if needle in line)[:3000] or f"(no line with {needle})"
    except OSError as err:
        return f"(scrape failed: {err})"


def _exporter(tmp_path: Path, port: int, ledger: str, name: str) -> Daemon:
    env = _fake_host_env(tmp_path, 8)
    daemon = Daemon(name, [*FAKE_HOST, "exporter", "--port", str(port), "--ledger", ledger,
                           "--state", str(tmp_path / "exporter-state.json"), "--rate-hz", "2",
                           "--grace-s", "600", "--zone", "FR", "--price-per-kwh", "0.2"],
                    tmp_path / f"{name}.log", env=env)

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return b"wattprint_energy_joules_total" in r.read()
        except OSError:
            return False
    wait_for(name, ready, 60, daemon.died)
    return daemon


def _ledger_gpu_power_w(ledger_path: str, run_id: str, window_s: float) -> tuple[float, int]:
    """Mean GPU power of the run over its last ``window_s`` of flushed samples, and the
    number of GPUs the run counts."""
    with Ledger(ledger_path, readonly=True) as ledger:
        record = ledger.get(run_id)
        gpus = [i for i, d in enumerate(record.devices) if d.domain == "gpu" and d.counted]
        total = 0.0
        for i in gpus:
            pts = [(t, e) for _d, t, _p, e in ledger.samples(run_id, device=i)]
            window = [p for p in pts if p[0] >= pts[-1][0] - window_s]
            (t0, e0), (t1, e1) = window[0], window[-1]
            total += (e1 - e0) / (t1 - t0)
    return total, len(gpus)


def test_prometheus_scrapes_the_exporter_and_agrees_with_the_ledger(tmp_path):
    ledger_path = str(tmp_path / "ledger.db")
    stop_file = tmp_path / "stop"
    env = _fake_host_env(tmp_path, 2)
    tracked = subprocess.Popen([*FAKE_HOST, "track", ledger_path, "pretrain", "llm",
                                "job-42", str(stop_file)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    prom = exporter = None
    try:
        run_id = tracked.stdout.readline().strip()
        assert run_id, tracked.stderr.read()
        port = free_port()
        exporter = _exporter(tmp_path, port, ledger_path, "exporter")
        prom = Prometheus(tmp_path / "prom", [f"127.0.0.1:{port}"])
        run_sel = f'wattprint_energy_joules_total{{run="{run_id}",domain="gpu"}}'
        # A window the series covers whole (rate() divides by the window, so a series
        # younger than it reads low): 60 s of scrapes after the first one. The run's
        # series move in steps (the tracker flushes every 2 s): over 60 s a step more or
        # less is ~3 %, and a loaded machine may miss a scrape or two at the window's ends.
        try:
            wait_for("the first scrape of the run", lambda: prom.value(f"count({run_sel})"),
                     60, exporter.died, every_s=0.5)
        except Exception as err:
            raise AssertionError(f"{err}\nexporter: {_exposed(port, run_id)}\n"
                                 f"targets: {prom.targets_up()}") from err
        time.sleep(63)
        wait_for("60 s of scrapes", lambda: (prom.value(
            f"min(count_over_time({run_sel}[60s]))") or 0) >= 40, 60, exporter.died,
            every_s=0.5)
        rate_w = prom.value(f"sum(rate({run_sel}[60s]))")
        ledger_w, n_gpus = _ledger_gpu_power_w(ledger_path, run_id, 60.0)
        assert n_gpus >= 1 and ledger_w == pytest.approx(300.0 * n_gpus, rel=0.05)
        assert rate_w == pytest.approx(ledger_w, rel=0.10)
        increase_j = prom.value(f"sum(increase({run_sel}[60s]))")
        assert increase_j == pytest.approx(ledger_w * 60.0, rel=0.10)
        node_w = prom.value('sum(rate(wattprint_energy_joules_total{run="",domain="gpu"}[60s]))')
        assert node_w == pytest.approx(8 * 300.0, rel=0.10)
        info = prom.query(f'wattprint_run_info{{run="{run_id}"}}')
        assert info[0]["metric"]["project"] == "llm" and info[0]["metric"]["job_id"] == "job-42"
        assert info[0]["metric"]["status"] == "running"

        # the run ends: Prometheus gets the ledger's final figures
        stop_file.touch()
        assert tracked.wait(60) == 0, tracked.stderr.read()
        with Ledger(ledger_path, readonly=True) as ledger:
            record = ledger.get(run_id)
            from wattprint.report._data import build_report

            report = build_report(ledger, run_id)
        assert record.status == "finished"
        total = f'sum(wattprint_energy_joules_total{{run="{run_id}"}})'
        wait_for("the final figures", lambda: prom.value(
            f'count(wattprint_run_info{{run="{run_id}",status="finished"}})') == 1, 30,
            exporter.died, every_s=0.5)
        # the status and the final total come in one scrape of the exporter, but a query
        # may read the new status series before the total's sample of that scrape is in
        wait_for("the final total", lambda: prom.value(total) == pytest.approx(
            record.energy_j, rel=1e-9), 30, exporter.died, every_s=0.5)
        assert prom.value(total) == pytest.approx(record.energy_j, rel=1e-9)
        co2e = prom.value(f'sum(wattprint_co2e_grams_total{{run="{run_id}"}})')
        assert co2e == pytest.approx(report.carbon["co2e_location_g"], rel=1e-6)
        cost = prom.value(f'sum(wattprint_cost_total{{run="{run_id}"}})')
        assert cost == pytest.approx(record.energy_j / 3.6e6 * 0.2, rel=1e-9)
        assert all(t["health"] == "up" for t in prom.targets_up())

        # the exporter killed (no clean shutdown) and restarted: no counter goes down
        before = prom.value('sum(wattprint_energy_joules_total{run="",domain="gpu"})')
        os.kill(exporter.pid, signal.SIGKILL)
        exporter.proc.wait(10)
        exporter = _exporter(tmp_path, port, ledger_path, "exporter-2")
        wait_for("scrapes after the restart", lambda: (prom.value(
            'sum(wattprint_energy_joules_total{run="",domain="gpu"})') or 0) > before + 2400,
            60, exporter.died, every_s=0.5)
        resets = prom.query('resets(wattprint_energy_joules_total[5m]) > 0')
        assert resets == [], resets
        assert prom.value(total) == pytest.approx(record.energy_j, rel=1e-9)
    finally:
        stop_file.touch()
        for daemon in (prom, exporter):
            if daemon is not None:
                daemon.stop()
        if tracked.poll() is None:
            tracked.kill()
