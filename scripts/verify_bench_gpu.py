#!/usr/bin/env python3
"""Check ``wattprint bench`` on a real NVIDIA GPU (an H100 or H200); not runnable on a
machine without one.

1. Builds a small GPT-2-shaped model from a config (12 layers, 768 wide: ~124 M
   parameters, randomly initialised; nothing downloaded) and saves it to a temporary
   folder with ``save_pretrained``.
2. Runs ``python -m wattprint bench MODEL --batch 1,8,32 --precision bf16,fp32
   --output-tokens 64 --ignore-eos --json`` with the Transformers engine on the GPU, and
   ``--engine vllm`` (then ``sglang``) when the package is installed.
3. Checks and prints, per configuration: the energy basis is ``measured`` (NVML), GPU
   power lies between 30 W and the board's limit, J/output token falls from batch 1 to
   32, token counts are exact (requests × 64 with --ignore-eos), the estimator's
   prediction for the detected GPU and its gap, the measurement overhead (≤ 1 %), and the
   AI Energy Score rating against the shipped February 2025 leaderboard (size class A,
   rated on GPU energy; on an H100 at batch 1 in fp16 only the dataset caveat remains).

    python scripts/verify_bench_gpu.py [--json out.json] [--requests 64]

Exits 2 with "no NVIDIA GPU" when torch sees no CUDA device, 1 when a check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_model(folder: str) -> str:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=12, n_head=12, n_embd=768,
                                       bos_token_id=0, eos_token_id=0, pad_token_id=0))
    path = os.path.join(folder, "gpt2-shaped-124m")
    model.save_pretrained(path)
    return path


def bench(model: str, engine: str, requests: int, folder: str) -> dict:
    env = dict(os.environ, WATTPRINT_LEDGER=os.path.join(folder, "ledger.db"),
               PYTHONPATH=os.path.join(ROOT, "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "wattprint", "bench", model, "--engine", engine,
           "--batch", "1,8,32", "--precision", "bf16,fp32", "--input-tokens", "128",
           "--output-tokens", "64", "--ignore-eos", "--requests", str(requests),
           "--repeat", "3", "--warmup-max-s", "30", "--json"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        raise SystemExit(f"{engine}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def check(data: dict, engine: str, requests: int) -> list[str]:
    problems = []
    by = {}
    for c in data["configs"]:
        by[(c["precision"], c["batch_size"])] = c
        tag = f"{engine} {c['precision']} b{c['batch_size']}"
        reqs = c["requests"]
        if c["energy_basis"] != "measured":
            problems.append(f"{tag}: energy basis {c['energy_basis']}, not measured")
        gpu_w = c["power_by_domain_w"].get("gpu", 0.0)
        if not 30.0 <= gpu_w <= 1000.0:
            problems.append(f"{tag}: GPU power {gpu_w:.0f} W outside 30-1000 W")
        if c["output_tokens"] != reqs * 64:
            problems.append(f"{tag}: {c['output_tokens']} tokens, expected {reqs * 64}")
        if c["overhead"]["fraction"] > 0.01:
            problems.append(f"{tag}: overhead {c['overhead']['fraction']:.2%} > 1 %")
        p = c["prediction"]
        print(f"{tag}: {c['figures']['j_per_output_token']['value']:.4g} J/token "
              f"(±{c['figures']['j_per_output_token']['spread']['relative_spread'] / 2:.0%}), "
              f"{c['figures']['tokens_per_s']['value']:.0f} tokens/s, GPU {gpu_w:.0f} W, "
              f"predicted {p.get('j_per_output_token')} J/token on {p.get('accelerator')}, "
              f"gap {p.get('gap')}, overhead {c['overhead']['fraction']:.3%}")
        r = c.get("rating")
        if not r:
            problems.append(f"{tag}: no rating ({'; '.join(c['notes'])})")
        else:
            print(f"{tag}: rating {r['stars']}/5 class {r['size_class']} "
                  f"({r['energy_wh_per_1k']:.4g} Wh per 1,000 requests; caveats: "
                  f"{'; '.join(r['caveats']) or 'none'})")
            if r["size_class"] != "A":
                problems.append(f"{tag}: size class {r['size_class']}, expected A (124 M)")
            if any("no GPU energy" in x for x in r["caveats"]):
                problems.append(f"{tag}: rated without GPU energy: {r['caveats']}")
    for prec in ("bf16", "fp32"):
        a, b = by.get((prec, 1)), by.get((prec, 32))
        if a and b and not (b["figures"]["j_per_output_token"]["value"]
                            < a["figures"]["j_per_output_token"]["value"]):
            problems.append(f"{engine} {prec}: J/token does not fall from batch 1 to 32")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no NVIDIA GPU (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    out, problems = {}, []
    with tempfile.TemporaryDirectory(prefix="wattprint-bench-gpu-") as folder:
        model = make_model(folder)
        for engine in ("transformers", "vllm", "sglang"):
            if engine != "transformers" and importlib.util.find_spec(engine) is None:
                print(f"{engine}: not installed, skipped")
                continue
            out[engine] = bench(model, engine, args.requests, folder)
            problems += check(out[engine], engine, args.requests)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    for p in problems:
        print(f"FAIL: {p}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
