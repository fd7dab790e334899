"""A small CPU workload with phases and counters, measured with wattprint.

    python examples/cpu_workload.py            # measures itself with the Python API
    wattprint run -- python examples/cpu_workload.py --plain   # measured from outside
"""

import sys
import time


def work(n: int) -> float:
    x = 0.0
    for i in range(n):
        x += i * 0.5
    return x


def main() -> None:
    if "--plain" in sys.argv:
        work(5_000_000)
        return
    import wattprint

    with wattprint.track("cpu-example") as run:
        for _epoch in range(2):
            with run.phase("train"):
                work(2_000_000)
                run.count(samples=1000, steps=10)
            with run.phase("eval"):
                work(500_000)
                time.sleep(0.1)
    print(run.result.summary())


if __name__ == "__main__":
    main()
