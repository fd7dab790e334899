#!/usr/bin/env python3
"""Check wattprint's NVIDIA measurements against NVML itself on a real GPU.

1. Runs a matmul workload with varying load (heavy / half duty / idle, in 6 s cycles) for
   ``--duration`` seconds and samples, at ``--rate-hz``, the GPU's total-energy counter
   (nvmlDeviceGetTotalEnergyConsumption) and its power (nvmlDeviceGetPowerUsage). Prints
   the energy from the counter, the energy from trapezoid-integrated power, their ratio,
   and the energy wattprint's ``open_nvml_sensors`` measured over the same window.
2. Runs two processes on the GPU, one heavy and one light, and prints the share of the
   GPU's energy wattprint attributes to each (and NVML's raw per-process SM utilisation).
3. Prints the enforced and default power limits.

``--json PATH`` writes every figure. Needs an NVIDIA GPU and driver, nvidia-ml-py and
torch with CUDA; without a GPU it exits with status 2 and says "no NVIDIA GPU/driver".
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

EXIT_NO_GPU = 2


def die(message: str) -> NoReturn:
    print(f"verify_nvml: {message}", file=sys.stderr)
    raise SystemExit(EXIT_NO_GPU)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--device", type=int, default=0,
                   help="CUDA device ordinal to test (default 0)")
    p.add_argument("--duration", type=float, default=30.0,
                   help="seconds of the varying-load workload (default 30)")
    p.add_argument("--rate-hz", type=float, default=10.0,
                   help="sampling rate of counter and power (default 10)")
    p.add_argument("--attribution-s", type=float, default=12.0,
                   help="seconds of the two-process attribution test (default 12; 0 skips it)")
    p.add_argument("--size", type=int, default=8192, help="matmul size of the heavy load")
    p.add_argument("--json", metavar="PATH", help="write the figures to this JSON file")
    return p.parse_args(argv)


# -- environment checks -----------------------------------------------------------------

def load_nvml() -> Any:
    try:
        import pynvml
    except ImportError:
        die("no NVIDIA GPU/driver check possible: nvidia-ml-py is not installed "
            "(pip install nvidia-ml-py)")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        die(f"no NVIDIA GPU/driver: NVML failed to initialise ({err})")
    if pynvml.nvmlDeviceGetCount() == 0:
        die("no NVIDIA GPU/driver: NVML reports no GPU")
    return pynvml


def load_wattprint() -> Any:
    try:
        from wattprint.sensors import _nvml
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from wattprint.sensors import _nvml
    return _nvml


def load_torch(device: int) -> Any:
    try:
        import torch
    except ImportError:
        die("torch is not installed; install torch with CUDA to run the workload")
    if not torch.cuda.is_available() or device >= torch.cuda.device_count():
        die(f"torch sees no CUDA device {device} (torch {torch.__version__})")
    return torch


def nvml_handle(nvml: Any, torch: Any, device: int) -> Any:
    """The NVML handle of CUDA device ``device`` (by UUID when torch tells it)."""
    uuid = getattr(torch.cuda.get_device_properties(device), "uuid", None)
    if uuid is not None:
        text = str(uuid)
        try:
            return nvml.nvmlDeviceGetHandleByUUID(text if text.startswith("GPU-")
                                                  else f"GPU-{text}")
        except nvml.NVMLError:
            pass
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    index = int(visible.split(",")[device]) if visible else device
    return nvml.nvmlDeviceGetHandleByIndex(index)


# -- workloads --------------------------------------------------------------------------

def varying_load(torch: Any, device: int, size: int, stop: threading.Event,
                 t0: float) -> None:
    """6 s cycles: 2 s flat out, 2 s at half duty, 2 s idle."""
    dev = torch.device(f"cuda:{device}")
    a = torch.randn(size, size, device=dev, dtype=torch.float16)
    b = torch.randn(size, size, device=dev, dtype=torch.float16)
    while not stop.is_set():
        phase = (time.monotonic() - t0) % 6.0
        if phase < 2.0:
            for _ in range(4):
                a @ b
            torch.cuda.synchronize(dev)
        elif phase < 4.0:
            start = time.monotonic()
            a @ b
            torch.cuda.synchronize(dev)
            time.sleep(time.monotonic() - start)
        else:
            time.sleep(0.05)


def worker(device: int, mode: str, size: int, ready: Any, stop: Any) -> None:
    """A child process: ``heavy`` runs big matmuls back to back, ``light`` small ones
    with pauses."""
    import torch

    dev = torch.device(f"cuda:{device}")
    n = size if mode == "heavy" else max(size // 8, 256)
    a = torch.randn(n, n, device=dev, dtype=torch.float16)
    b = torch.randn(n, n, device=dev, dtype=torch.float16)
    (a @ b).sum().item()
    ready.put(os.getpid())
    while not stop.is_set():
        a @ b
        torch.cuda.synchronize(dev)
        if mode == "light":
            time.sleep(0.05)


# -- measurements -----------------------------------------------------------------------

def trapezoid_j(samples: list[tuple[float, float]]) -> float:
    return sum(0.5 * (p0 + p1) * (t1 - t0)
               for (t0, p0), (t1, p1) in zip(samples, samples[1:], strict=False))


def sensor_energy_j(readings: list[Any]) -> float:
    if readings and readings[0].energy_j is not None:
        return readings[-1].energy_j - readings[0].energy_j
    return trapezoid_j([(r.time_s, r.power_w) for r in readings])


def cross_check(nvml: Any, handle: Any, sensor: Any, torch: Any, args: argparse.Namespace
                ) -> dict[str, Any]:
    stop = threading.Event()
    t0 = time.monotonic()
    load = threading.Thread(target=varying_load, args=(torch, args.device, args.size, stop, t0),
                            daemon=True)
    counter: list[tuple[float, int]] = []
    power: list[tuple[float, float]] = []
    readings: list[Any] = []
    read_errors: list[str] = []
    counter_ok = True
    load.start()
    period = 1.0 / args.rate_hz
    next_t = time.monotonic()
    while time.monotonic() - t0 < args.duration:
        now = time.monotonic()
        if counter_ok:
            try:
                counter.append((now, nvml.nvmlDeviceGetTotalEnergyConsumption(handle)))
            except nvml.NVMLError_NotSupported:
                counter_ok = False
        power.append((time.monotonic(), nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0))
        try:
            readings.append(sensor.read())
        except Exception as err:  # noqa: BLE001 - report, keep measuring
            read_errors.append(f"{time.monotonic() - t0:.1f} s: {err}")
        next_t += period
        time.sleep(max(0.0, next_t - time.monotonic()))
    stop.set()
    load.join()
    counter_j = (counter[-1][1] - counter[0][1]) / 1000.0 if len(counter) > 1 else None
    power_j = trapezoid_j(power)
    watts = [p for _, p in power]
    return {
        "duration_s": power[-1][0] - power[0][0],
        "samples": len(power),
        "energy_counter_j": counter_j,
        "energy_power_trapezoid_j": power_j,
        "ratio_power_over_counter": power_j / counter_j if counter_j else None,
        "energy_wattprint_j": sensor_energy_j(readings),
        "wattprint_method": sensor.provenance()["energy"],
        "wattprint_read_errors": read_errors,
        "mean_power_w": sum(watts) / len(watts),
        "peak_power_w": max(watts),
    }


def attribution(nvml: Any, handle: Any, wp: Any, args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    procs = {mode: ctx.Process(target=worker, args=(args.device, mode, args.size, ready, stop),
                               daemon=True) for mode in ("heavy", "light")}
    for p in procs.values():
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)  # both workers have a CUDA context and ran a kernel
        pid = {mode: int(p.pid or 0) for mode, p in procs.items()}
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        name = f"nvml:{args.device}"
        sensors = {}
        for mode in procs:
            opened = wp.open_nvml_sensors(visible_devices=visible,
                                          pids=lambda m=mode: {pid[m]})
            sensors[mode] = next(s for s in opened if s.name == name)
            for s in opened:
                if s is not sensors[mode]:
                    s.close()
        last = {mode: s.read() for mode, s in sensors.items()}
        weighted = {mode: 0.0 for mode in procs}
        total = {mode: 0.0 for mode in procs}
        sm: dict[int, list[int]] = {}
        seen_us = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.attribution_s:
            time.sleep(1.0 / args.rate_hz)
            for mode, s in sensors.items():
                r = s.read()
                delta = sensor_energy_j([last[mode], r])
                if r.share is not None:
                    weighted[mode] += delta * r.share
                total[mode] += delta
                last[mode] = r
            try:
                for sample in nvml.nvmlDeviceGetProcessUtilization(handle, seen_us):
                    seen_us = max(seen_us, sample.timeStamp)
                    sm.setdefault(sample.pid, []).append(sample.smUtil)
            except nvml.NVMLError:
                pass
        shares = {mode: (weighted[mode] / total[mode] if total[mode] else None)
                  for mode in procs}
        notes = {mode: s.provenance()["attribution"] for mode, s in sensors.items()}
        for s in sensors.values():
            s.close()
        return {
            "pids": pid,
            "share": shares,
            "share_sum": (sum(v for v in shares.values() if v is not None)
                          if any(v is not None for v in shares.values()) else None),
            "mean_sm_util_percent": {mode: mean(sm.get(p, [])) for mode, p in pid.items()},
            "attribution_note": notes["heavy"],
        }
    finally:
        stop.set()
        for p in procs.values():
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()


def mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def limits(nvml: Any, handle: Any, sensor: Any) -> dict[str, Any]:
    def w(fn: Any) -> float | None:
        try:
            return fn(handle) / 1000.0
        except nvml.NVMLError:
            return None
    return {"enforced_power_limit_w": w(nvml.nvmlDeviceGetEnforcedPowerLimit),
            "default_power_limit_w": w(nvml.nvmlDeviceGetPowerManagementDefaultLimit),
            "wattprint_power_limit_w": sensor.power_limit_w()}


def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nvml = load_nvml()
    wp = load_wattprint()
    torch = load_torch(args.device)
    handle = nvml_handle(nvml, torch, args.device)
    opened = wp.open_nvml_sensors(visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    sensor = next((s for s in opened if s.name == f"nvml:{args.device}"), None)
    if sensor is None:
        die(f"wattprint opened {[s.name for s in opened]} but no nvml:{args.device}")
    report: dict[str, Any] = {
        "gpu": nvml.nvmlDeviceGetName(handle),
        "uuid": nvml.nvmlDeviceGetUUID(handle),
        "driver_version": nvml.nvmlSystemGetDriverVersion(),
        "torch": torch.__version__,
        "wattprint_sensor": sensor.describe(),
    }
    print(f"GPU: {report['gpu']} ({report['uuid']}), driver {report['driver_version']}")

    report["limits"] = lim = limits(nvml, handle, sensor)
    print(f"power limit: enforced {fmt(lim['enforced_power_limit_w'], ' W')}, default "
          f"{fmt(lim['default_power_limit_w'], ' W')}, wattprint "
          f"{fmt(lim['wattprint_power_limit_w'], ' W')}")

    print(f"varying load for {args.duration:g} s, sampling at {args.rate_hz:g} Hz ...")
    report["cross_check"] = cc = cross_check(nvml, handle, sensor, torch, args)
    print(f"  energy from counter:           {fmt(cc['energy_counter_j'], ' J')}")
    print(f"  energy from power (trapezoid): {fmt(cc['energy_power_trapezoid_j'], ' J')}")
    print(f"  ratio power/counter:           {fmt(cc['ratio_power_over_counter'], '', 4)}")
    print(f"  wattprint ({cc['wattprint_method']}):"
          f"{' ' * max(1, 19 - len(cc['wattprint_method']))}{fmt(cc['energy_wattprint_j'], ' J')}")
    print(f"  mean / peak power: {fmt(cc['mean_power_w'], ' W')} / {fmt(cc['peak_power_w'], ' W')}"
          f" over {cc['samples']} samples")
    for s in opened:
        s.close()

    if args.attribution_s > 0:
        print(f"two processes (heavy + light) for {args.attribution_s:g} s ...")
        try:
            report["attribution"] = at = attribution(nvml, handle, wp, args)
        except Exception as err:  # noqa: BLE001 - keep the figures measured so far
            report["attribution"] = {"error": repr(err)}
            print(f"  attribution test failed: {err!r}")
            at = None
        if at is not None:
            for mode in ("heavy", "light"):
                print(f"  {mode:5s} pid {at['pids'][mode]}: share "
                      f"{fmt(at['share'][mode], '', 3)}, mean SM util "
                      f"{fmt(at['mean_sm_util_percent'][mode], ' %')}")
            print(f"  shares sum to {fmt(at['share_sum'], '', 3)} ({at['attribution_note']})")

    nvml.nvmlShutdown()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
