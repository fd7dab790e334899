"""The tracker around real CPU work on this machine (sensorless: the CPU/RAM models run),
and ``wattprint doctor`` as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import wattprint

FIXTURES = Path(__file__).parent / "fixtures"
BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def burn(seconds: float) -> None:
    subprocess.run([sys.executable, "-c", BURN.format(s=seconds)], check=True)


def test_tracker_models_cpu_of_exited_children() -> None:
    """Children that finished before stop() still count, at the model's W per vCPU."""
    with wattprint.track("children", gpus=False, rapl_root=str(FIXTURES / "none")) as run:
        with run.phase("burn"):
            burn(0.6)
            burn(0.6)
        with run.phase("idle"):
            pass
    r = run.result
    cpu = next(d for d in r.devices if d.name == "cpu-model")
    assert cpu.kind == "modelled" and r.basis == "modelled"
    max_w = cpu.provenance["coefficients"]["max_w_per_vcpu"]["value"]
    # ~1.2 CPU-s of children plus interpreter start-ups; a busy vCPU-second costs max_w
    assert cpu.energy_j == pytest.approx(1.3 * max_w, rel=0.3)
    assert r.phase("burn").by_domain["cpu"] > 10 * r.phase("idle").by_domain.get("cpu", 0)
    ram = next(d for d in r.devices if d.name == "ram-model")
    assert ram.kind == "modelled" and ram.energy_j > 0
    u = cpu.provenance["uncertainty"]
    assert r.energy_low_j < r.energy_j < r.energy_high_j
    assert u > 0
    assert any("modelled" in w for w in r.warnings)


def test_tracker_in_a_subprocess_reports_json() -> None:
    code = (
        "import json, wattprint\n"
        "with wattprint.track('sub', gpus=False) as run:\n"
        "    with run.phase('work'):\n"
        "        x = sum(i * i for i in range(3_000_000))\n"
        "        run.count(samples=100)\n"
        "print(json.dumps(run.result.to_dict()))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out)
    assert data["energy_j"] > 0 and data["basis"] == "modelled"
    assert data["phases"][0]["name"] == "work"
    assert data["per_unit"]["j_per_sample"] == pytest.approx(data["energy_j"] / 100)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattprint", *args], capture_output=True,
                          text=True, timeout=60)


def test_doctor_on_this_machine() -> None:
    p = run_cli("doctor", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    names = {s["name"] for s in data["sensors"]}
    sources = {u["source"]: u for u in data["unavailable"]}
    # Whatever this machine has, every source is either usable or explained with a fix.
    for source in ("nvml", "amdsmi", "rapl"):
        assert source in sources or any(n.startswith(source) for n in names)
    for u in data["unavailable"]:
        assert u["reason"] and u["message"] and u["fix"]


def test_doctor_with_rapl_fixture_uses_sensor_not_model() -> None:
    p = run_cli("doctor", "--rapl-root", str(FIXTURES / "powercap" / "server_2s"))
    assert p.returncode == 0, p.stderr
    assert "rapl:package-0" in p.stdout and "rapl:dram-1" in p.stdout
    # RAPL covers CPU and DRAM, so neither model stands in beside it
    assert "cpu-model" not in p.stdout and "ram-model" not in p.stdout


def test_doctor_text_explains_missing_rapl() -> None:
    p = run_cli("doctor", "--rapl-root", str(FIXTURES / "does-not-exist"))
    assert p.returncode == 0
    assert "Not usable:" in p.stdout
    rapl_line = next(line for line in p.stdout.splitlines() if line.strip().startswith("rapl"))
    assert "not_present" in rapl_line or "virtualised" in rapl_line
    assert "fix:" in p.stdout
