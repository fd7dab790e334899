"""``wattprint bench`` on a tiny model: how long a 3-batch-size benchmark takes end to
end, and what measuring costs it.

A tiny randomly initialised GPT-2 (1 layer, 32 wide, vocabulary 100; built from a config
and saved with ``save_pretrained``, nothing downloaded) is benchmarked by the real command
line in a fresh subprocess (``python -m wattprint bench DIR --batch 1,8,32 …``, recorded
in a ledger in a temporary folder), ``--rounds`` times. Per round: the command's wall
time (interpreter start, imports, model load, three configurations, ledger writes), and
per configuration the measurement overhead the benchmark reports for itself:

    overhead = (CPU time of the benchmark's thread inside wattprint's calls at phase
                boundaries and counts  +  CPU time of wattprint's own threads)
               / the benchmark's time (warm-up and measured phases)

Run start and stop (sensor detection, ledger writes) fall outside the measured windows;
their wall time is printed apart as "setup" and is part of the end-to-end time.

Targets (issue 17): end to end ≤ 60 s on this 2-vCPU machine; overhead ≤ 1 %.

    python bench/bench_inference.py                 # 3 rounds, ~2-3 minutes
    python bench/bench_inference.py --rounds 5 --json out.json

Not part of the test suite (pytest collects ``tests/`` only).
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--batch", "1,8,32", "--input-tokens", "16", "--output-tokens", "16",
        "--ignore-eos", "--requests", "32", "--repeat", "3"]


def make_model(folder: str) -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=32, vocab_size=100,
                                       n_positions=128, bos_token_id=0, eos_token_id=0,
                                       pad_token_id=0))
    path = os.path.join(folder, "tiny-gpt2")
    model.save_pretrained(path)
    return path


def one_round(model: str, folder: str, threads: int | None) -> dict:
    env = dict(os.environ, WATTPRINT_LEDGER=os.path.join(folder, "ledger.db"),
               PYTHONPATH=os.path.join(ROOT, "src"), HF_HUB_OFFLINE="1")
    extra = ["--threads", str(threads)] if threads else []
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "wattprint", "bench", model, *ARGS, *extra,
                           "--json"], env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr)
    data = json.loads(proc.stdout)
    return {"wall_s": wall, "bench_s": data["duration_s"],
            "overhead_fraction": data["overhead_fraction"],
            "configs": [{"batch_size": c["batch_size"],
                         "overhead_fraction": c["overhead"]["fraction"],
                         "boundary_s": c["overhead"]["boundary_s"],
                         "setup_s": c["overhead"]["setup_s"],
                         "sampler_cpu_s": c["overhead"]["sampler_cpu_s"],
                         "measured_s": c["overhead"]["bench_s"],
                         "warmup_batches": c["warmup"]["batches"],
                         "steady": c["warmup"]["steady"],
                         "j_per_output_token": c["figures"]["j_per_output_token"]["value"],
                         "spread": c["figures"]["j_per_output_token"]["spread"],
                         "tokens_per_s": c["figures"]["tokens_per_s"]["value"],
                         "basis": c["energy_basis"], "output_tokens": c["output_tokens"]}
                        for c in data["configs"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="pass --threads N to wattprint bench (default: torch's choice)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wattprint-bench-") as folder:
        model = make_model(folder)
        rounds = [one_round(model, folder, args.threads) for _ in range(args.rounds)]
    walls = [r["wall_s"] for r in rounds]
    fractions = [r["overhead_fraction"] for r in rounds]
    per_config = [c["overhead_fraction"] for r in rounds for c in r["configs"]]
    print(f"command: wattprint bench tiny-gpt2 {' '.join(ARGS)}"
          + (f" --threads {args.threads}" if args.threads else ""))
    print(f"end to end: median {statistics.median(walls):.1f} s, max {max(walls):.1f} s "
          f"over {len(walls)} rounds -> {'PASS' if max(walls) <= 60 else 'FAIL'} (≤ 60 s)")
    print(f"overhead: median {statistics.median(fractions):.3%}, max {max(fractions):.3%} "
          f"of the benchmark's time -> {'PASS' if max(fractions) <= 0.01 else 'FAIL'} (≤ 1 %); "
          f"per configuration max {max(per_config):.3%}")
    for c in rounds[-1]["configs"]:
        print(f"  batch {c['batch_size']:>2}: {c['j_per_output_token']:.4g} J/output token "
              f"({c['basis']}), {c['tokens_per_s']:.0f} tokens/s, warm-up "
              f"{c['warmup_batches']} batches (steady: {c['steady']}), overhead "
              f"{c['overhead_fraction']:.3%}, setup {c['setup_s']:.2f} s")
    load = os.getloadavg()
    out = {"command": ARGS, "threads": args.threads, "rounds": rounds,
           "loadavg": load, "cpus": os.cpu_count(),
           "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    print(f"load average during the run: {load[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
