"""The device model both vendor fakes share (wattprint.testing._fake_device): one power
trace gives the same true energy on FakeNVML and FakeAMDSMI, failures are injected the
same way, and each fake still raises its own library's errors."""

from __future__ import annotations

import pytest

from wattprint.testing import fake_amdsmi, fake_nvml
from wattprint.testing._fake_device import FakeDevice, FakeDeviceLibrary, energy_between
from wattprint.testing.fake_amdsmi import FakeAMDGPU, FakeAMDSMI
from wattprint.testing.fake_nvml import FakeGPU, FakeNVML

TRACES = [250.0, [100.0, 300.0, 200.0], lambda t: 100.0 + 10.0 * t]


def _pair(trace, step_s=0.5):
    return (FakeNVML([FakeGPU(power_w=trace, trace_step_s=step_s, processes=(42,))]),
            FakeAMDSMI([FakeAMDGPU(power_w=trace, trace_step_s=step_s, processes=(42,))]))


@pytest.mark.parametrize("trace", TRACES, ids=["constant", "steps", "function"])
def test_one_trace_one_true_energy_on_both_fakes(trace) -> None:
    nv, amd = _pair(trace)
    assert isinstance(nv, FakeDeviceLibrary) and isinstance(amd, FakeDeviceLibrary)
    assert isinstance(nv.gpus[0], FakeDevice) and isinstance(amd.gpus[0], FakeDevice)
    for seconds in (0.3, 0.7, 1.25):
        nv.advance(seconds)
        amd.advance(seconds)
    expected = energy_between(trace, 0.5, 0.0, 2.25)
    assert nv.drawn_j(0) == pytest.approx(expected) == amd.drawn_j(0)
    assert amd.energy_j(0) == pytest.approx(expected)
    # each reports it in its own library's units
    nv.nvmlInit()
    amd.amdsmi_init()
    mj = nv.nvmlDeviceGetTotalEnergyConsumption(nv.nvmlDeviceGetHandleByIndex(0))
    assert mj - FakeGPU().initial_energy_mj == pytest.approx(1000 * expected, abs=1)
    count = amd.amdsmi_get_energy_count(amd.amdsmi_get_processor_handles()[0])
    ticks = count["energy_accumulator"] - FakeAMDGPU().initial_ticks
    assert ticks * count["counter_resolution"] / 1e6 == pytest.approx(expected, abs=1e-4)
    assert nv.power_w(0) == amd.power_w(0) == pytest.approx(
        trace(2.25) if callable(trace) else trace if isinstance(trace, float) else trace[-1])


def test_the_steps_of_a_list_trace_are_integrated_exactly() -> None:
    assert energy_between([100.0, 300.0], 1.0, 0.5, 1.5) == pytest.approx(200.0)
    assert energy_between([100.0, 300.0], 1.0, 0.0, 5.0) == pytest.approx(100.0 + 4 * 300.0)


def test_failures_are_injected_alike_and_raised_as_each_library_does() -> None:
    nv, amd = _pair(100.0)
    nv.nvmlInit()
    amd.amdsmi_init()
    h_nv = nv.nvmlDeviceGetHandleByIndex(0)
    h_amd = amd.amdsmi_get_processor_handles()[0]
    nv.fail("nvmlDeviceGetPowerUsage", fake_nvml.NVML_ERROR_TIMEOUT, call=2, times=2)
    amd.fail("amdsmi_get_power_info", amd.amdsmi_wrapper.AMDSMI_STATUS_TIMEOUT, call=2,
             times=2)
    outcomes = []
    for _ in range(4):
        row = []
        for call in (lambda: nv.nvmlDeviceGetPowerUsage(h_nv),
                     lambda: amd.amdsmi_get_power_info(h_amd)):
            try:
                call()
                row.append("ok")
            except fake_nvml.NVMLError_Timeout:
                row.append("timeout")
            except fake_amdsmi.AmdSmiTimeoutException:
                row.append("timeout")
        outcomes.append(row)
    assert outcomes == [["ok", "ok"], ["timeout", "timeout"], ["timeout", "timeout"],
                        ["ok", "ok"]]
    assert nv.calls["nvmlDeviceGetPowerUsage"] == amd.calls["amdsmi_get_power_info"] == 4
    for fake, name in ((nv, "nvmlNoSuchThing"), (amd, "amdsmi_no_such_thing"),
                       (nv, "advance")):
        with pytest.raises(ValueError, match="has no function"):
            fake.fail(name, 1)


def test_uninitialised_calls_raise_each_librarys_error() -> None:
    nv, amd = _pair(100.0)
    with pytest.raises(fake_nvml.NVMLError_Uninitialized):
        nv.nvmlDeviceGetCount()
    with pytest.raises(fake_amdsmi.AmdSmiLibraryException) as info:
        amd.amdsmi_get_processor_handles()
    assert info.value.err_code == amd.amdsmi_wrapper.AMDSMI_STATUS_NOT_INIT


def test_processes_and_counter_rewind_are_part_of_the_model() -> None:
    nv, amd = _pair(100.0)
    nv.nvmlInit()
    handle = nv.nvmlDeviceGetHandleByIndex(0)
    assert [p.pid for p in nv.nvmlDeviceGetComputeRunningProcesses(handle)] == [42]
    assert amd.gpus[0].processes == (42,)
    before = nv.energy_j(0)
    nv.rewind_counter(0, 50_000)
    nv.advance(1.0)
    assert nv.energy_j(0) == pytest.approx(before - 50.0 + 100.0)
    assert nv.drawn_j(0) == pytest.approx(100.0)  # the true energy is not rewound
