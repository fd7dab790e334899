"""Synchronised phase boundaries (Zeus-style): ``run.phase(name, sync=...)`` waits for the
work queued on the accelerator before a window opens and closes."""

from __future__ import annotations

import sys
import time

import pytest

from wattprint.errors import UsageError


def test_phase_sync_waits_for_the_device_before_each_boundary_is_read():
    import wattprint
    from wattprint.testing import FakeSensor

    calls = []
    with wattprint.track(sensors=[FakeSensor(10.0)]) as run:
        with run.phase("train", sync=lambda: (calls.append("sync"), time.sleep(0.2))):
            calls.append("work")
    assert calls == ["sync", "work", "sync"]
    # the exit wait happened before the window closed: it is inside the phase
    assert run.result.phase("train").duration_s >= 0.2
    with pytest.raises(UsageError, match="sync="):
        run.phase("x", sync="yes")


class _FakeCuda:
    """CUDA as torch exposes it, for a machine without a GPU (only what sync uses)."""

    def __init__(self, initialized):
        self.initialized, self.synced = initialized, 0

    def is_initialized(self):
        return self.initialized

    def synchronize(self):
        self.synced += 1


def test_phase_sync_is_automatic_when_torch_has_initialised_cuda(monkeypatch):
    import types

    import wattprint
    from wattprint.testing import FakeSensor

    for initialized, expected in ((True, 2), (False, 0)):
        cuda = _FakeCuda(initialized)
        monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
        with wattprint.track(sensors=[FakeSensor(10.0)]) as run:
            with run.phase("train"):
                pass
            with run.phase("eval", sync=False):
                pass
        assert cuda.synced == expected
