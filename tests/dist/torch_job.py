"""A tiny data-parallel job (gloo, CPU) tracked on every rank, run by the tests under a
real launcher: ``torchrun --nproc_per_node=N tests/dist/torch_job.py OUT_DIR``.

Every rank trains a small model on its own data for a few steps (gradients all-reduced),
burns ``--burn`` CPU seconds inside the tracked window, counts its tokens and records
its part in the ledger named by ``WATTPRINT_LEDGER``. Each rank writes
``OUT_DIR/rank<R>.json``; rank 0 adds the gathered job (``run.job_result``)."""

import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist

import wattprint

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--burn", type=float, default=0.3)
args = parser.parse_args()

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(rank)
model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.01)


def own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


with wattprint.track("ddp-job", ledger=True, project="dist-test") as run:
    cpu0 = own_cpu_s()
    with run.phase("train"):
        for step in range(args.steps):
            loss = model(torch.randn(16, 32)).pow(2).mean()
            loss.backward()
            for p in model.parameters():
                dist.all_reduce(p.grad)
            opt.step()
            opt.zero_grad()
            run.count(tokens=16 * 32, steps=1)
        t = time.process_time()
        x = 1.0
        while time.process_time() - t < args.burn:
            x = x * 1.0000001 + 1e-9
    own = own_cpu_s() - cpu0

out = {"job": run.job.to_dict(), "run_id": run.result.run_id, "energy_j": run.result.energy_j,
       "cpu_s": run.result.cpu_s, "own_cpu_s": own,
       "devices": [d.name for d in run.result.devices],
       "job_result": run.job_result.to_dict() if run.job_result is not None else None}
with open(os.path.join(args.out, f"rank{rank}.json"), "w") as f:
    json.dump(out, f)
dist.destroy_process_group()
sys.exit(0)
