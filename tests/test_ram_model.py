"""The sensorless RAM model: power proportional to the memory really in use."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
from _procfs import lone_process

from wattprint._proctree import ProcessTree
from wattprint.errors import UsageError
from wattprint.sensors._ram_model import GIB, W_PER_GIB, RAMModelSensor

ALLOC_MIB = 200

# Waits for a line on stdin, allocates and fills ALLOC_MIB (so the pages are resident),
# says so, and waits again before exiting.
CHILD = f"""
import sys
print("started", flush=True)
sys.stdin.readline()
block = bytearray(b"\\x01") * ({ALLOC_MIB} * 2**20)
print("allocated", flush=True)
sys.stdin.readline()
"""


def tree_with_rss(tmp_path, rss_bytes: int) -> ProcessTree:
    """A real ProcessTree over a fake procfs whose one process holds ``rss_bytes``."""
    proc, pid = lone_process(tmp_path, rss_bytes)
    return ProcessTree(pid, procfs_path=str(proc))


def test_attributes_and_provenance():
    s = RAMModelSensor(ProcessTree())
    assert (s.name, s.domain, s.kind, s.scope, s.interval_s) == \
        ("ram-model", "ram", "modelled", "process", 1.0)
    p = s.provenance()
    assert p["kind"] == "modelled" and p["mode"] == "process"
    w = p["coefficients"]["w_per_gb"]
    assert w["value"] == 0.3725 and w["unit"] == "W per GiB"
    assert "Green Algorithms" in w["source"] and "3076113.3076117" in w["source"]
    assert "CC-BY-4.0" in w["source"] and "Tom's Hardware" in w["source"]
    assert 0 < p["uncertainty"] < 1
    assert RAMModelSensor(mode="machine").scope == "device"


def test_power_is_proportional_to_rss(tmp_path):
    for gib in (0.5, 1, 4):
        reading = RAMModelSensor(tree_with_rss(tmp_path / str(gib), int(gib * GIB))).read()
        assert reading.power_w == pytest.approx(gib * W_PER_GIB)
        assert reading.energy_j is None


def test_child_allocating_200_mib_raises_power_by_its_share():
    sensor = RAMModelSensor(ProcessTree())  # this test process; the child is in its tree
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        before = sensor.read().power_w
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "allocated"
        after = sensor.read().power_w
        child.stdin.write("done\n")
        child.stdin.flush()
    finally:
        child.wait(timeout=30)
    expected = ALLOC_MIB * 2**20 / GIB * W_PER_GIB
    assert after - before == pytest.approx(expected, rel=0.1)


def test_machine_mode_follows_used_memory():
    sensor = RAMModelSensor(mode="machine")
    # the machine's other processes allocate and free between the reads: ours lies
    # between psutil's before and after
    before = psutil.virtual_memory().used
    power_w = sensor.read().power_w
    after = psutil.virtual_memory().used
    low, high = sorted((before, after))
    assert low / GIB * W_PER_GIB * 0.99 <= power_w <= high / GIB * W_PER_GIB * 1.01


def test_override_is_reported_as_user(tmp_path):
    s = RAMModelSensor(tree_with_rss(tmp_path, GIB), w_per_gb=1.0)
    assert s.read().power_w == pytest.approx(1.0)
    assert s.provenance()["coefficients"]["w_per_gb"] == {"value": 1.0, "unit": "W per GiB",
                                                          "source": "user"}


@pytest.mark.parametrize("kwargs", [{"mode": "node"}, {"w_per_gb": -0.1},
                                    {"w_per_gb": float("nan")}])
def test_bad_arguments_raise_usage_error(kwargs):
    with pytest.raises(UsageError):
        RAMModelSensor(ProcessTree(), **kwargs)
