"""NVML sensors against the fake NVML, plus contract tests against the real pynvml."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.errors import REASONS, SensorReadError, SensorUnavailable
from wattprint.sensors import _nvml
from wattprint.sensors._nvml import (NVML_ERRORS, NVMLEnergySensor, NVMLPowerSensor,
                                     open_nvml_sensors, resolve_visible_devices)
from wattprint.testing import fake_nvml
from wattprint.testing.fake_nvml import FakeGPU, FakeNVML

pynvml = pytest.importorskip("pynvml")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "verify_nvml.py"


def open_fake(fake: FakeNVML, visible: str | None = None, **kw):
    return open_nvml_sensors(nvml=fake, visible_devices=visible, clock=fake.time, **kw)


def pci_tree(tmp_path: Path, *devices: tuple[str, str]) -> str:
    """A fake /sys holding PCI devices given as (vendor, class)."""
    for i, (vendor, pci_class) in enumerate(devices):
        d = tmp_path / "bus" / "pci" / "devices" / f"0000:{i:02x}:00.0"
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(pci_class + "\n")
    (tmp_path / "bus" / "pci" / "devices").mkdir(parents=True, exist_ok=True)
    return str(tmp_path)


def real_nvml_works() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


# -- energy: counter and polling ------------------------------------------------------------

def test_counter_mode_reads_energy_since_open_with_one_call():
    fake = FakeNVML([FakeGPU(power_w=250.0)])
    [sensor] = open_fake(fake)
    assert isinstance(sensor, NVMLEnergySensor)
    assert sensor.name == "nvml:0" and sensor.domain == "gpu" and sensor.kind == "measured"
    assert sensor.device.startswith("NVIDIA H100 80GB HBM3 (GPU 0, UUID GPU-")
    first = sensor.read()
    assert first.energy_j == 0.0 and first.power_w is None and first.share is None
    fake.advance(4.0)
    before = sum(fake.calls.values())
    reading = sensor.read()
    assert sum(fake.calls.values()) - before == 1  # one NVML call per counter read
    assert reading.energy_j == pytest.approx(1000.0, abs=0.001)
    assert reading.time_s == 4.0
    assert sensor.provenance()["energy"] == "counter"
    sensor.close()


def test_polling_mode_when_the_counter_is_not_supported():
    fake = FakeNVML([FakeGPU(energy_counter=False, power_w=[100.0, 300.0], trace_step_s=1.0)])
    [sensor] = open_fake(fake)
    assert isinstance(sensor, NVMLPowerSensor)
    assert sensor.read().power_w == 100.0 and sensor.read().energy_j is None
    fake.advance(1.5)
    assert sensor.read().power_w == 300.0
    prov = sensor.provenance()
    assert prov["energy"] == "polled" and "nvmlDeviceGetPowerUsage" in prov["method"]
    sensor.close()


def test_fake_integrates_power_traces_exactly():
    fake = FakeNVML([FakeGPU(power_w=[100.0, 200.0]), FakeGPU(power_w=lambda t: 100.0 + 10 * t)])
    fake.advance(0.5)
    fake.advance(1.0)  # crosses the 1 s step
    assert fake.energy_j(0) - FakeGPU().initial_energy_mj / 1000 == pytest.approx(200.0)
    assert fake.energy_j(1) - FakeGPU().initial_energy_mj / 1000 == pytest.approx(
        100.0 * 1.5 + 5 * 1.5 ** 2)


def test_neither_counter_nor_power_is_unavailable_and_names_the_gpu():
    fake = FakeNVML([FakeGPU(energy_counter=False, power_readings=False)])
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake)
    assert info.value.reason == "not_supported"
    assert "CUDA_VISIBLE_DEVICES" in info.value.fix and "GPU 0" in str(info.value)
    assert fake.init_count == 0


def test_counter_going_backwards_is_a_read_error_and_reading_resumes():
    fake = FakeNVML([FakeGPU(power_w=100.0)])
    [sensor] = open_fake(fake)
    fake.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(100.0)
    fake.rewind_counter(0, 50_000)  # a glitch: 50 J back
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.reason == "invalid"
    fake.advance(1.0)  # +100 J: the counter is past its old value again
    assert sensor.read().energy_j == pytest.approx(150.0)


# -- CUDA_VISIBLE_DEVICES -------------------------------------------------------------------

def uuids(fake: FakeNVML) -> list[str]:
    return [g.uuid for g in fake.gpus]


@pytest.mark.parametrize("spec, expected", [
    ("1", [1]),
    ("2,0", [2, 0]),
    (" 2 , 1 ", [2, 1]),
    ("0,7,1", [0]),  # out of range stops the list
    ("0,abc,1", [0]),  # invalid stops the list
    ("0,,1", [0]),
    ("1x", [1]),  # read like strtoul: leading digits
    ("-1", []),
    ("0,0", []),  # a repeated device hides all
    ("1,2,1", []),
])
def test_visible_indices(spec, expected):
    fake = FakeNVML(4)
    if not expected:
        with pytest.raises(SensorUnavailable) as info:
            open_fake(fake, spec)
        assert info.value.reason == "not_present" and "CUDA_VISIBLE_DEVICES" in str(info.value)
        assert fake.init_count == 0
        return
    sensors = open_fake(fake, spec)
    assert [s.name for s in sensors] == [f"nvml:{i}" for i in range(len(expected))]
    assert [s.provenance()["nvml_index"] for s in sensors] == expected
    assert [s.provenance()["uuid"] for s in sensors] == [uuids(fake)[i] for i in expected]
    for s in sensors:
        s.close()
    assert fake.init_count == 0


def test_visible_empty_string_means_no_gpu():
    with pytest.raises(SensorUnavailable) as info:
        open_fake(FakeNVML(2), "")
    assert info.value.reason == "not_present"
    assert "CUDA_VISIBLE_DEVICES=''" in str(info.value)


def test_visible_full_uuid_and_unique_prefix():
    fake = FakeNVML(3)
    u = uuids(fake)
    sensors = open_fake(fake, f"{u[2]},{u[0][:8]}")
    assert [s.provenance()["nvml_index"] for s in sensors] == [2, 0]
    assert [s.name for s in sensors] == ["nvml:0", "nvml:1"]


def test_visible_ambiguous_or_unknown_uuid_stops_the_list():
    fake = FakeNVML(3)
    u = uuids(fake)
    assert [s.provenance()["nvml_index"] for s in open_fake(fake, f"{u[1]},GPU-,{u[0]}")] == [1]
    assert [s.provenance()["nvml_index"]
            for s in open_fake(fake, f"{u[1]},GPU-ffffffff-0000,{u[0]}")] == [1]
    assert [s.provenance()["nvml_index"] for s in open_fake(fake, f"{u[1]},0")] == [1]


def test_visible_mig_uuid_measures_the_parent_and_says_it_is_shared():
    fake = FakeNVML([FakeGPU(), FakeGPU(name="NVIDIA A100-SXM4-80GB", mig=3)])
    migs = fake.mig_uuids(1)
    [sensor] = open_fake(fake, migs[1])
    prov = sensor.provenance()
    assert prov["nvml_index"] == 1 and prov["shared"] is True
    assert prov["mig_devices"] == [migs[1]] and "MIG slice" in prov["mig_note"]
    assert "MIG " + migs[1] in sensor.device
    fake.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(100.0)  # the parent GPU's energy
    # NVML resolved the full MIG UUID itself and named its parent
    assert fake.calls["nvmlDeviceGetDeviceHandleFromMigDeviceHandle"] == 1


def test_visible_mig_prefix_legacy_form_and_two_slices_of_one_gpu():
    fake = FakeNVML([FakeGPU(mig=2), FakeGPU(mig=2)])
    m0, m1 = fake.mig_uuids(0), fake.mig_uuids(1)
    [sensor] = open_fake(fake, m1[0][:12])
    assert sensor.provenance()["nvml_index"] == 1
    [legacy] = open_fake(fake, f"MIG-{uuids(fake)[0]}/1/0")
    assert legacy.provenance()["nvml_index"] == 0 and legacy.provenance()["shared"]
    # two slices of GPU 0 and one of GPU 1: two sensors, GPU 0 once, at the first ordinal
    sensors = open_fake(fake, f"{m0[0]},{m1[1]},{m0[1]}")
    assert [s.name for s in sensors] == ["nvml:0", "nvml:1"]
    assert sensors[0].provenance()["mig_devices"] == [m0[0], m0[1]]


def test_visible_devices_default_reads_the_environment(monkeypatch):
    fake = FakeNVML(3)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    [sensor] = open_nvml_sensors(nvml=fake, clock=fake.time)
    assert sensor.provenance()["nvml_index"] == 2 and sensor.provenance()["cuda_ordinal"] == 0
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert len(open_nvml_sensors(nvml=fake, clock=fake.time)) == 3


@given(st.lists(st.one_of(st.integers(-2, 6).map(str), st.sampled_from(["", "x", "GPU-1"])),
                max_size=8))
def test_resolve_visible_devices_properties(tokens):
    out = resolve_visible_devices(",".join(tokens), count=4, match_uuid=lambda _t: None)
    assert len(out) == len(set(out)) and all(0 <= i < 4 for i in out)
    assert [str(i) for i in out] == tokens[:len(out)]  # always a prefix of the list


# -- errors ---------------------------------------------------------------------------------

def test_every_nvml_error_code_of_pynvml_is_mapped():
    codes = sorted(n for n in dir(pynvml) if n.startswith("NVML_ERROR_"))
    assert codes, "pynvml defines no NVML_ERROR_* constants?"
    missing = [n for n in codes if n not in NVML_ERRORS]
    assert not missing, f"map these NVML codes in _nvml.NVML_ERRORS: {missing}"
    assert all(reason in REASONS for reason, _ in NVML_ERRORS.values())


def test_fake_defines_the_same_error_codes_as_pynvml():
    real = {n: getattr(pynvml, n) for n in dir(pynvml) if n.startswith("NVML_ERROR_")}
    fake = {n: getattr(fake_nvml, n) for n in dir(fake_nvml) if n.startswith("NVML_ERROR_")}
    assert set(real) <= set(fake) and all(fake[n] == real[n] for n in real)


@pytest.mark.parametrize("code, pci, reason", [
    ("NVML_ERROR_LIBRARY_NOT_FOUND", [], "not_present"),
    ("NVML_ERROR_LIBRARY_NOT_FOUND", [("0x10de", "0x030200")], "driver"),
    ("NVML_ERROR_LIBRARY_NOT_FOUND", None, "driver"),  # /sys unreadable: cannot tell
    ("NVML_ERROR_DRIVER_NOT_LOADED", [("0x8086", "0x030000")], "not_present"),
    ("NVML_ERROR_DRIVER_NOT_LOADED", [("0x10de", "0x030000")], "driver"),
    ("NVML_ERROR_NO_PERMISSION", [("0x10de", "0x030200")], "permission"),
    ("NVML_ERROR_NOT_SUPPORTED", [("0x10de", "0x030200")], "not_supported"),
    ("NVML_ERROR_LIB_RM_VERSION_MISMATCH", [("0x10de", "0x030200")], "driver"),
])
def test_init_failure_gives_reason_fix_and_cause(tmp_path, code, pci, reason):
    fake = FakeNVML(1)
    fake.fail_init(getattr(fake_nvml, code))
    sys_root = str(tmp_path / "missing") if pci is None else pci_tree(tmp_path, *pci)
    with pytest.raises(SensorUnavailable) as info:
        open_nvml_sensors(nvml=fake, visible_devices=None, sys_root=sys_root)
    err = info.value
    assert err.reason == reason and err.source == "nvml" and err.fix
    assert isinstance(err.__cause__, fake.NVMLError)
    assert err.__cause__.value == getattr(fake_nvml, code)
    if code == "NVML_ERROR_LIB_RM_VERSION_MISMATCH":
        assert "reboot" in err.fix
    if reason == "driver" and code == "NVML_ERROR_LIBRARY_NOT_FOUND":
        assert "driver" in err.fix


@pytest.mark.parametrize("pci, reason", [
    ([("0x10de", "0x030200")], "no_library"),
    (None, "no_library"),  # cannot tell whether there is a GPU: say what to install
    ([("0x8086", "0x030000")], "not_present"),  # no NVIDIA GPU: nothing to install
])
def test_missing_binding(monkeypatch, tmp_path, pci, reason):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    sys_root = str(tmp_path / "missing") if pci is None else pci_tree(tmp_path, *pci)
    with pytest.raises(SensorUnavailable) as info:
        open_nvml_sensors(visible_devices=None, sys_root=sys_root)
    assert info.value.reason == reason
    assert isinstance(info.value.__cause__, ImportError)
    if reason == "no_library":
        assert info.value.fix == "pip install 'wattprint[nvidia]'  (nvidia-ml-py)"


@pytest.mark.skipif(real_nvml_works(), reason="a working NVIDIA driver is present")
def test_real_pynvml_without_a_driver_is_unavailable():
    with pytest.raises(SensorUnavailable) as info:
        open_nvml_sensors(visible_devices=None)
    assert info.value.reason in ("not_present", "driver")
    assert isinstance(info.value.__cause__, pynvml.NVMLError)


def test_zero_gpus_is_not_present_and_shuts_nvml_down():
    fake = FakeNVML(0)
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake)
    assert info.value.reason == "not_present"
    assert fake.init_count == 0 and fake.calls["nvmlShutdown"] == 1


def test_error_at_open_closes_what_was_opened():
    fake = FakeNVML(2)
    fake.fail("nvmlDeviceGetTotalEnergyConsumption", fake_nvml.NVML_ERROR_NO_PERMISSION, gpu=1)
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake)
    assert info.value.reason == "permission" and "/dev/nvidia" in info.value.fix
    assert fake.init_count == 0


def test_mid_run_failure_is_a_read_error_chained_to_the_nvml_error():
    fake = FakeNVML(1)
    [sensor] = open_fake(fake)
    fake.fail("nvmlDeviceGetTotalEnergyConsumption", fake_nvml.NVML_ERROR_GPU_IS_LOST, call=2)
    sensor.read()
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.reason == "driver" and "fell off the bus" in info.value.fix
    assert isinstance(info.value.__cause__, fake_nvml.NVMLError_GpuIsLost)
    assert "nvml:0" in str(info.value)
    sensor.read()  # injected once: the next read works


def test_fallback_is_a_working_power_sensor_sharing_the_nvml_session():
    fake = FakeNVML([FakeGPU(power_w=[200.0, 400.0])])
    [sensor] = open_fake(fake)
    backup = sensor.fallback()
    assert isinstance(backup, NVMLPowerSensor) and backup.name == sensor.name
    assert backup.provenance()["fallback_from"] == "energy counter"
    sensor.close()  # the sampler closes the failed sensor: NVML must stay up
    assert fake.init_count == 1
    fake.advance(1.0)
    assert backup.read().power_w == 400.0
    backup.close()
    backup.close()
    assert fake.init_count == 0 and fake.calls["nvmlShutdown"] == 1


def test_close_shuts_nvml_down_once_per_opened_set():
    fake = FakeNVML(2)
    sensors = open_fake(fake)
    sensors[0].close()
    assert fake.calls["nvmlShutdown"] == 0
    sensors[1].close()
    sensors[1].close()
    sensors[0].close()
    assert fake.calls["nvmlShutdown"] == 1 and fake.init_count == 0


def test_fake_injects_errors_on_the_nth_call_and_forever():
    fake = FakeNVML(1)
    fake.nvmlInit()
    h = fake.nvmlDeviceGetHandleByIndex(0)
    fake.fail("nvmlDeviceGetPowerUsage", fake_nvml.NVML_ERROR_TIMEOUT, call=3, times=None)
    fake.nvmlDeviceGetPowerUsage(h)
    fake.nvmlDeviceGetPowerUsage(h)
    for _ in range(3):
        with pytest.raises(fake.NVMLError_Timeout):
            fake.nvmlDeviceGetPowerUsage(h)
    with pytest.raises(ValueError):
        fake.fail("nvmlNoSuchFunction", 3)


# -- attribution ----------------------------------------------------------------------------

def test_share_is_the_tracked_part_of_sm_utilisation():
    fake = FakeNVML([FakeGPU(processes=[100, 200], sm_util={100: 60, 200: 20})])
    [sensor] = open_fake(fake, pids=lambda: {100})
    sensor.read()
    fake.advance(1.0)
    assert sensor.read().share == pytest.approx(0.75)
    other = open_fake(fake, pids=lambda: {200, 999})[0]
    other.read()
    fake.advance(1.0)
    assert other.read().share == pytest.approx(0.25)
    assert "SM utilisation" in sensor.provenance()["attribution"]


def test_share_only_counts_samples_since_the_last_query():
    util = {100: 50, 200: 50}
    fake = FakeNVML([FakeGPU(processes=[100, 200], sm_util=lambda t: util)])
    fake.advance(5.0)  # history before the sensor opened must not count
    [sensor] = open_fake(fake, pids=lambda: {100})
    util.clear()
    util[100] = 90
    fake.advance(1.0)
    assert sensor.read().share == 1.0  # only the tracked process ran since opening


@pytest.mark.parametrize("running, expected", [
    ([100], 1.0), ([100, 200], 0.5), ([100, 200, 300, 101], 0.5), ([200], 0.0), ([], 0.0)])
def test_idle_gpu_share_follows_who_holds_a_context(running, expected):
    fake = FakeNVML([FakeGPU(processes=running)])  # no process ran kernels
    [sensor] = open_fake(fake, pids=lambda: {100, 101})
    fake.advance(1.0)
    assert sensor.read().share == expected


def test_attribution_is_queried_at_most_once_a_second():
    calls = []
    fake = FakeNVML([FakeGPU(processes=[100], sm_util={100: 80})])
    [sensor] = open_fake(fake, pids=lambda: calls.append(1) or {100})
    before = fake.calls["nvmlDeviceGetProcessUtilization"]
    for _ in range(25):  # 2.5 s at 10 Hz
        fake.advance(0.1)
        assert sensor.read().share == 1.0
    assert fake.calls["nvmlDeviceGetProcessUtilization"] - before == 3
    assert len(calls) == 3


def test_attribution_not_supported_counts_the_whole_device():
    fake = FakeNVML([FakeGPU(process_utilization=False)])
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.advance(1.0)
    assert sensor.read().share is None
    assert "whole device" in sensor.provenance()["attribution"]


def test_attribution_turning_unsupported_mid_run_counts_the_whole_device():
    fake = FakeNVML([FakeGPU(processes=[1], sm_util={1: 10})])
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.fail("nvmlDeviceGetProcessUtilization", fake_nvml.NVML_ERROR_NOT_SUPPORTED)
    fake.advance(1.0)
    reading = sensor.read()
    assert reading.share is None and reading.energy_j == pytest.approx(100.0)
    assert "NOT_SUPPORTED" in sensor.provenance()["attribution"]


def test_transient_attribution_error_keeps_the_last_share_and_never_fails_a_read():
    fake = FakeNVML([FakeGPU(processes=[1, 2], sm_util={1: 30, 2: 10})])
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.advance(1.0)
    assert sensor.read().share == pytest.approx(0.75)
    fake.fail("nvmlDeviceGetProcessUtilization", fake_nvml.NVML_ERROR_TIMEOUT)
    fake.advance(1.0)
    reading = sensor.read()
    assert reading.share == pytest.approx(0.75) and reading.energy_j == pytest.approx(200.0)
    fake.gpus[0].sm_util = {1: 10, 2: 10}
    fake.advance(1.0)
    # the failed window's samples were not lost: 1 s at 30/10, then 1 s at 10/10
    assert sensor.read().share == pytest.approx((30 + 10) / (40 + 20))


def test_persistent_attribution_errors_turn_attribution_off():
    fake = FakeNVML([FakeGPU(processes=[1], sm_util={1: 10})])
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.fail("nvmlDeviceGetProcessUtilization", fake_nvml.NVML_ERROR_GPU_IS_LOST, times=None)
    shares = []
    for _ in range(4):
        fake.advance(1.0)
        shares.append(sensor.read().share)
    assert shares == [None, None, None, None]  # no share was ever computed
    assert "turned off after NVML errors (NVML_ERROR_GPU_IS_LOST" in (
        sensor.provenance()["attribution"])
    assert fake.calls["nvmlDeviceGetProcessUtilization"] == 1 + 3  # probe + 3 tries


def test_attribution_probe_failing_at_open_keeps_the_gpu_measured():
    fake = FakeNVML([FakeGPU(processes=[1], sm_util={1: 10})])
    fake.fail("nvmlDeviceGetProcessUtilization", fake_nvml.NVML_ERROR_UNKNOWN)
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.advance(1.0)
    reading = sensor.read()
    assert reading.share is None and reading.energy_j == pytest.approx(100.0)
    assert "whole device" in sensor.provenance()["attribution"]


def test_pynvml_raising_for_success_means_no_samples():
    # pynvml raises NVMLError(NVML_SUCCESS) when the driver reports zero samples.
    fake = FakeNVML([FakeGPU(processes=[1])])
    [sensor] = open_fake(fake, pids=lambda: {1})
    fake.fail("nvmlDeviceGetProcessUtilization", fake_nvml.NVML_SUCCESS)
    fake.advance(1.0)
    assert sensor.read().share == 1.0  # fell through to the running-process rule


def test_fallback_keeps_attributing():
    fake = FakeNVML([FakeGPU(processes=[100, 200], sm_util={100: 30, 200: 10})])
    [sensor] = open_fake(fake, pids=lambda: {100})
    backup = sensor.fallback()
    fake.advance(1.0)
    assert backup.read().share == pytest.approx(0.75)


# -- power limits and provenance ------------------------------------------------------------

def test_power_limit_and_provenance():
    fake = FakeNVML([FakeGPU(power_limit_w=500.0, default_power_limit_w=700.0)],
                    driver_version="555.42.06")
    [sensor] = open_fake(fake)
    assert sensor.power_limit_w() == 500.0
    fake.gpus[0].power_limit_w = 350.0  # someone capped the GPU mid-run
    assert sensor.power_limit_w() == 350.0
    prov = sensor.provenance()
    assert prov["default_power_limit_w"] == 700.0 and prov["power_limit_w"] == 500.0
    assert prov["driver_version"] == "555.42.06" and prov["uuid"] == fake.gpus[0].uuid
    assert prov["gpu_name"] == "NVIDIA H100 80GB HBM3" and prov["kind"] == "measured"
    assert sensor.describe()["provenance"] == prov
    fake.fail("nvmlDeviceGetEnforcedPowerLimit", fake_nvml.NVML_ERROR_NO_PERMISSION)
    with pytest.raises(SensorReadError) as info:
        sensor.power_limit_w()
    assert info.value.reason == "permission" and info.value.__cause__ is not None


def test_descriptive_calls_failing_do_not_stop_measuring():
    fake = FakeNVML(1)
    fake.fail("nvmlDeviceGetName", fake_nvml.NVML_ERROR_NOT_SUPPORTED)
    fake.fail("nvmlDeviceGetPowerManagementDefaultLimit", fake_nvml.NVML_ERROR_NOT_SUPPORTED)
    [sensor] = open_fake(fake)
    assert sensor.provenance()["default_power_limit_w"] is None
    assert sensor.device.startswith("NVIDIA GPU (GPU 0")


# -- the fake cannot drift from pynvml ------------------------------------------------------

def fake_public_names() -> list[str]:
    return sorted(n for n in dir(FakeNVML) if n.startswith(("nvml", "NVML")))


def test_fake_public_names_exist_in_pynvml_with_same_values_and_arity():
    names = fake_public_names()
    assert "nvmlDeviceGetTotalEnergyConsumption" in names and "NVMLError_NotSupported" in names
    for name in names:
        assert hasattr(pynvml, name), f"FakeNVML.{name} does not exist in pynvml"
        real, mine = getattr(pynvml, name), getattr(FakeNVML, name)
        if name.startswith("NVML_"):
            assert mine == real, name
        elif name.startswith("NVMLError"):
            assert mine.__name__ == real.__name__
        elif inspect.isfunction(real):
            real_args = list(inspect.signature(real).parameters)
            fake_args = list(inspect.signature(mine).parameters)
            if not isinstance(inspect.getattr_static(FakeNVML, name), staticmethod):
                fake_args = fake_args[1:]  # drop self
            assert len(fake_args) == len(real_args), (name, real_args, fake_args)


def test_names_used_by_the_nvml_module_exist_in_the_fake_and_in_pynvml():
    source = "".join(p.read_text() for p in Path(_nvml.__file__).parent.glob("_nvml*.py"))
    used = set(re.findall(r"\bnvml\.((?:nvml|NVML)\w+)", source))
    used |= set(NVML_ERRORS) & set(dir(pynvml))
    assert "nvmlDeviceGetProcessUtilization" in used
    assert not [n for n in used if not hasattr(pynvml, n)]
    assert not [n for n in used if not hasattr(FakeNVML, n)]


def test_fake_error_classes_behave_like_pynvml():
    for name in (n for n in dir(pynvml) if n.startswith("NVML_ERROR_")):
        code = getattr(pynvml, name)
        real, mine = pynvml.NVMLError(code), FakeNVML.NVMLError(code)
        assert type(mine).__name__ == type(real).__name__
        assert isinstance(mine, FakeNVML.NVMLError) and mine.value == real.value == code
        assert type(mine)().value == code  # NVMLError_X() knows its own code
        if code in pynvml.NVMLError._errcode_to_string and code in fake_nvml._ERROR_TEXT:
            assert str(mine) == str(real)
    assert fake_nvml.nvmlExceptionClass(3) is fake_nvml.NVMLError_NotSupported


# -- the hardware check script --------------------------------------------------------------

def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_verify_script_help_works_without_a_gpu():
    done = run_script("--help")
    assert done.returncode == 0, done.stderr
    assert "--json" in done.stdout and "--duration" in done.stdout


@pytest.mark.skipif(real_nvml_works(), reason="a working NVIDIA driver is present")
def test_verify_script_says_no_gpu_without_a_traceback(tmp_path):
    done = run_script("--duration", "1", "--json", str(tmp_path / "out.json"))
    assert done.returncode == 2
    assert "no NVIDIA GPU/driver" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out.json").exists()


def test_runs_sharing_nvml_sensors_keep_them_open_or_refuse_released_ones():
    """A run closes the sensors it is given (NVML's handles go); a second run given the
    same ones is refused with the fix, not left reading 0 W. With close_sensors=False
    both runs measure the GPU and the sensors stay open until their owner closes them."""
    import time

    import wattprint
    from wattprint.errors import UsageError
    from wattprint.testing.fake_nvml import RealTimeNVML

    fake = RealTimeNVML([FakeGPU(power_w=250.0)], resolution_s=0.0)
    sensors = open_nvml_sensors(nvml=fake, visible_devices=None)
    for _ in range(2):
        with wattprint.track(sensors=sensors, mode="machine", close_sensors=False,
                             rate_hz=50) as run:
            time.sleep(0.5)
        result = run.result
        # loose: a loaded machine delays the boundary reads; the defect read 0 W
        assert result.energy_j == pytest.approx(250.0 * result.duration_s, rel=0.15)
        assert not sensors[0].released and fake.init_count == 1
    with wattprint.track(sensors=sensors, mode="machine", rate_hz=50) as run:
        time.sleep(0.1)
    assert sensors[0].released and fake.init_count == 0  # the default: the run closes them
    with pytest.raises(UsageError, match=r"sensor nvml:0 was closed when an earlier run "
                                         r"stopped.*close_sensors=False"):
        wattprint.track(sensors=sensors, mode="machine").start()
    with pytest.raises(UsageError, match="without sensors= the run opens and closes"):
        wattprint.track(close_sensors=False)


def test_a_decorated_function_keeps_its_nvml_sensors_across_calls_when_asked():
    """``@track(sensors=..., close_sensors=False)``: every call measures the GPU (the
    option travels with the decorator's settings); without it the second call is refused
    with the fix."""
    import time

    import wattprint
    from wattprint.errors import UsageError
    from wattprint.testing.fake_nvml import RealTimeNVML

    fake = RealTimeNVML([FakeGPU(power_w=200.0)], resolution_s=0.0)
    sensors = open_nvml_sensors(nvml=fake, visible_devices=None)

    @wattprint.track(sensors=sensors, mode="machine", close_sensors=False, rate_hz=50)
    def step():
        time.sleep(0.5)

    for _ in range(2):
        step()
        r = step.last_tracker.result
        assert r.energy_j == pytest.approx(200.0 * r.duration_s, rel=0.15)  # loaded: loose

    @wattprint.track(sensors=sensors, mode="machine", rate_hz=50)
    def closing_step():
        time.sleep(0.05)

    closing_step()
    with pytest.raises(UsageError, match="close_sensors=False"):
        closing_step()
