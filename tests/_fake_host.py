"""A host with fake NVIDIA GPUs whose fake time follows the real clock, for tests and
benchmarks that run wattprint as a real subprocess (the exporter, a tracked run).

    python tests/_fake_host.py exporter --port 9464 --ledger L.db   # the CLI command
    python tests/_fake_host.py track L.db NAME PROJECT JOB STOPFILE  # a run in progress

``WATTPRINT_FAKE_GPUS`` (default 2) GPUs draw ``WATTPRINT_FAKE_GPU_W`` watts each (default
300). The rest is the real code: the CLI's parser and handler, the sampler, the ledger.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from wattprint.testing.fake_nvml import FakeGPU, RealTimeNVML  # noqa: E402


def fake_nvml() -> RealTimeNVML:
    watts = float(os.environ.get("WATTPRINT_FAKE_GPU_W", "300"))
    return RealTimeNVML([FakeGPU(power_w=watts)
                         for _ in range(int(os.environ.get("WATTPRINT_FAKE_GPUS", "2")))])


def _exporter(argv: list[str]) -> int:
    from wattprint.cli import build_parser
    from wattprint.cli._exporter import handle

    args = build_parser("exporter").parse_args(["exporter", *argv])
    options = {"nvml": fake_nvml()}
    if os.environ.get("WATTPRINT_FAKE_RAPL"):
        options["rapl_root"] = os.environ["WATTPRINT_FAKE_RAPL"]
    return handle(args, detect_options=options)


def _track(ledger: str, name: str, project: str, job: str, stop_file: str) -> int:
    import wattprint

    run = wattprint.track(name, ledger=ledger, project=project, job=job or False,
                          mode="machine", zone="FR", settings={"price_per_kwh": 0.2,
                                                               "currency": "EUR"},
                          detect_options={"nvml": fake_nvml()}, rate_hz=2)
    with run:
        print(run.run_id, flush=True)
        while not os.path.exists(stop_file):
            time.sleep(0.05)
    return 0


if __name__ == "__main__":
    what, rest = sys.argv[1], sys.argv[2:]
    sys.exit(_exporter(rest) if what == "exporter" else _track(*rest))
