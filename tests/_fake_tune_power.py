"""``wattprint tune-power ARGS`` as a real process on a host with fake GPUs (NVML faked,
time real): each GPU runs a :class:`PowerCurve` workload, so its power follows the limit
the optimiser sets. Prints the fake GPUs' final limits and every limit set as JSON on
the last line of stderr, after the command's own output.

    python tests/_fake_tune_power.py --eta 1 -- python -c '...'
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from wattprint.testing.fake_nvml import FakeGPU, PowerCurve, RealTimeNVML  # noqa: E402


def main(argv: list[str]) -> int:
    from wattprint.cli import build_parser
    from wattprint.cli._tune_power import handle

    permission = os.environ.get("FAKE_PERMISSION", "1") == "1"
    nvml = RealTimeNVML([FakeGPU(workload=PowerCurve(idle_power_w=170.0), power_limit_w=650.0,
                                 power_limit_permission=permission)])
    args = build_parser("tune-power").parse_args(["tune-power", *argv])
    try:
        code = handle(args, nvml=nvml)
    finally:
        print(json.dumps({"final_w": [g.power_limit_w for g in nvml.gpus],
                          "set_w": [w for _, _, w in nvml.limit_history]}), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
