"""Ledgers with realistic recorded runs for report tests, written through the ledger's own
API: two measured GPU fine-tuning runs (fp16 and int8) with phases, tokens and an
evaluation phase, in Germany in July 2023 (hourly intensity shipped), and one
sensorless run (CPU and RAM models only)."""

from __future__ import annotations

import math
import random
from typing import Any

from wattprint.ledger import Ledger
from wattprint.result import DeviceEnergy, PhaseEnergy, RunResult
from wattprint.testing import FakeSensor

GPU_PROV = {"kind": "measured", "method": "NVML total energy counter (nvmlDeviceGetTotal"
            "EnergyConsumption)", "source": "nvml"}
CPU_PROV = {"kind": "measured", "method": "RAPL package energy counter (powercap)",
            "source": "rapl"}
CPU_MODEL_PROV = {"kind": "modelled", "model": "cpu-model", "matched_name": "AMD EPYC",
                  "uncertainty": 0.35,
                  "coefficients": {"max_w_per_vcpu": {"value": 2.0, "source": "Cloud Carbon "
                                                      "Footprint SPECpower-derived"}}}
RAM_MODEL_PROV = {"kind": "modelled", "model": "ram-model", "uncertainty": 0.5,
                  "coefficients": {"w_per_gb": {"value": 0.3725, "source": "Green Algorithms"}}}


def _sensor(name: str, domain: str, kind: str, device: str, prov: dict[str, Any]) -> FakeSensor:
    return FakeSensor(0.0, name=name, domain=domain, kind=kind, device=device,
                      provenance=prov)


def record_run(ledger: Ledger, *, name: str, devices: list[tuple[str, str, str, str, dict]],
               power: list[Any], duration_s: float, every_s: float = 1.0,
               started_at: str = "2023-07-03T08:20:00.000+00:00", zone: str | None = "DE",
               phases: list[tuple[str, float, float]] = (), tokens: float | None = None,
               tags: tuple[str, ...] = (), settings: dict[str, Any] | None = None,
               seed: int = 0, status: str = "finished", end_reason: str | None = None) -> str:
    """Record one run: ``power[i](t)`` is the watts of device i; samples every ``every_s``;
    ``phases``: (name, start_s, end_s)."""
    rng = random.Random(seed)
    sensors = [_sensor(*d) for d in devices]
    writer = ledger.begin_run(name=name, project="reports", tags=list(tags),
                              command=["python", "train.py", "--name", name], mode="process",
                              zone=zone, settings=settings or {}, sensors=sensors)
    energies = [0.0] * len(devices)
    peaks = [0.0] * len(devices)
    rows = []
    n = int(duration_s / every_s)
    for k in range(1, n + 1):
        t = k * every_s
        for i, p in enumerate(power):
            w = max(p(t) * (1 + rng.gauss(0, 0.02)), 0.0)
            energies[i] += w * every_s
            peaks[i] = max(peaks[i], w)
            rows.append((i, t, w, energies[i]))
    writer.add_samples(rows)
    total = sum(energies)

    def energy_between(i: int, a: float, b: float) -> float:
        return sum(r[2] * every_s for r in rows if r[0] == i and a < r[1] <= b)

    unc = [float(d[4].get("uncertainty", 0.0)) for d in devices]
    devs = [DeviceEnergy(name=d[0], domain=d[1], kind=d[2], device=d[3], energy_j=e,
                         device_energy_j=e, mean_power_w=e / duration_s, peak_power_w=pk,
                         samples=n, counted=True, provenance=d[4])
            for d, e, pk in zip(devices, energies, peaks)]
    by_domain: dict[str, float] = {}
    for d, e in zip(devices, energies):
        by_domain[d[1]] = by_domain.get(d[1], 0.0) + e
    phase_rows = []
    for pname, a, b in phases:
        dom: dict[str, float] = {}
        for i, d in enumerate(devices):
            dom[d[1]] = dom.get(d[1], 0.0) + energy_between(i, a, b)
        counters = {"tokens": tokens * (b - a) / duration_s} if tokens and "eval" not in pname \
            else {}
        phase_rows.append(PhaseEnergy(pname, sum(dom.values()), b - a, 1, dom, counters))
    kinds = {d[2] for d in devices}
    result = RunResult(name=name, mode="process", started_at=started_at, duration_s=duration_s,
                       energy_j=total, energy_low_j=sum(e * (1 - u) for e, u in zip(energies, unc)),
                       energy_high_j=sum(e * (1 + u) for e, u in zip(energies, unc)),
                       by_domain=by_domain, devices=devs, phases=phase_rows,
                       counters={"tokens": tokens} if tokens else {},
                       peak_power_w=sum(peaks), status=status, end_reason=end_reason)
    assert result.basis == (kinds.pop() if len(kinds) == 1 else "mixed")
    writer.finish(result, exit_code=0 if status == "finished" else 143)
    with ledger._writing() as conn:
        conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (started_at, writer.run_id))
    return writer.run_id


def gpu_power(base: float, seed: int, eval_every: float = 1200, eval_len: float = 180):
    rng = random.Random(seed)
    wobble = [rng.uniform(-0.05, 0.05) for _ in range(64)]

    def p(t: float) -> float:
        if t < 120:  # warm-up
            return base * (0.3 + 0.5 * t / 120)
        if (t % eval_every) < eval_len:
            return base * 0.45
        return base * (1 + wobble[int(t / 300) % 64] + 0.03 * math.sin(t / 40))
    return p


def fp16_and_int8(ledger: Ledger, *, duration_s: float = 7200,
                  every_s: float = 2.0) -> tuple[str, str]:
    """Two 2-hour fine-tuning runs on 2 GPUs (measured) + CPU (RAPL) + RAM (modelled)."""
    ids = []
    for label, gpu_w, tokens, seed in (("llama-ft fp16", 310.0, 2.4e8, 1),
                                       ("llama-ft int8", 230.0, 2.4e8, 2)):
        dur = duration_s if "fp16" in label else duration_s * 0.9
        devices = [("nvml:0", "gpu", "measured", "NVIDIA A100-SXM4-80GB", GPU_PROV),
                   ("nvml:1", "gpu", "measured", "NVIDIA A100-SXM4-80GB", GPU_PROV),
                   ("rapl:package-0", "cpu", "measured", "Intel Xeon Gold 6338", CPU_PROV),
                   ("ram-model", "ram", "modelled", "memory in use (modelled)", RAM_MODEL_PROV)]
        power = [gpu_power(gpu_w, seed), gpu_power(gpu_w * 0.97, seed + 10),
                 lambda t: 95.0 + 10 * math.sin(t / 300), lambda t: 12.0]
        evals = [("train/eval", a, a + 180) for a in range(1200, int(dur), 1200)][:1]
        ids.append(record_run(
            ledger, name=label, devices=devices, power=power, duration_s=dur,
            every_s=every_s, phases=[("warmup", 0, 120), ("train", 120, dur), *evals],
            tokens=tokens, tags=("fine-tuning",), seed=seed,
            settings={"pue": 1.2, "mode": "process"}))
    return ids[0], ids[1]


def sensorless(ledger: Ledger, *, duration_s: float = 900) -> str:
    devices = [("cpu-model", "cpu", "modelled", "AMD EPYC (8 vCPU, modelled)", CPU_MODEL_PROV),
               ("ram-model", "ram", "modelled", "memory in use (modelled)", RAM_MODEL_PROV)]
    return record_run(ledger, name="cpu baseline", devices=devices,
                      power=[lambda t: 14.0 + 2 * math.sin(t / 60), lambda t: 1.5],
                      duration_s=duration_s, every_s=1.0, zone="FR", tokens=1e6, seed=5,
                      started_at="2024-03-01T10:00:00.000+00:00")
