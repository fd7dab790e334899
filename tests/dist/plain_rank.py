"""One rank of a job without torch (Slurm steps, hand-launched ranks): tracks itself with
the ledger named by ``WATTPRINT_LEDGER``, burns ``--burn`` CPU seconds, counts tokens and
writes ``OUT_DIR/rank<R>.json`` (its job identity, run id, devices and, on rank 0, the
gathered job). ``--die`` makes the rank SIGKILL itself half-way, after its samples were
flushed; ``--mode machine`` counts whole devices."""

import argparse
import json
import os
import signal
import time

import wattprint

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--burn", type=float, default=0.5)
parser.add_argument("--die", action="store_true")
parser.add_argument("--mode", default="process")
args = parser.parse_args()


def burn(seconds: float) -> None:
    t = time.process_time()
    x = 1.0
    while time.process_time() - t < seconds:
        x = x * 1.0000001 + 1e-9


with wattprint.track("plain-job", ledger=True, mode=args.mode) as run:
    burn(args.burn / 2)
    run.count(tokens=1000)
    if args.die:
        time.sleep(1.5)  # the ledger writer flushes every 0.5 s at the start of a run
        os.kill(os.getpid(), signal.SIGKILL)
    burn(args.burn / 2)
    run.count(tokens=1000)

job = run.job
out = {"job": job.to_dict() if job else None, "run_id": run.result.run_id,
       "energy_j": run.result.energy_j, "cpu_s": run.result.cpu_s,
       "devices": [d.name for d in run.result.devices],
       "job_result": run.job_result.to_dict() if run.job_result is not None else None}
rank = job.rank if job else 0
with open(os.path.join(args.out, f"rank{rank}-{os.getpid()}.json"), "w") as f:
    json.dump(out, f)
