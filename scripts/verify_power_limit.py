#!/usr/bin/env python3
"""Check the GPU power-limit optimiser on a real NVIDIA GPU (written for an H100; not run
in CI, which has no GPU).

1. Reads the GPU's current, default and settable power limits.
2. Runs a fixed matmul workload as "steps" (``--steps``, default 400; each step a few
   bf16 matmuls of ``--size``) under :class:`wattprint.optimize.PowerLimitOptimizer`
   (``--eta`` or ``--max-slowdown``), printing the measured profile: ms/step, J/step and
   mean power at each limit tried, the choice and its saving against the original limit.
3. Runs ``--check-steps`` more steps at the chosen limit and at the original one, and
   prints J/step of each (measured with NVML's energy counter), so the profile's
   prediction can be compared with a longer measurement.
4. Checks that the original limit is back (reads it again) and exits 1 if not.

Safe by construction: the optimiser restores the original limit on normal exit, on an
exception, on SIGTERM/SIGHUP and on Ctrl-C (and at interpreter exit); step 4 checks it.
SIGKILL cannot be caught — if the script is killed that way, restore by hand with
``sudo nvidia-smi -i INDEX -pl WATTS`` (the original is printed first). Needs root to set
limits; without it the script still runs, measures the current limit, and prints the fix.

    sudo python scripts/verify_power_limit.py --gpu 0 --json power.json
Needs nvidia-ml-py and torch with CUDA; without a GPU it exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

EXIT_NO_GPU = 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpu", type=int, default=0, help="NVML index (default 0)")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--check-steps", type=int, default=100)
    ap.add_argument("--size", type=int, default=8192, help="matmul size (default 8192)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--eta", type=float, default=None)
    g.add_argument("--max-slowdown", type=float, default=None)
    ap.add_argument("--step-w", type=float, default=50.0)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    try:
        import pynvml
        import torch
    except ImportError as err:
        print(f"no NVIDIA GPU/driver: {err}", file=sys.stderr)
        return EXIT_NO_GPU
    if not torch.cuda.is_available():
        print("no NVIDIA GPU/driver: torch sees no CUDA device", file=sys.stderr)
        return EXIT_NO_GPU
    sys.path.insert(0, __file__.rsplit("/scripts/", 1)[0] + "/src")
    from wattprint.optimize import PowerLimitOptimizer

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(args.gpu)
    original_mw = pynvml.nvmlDeviceGetPowerManagementLimit(handle)
    info = {"gpu": pynvml.nvmlDeviceGetName(handle), "index": args.gpu,
            "original_limit_w": original_mw / 1000,
            "default_limit_w": pynvml.nvmlDeviceGetPowerManagementDefaultLimit(handle) / 1000,
            "constraints_w": [c / 1000 for c in
                              pynvml.nvmlDeviceGetPowerManagementLimitConstraints(handle)]}
    print(f"{info['gpu']} (GPU {args.gpu}): limit {info['original_limit_w']:.0f} W, "
          f"settable {info['constraints_w'][0]:.0f}–{info['constraints_w'][1]:.0f} W. "
          f"If this script is SIGKILLed: sudo nvidia-smi -i {args.gpu} -pl "
          f"{info['original_limit_w']:.0f}", flush=True)
    device = torch.device(f"cuda:{args.gpu}") if torch.cuda.device_count() > args.gpu \
        else torch.device("cuda")
    a = torch.randn(args.size, args.size, device=device, dtype=torch.bfloat16)
    b = torch.randn(args.size, args.size, device=device, dtype=torch.bfloat16)

    def one_step() -> None:
        for _ in range(4):
            torch.matmul(a, b)
        torch.cuda.synchronize(device)

    def energy_j() -> float:
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000

    def measure(n: int) -> dict:
        t0, e0 = time.monotonic(), energy_j()
        for _ in range(n):
            one_step()
        dt, de = time.monotonic() - t0, energy_j() - e0
        return {"ms_per_step": dt / n * 1000, "j_per_step": de / n, "power_w": de / dt}

    opt = PowerLimitOptimizer([args.gpu], eta=0.5 if args.eta is None else args.eta,
                              max_slowdown=args.max_slowdown, step_w=args.step_w)
    check: dict = {}
    with opt:
        for _ in range(args.steps):
            one_step()
            opt.step()
        report = opt.report
        if report.applied and args.check_steps:
            check["chosen"] = {"limit_w": report.chosen.limit_w, **measure(args.check_steps)}
            pynvml.nvmlDeviceSetPowerManagementLimit(handle, original_mw)
            check["original"] = {"limit_w": original_mw / 1000, **measure(args.check_steps)}
    print(report.summary())
    for label, m in check.items():
        print(f"  check at {label} limit {m['limit_w']:.0f} W: {m['ms_per_step']:.1f} ms/step, "
              f"{m['j_per_step']:.1f} J/step, {m['power_w']:.0f} W (measured)")
    after_mw = pynvml.nvmlDeviceGetPowerManagementLimit(handle)
    restored = after_mw == original_mw
    print(f"  limit now {after_mw / 1000:.0f} W: "
          + ("original restored" if restored else "NOT the original — restore it by hand"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**info, "report": report.to_dict(), "check": check,
                       "limit_after_w": after_mw / 1000, "restored": restored}, fh, indent=2)
    pynvml.nvmlShutdown()
    return 0 if restored else 1


if __name__ == "__main__":
    sys.exit(main())
