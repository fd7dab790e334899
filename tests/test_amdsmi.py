"""amdsmi sensors against the fake amdsmi, plus contract tests against amdsmi's own source.

amdsmi cannot be imported without ROCm's native library, so the contract tests read its
Python source instead: from an installed ``amdsmi`` package when there is one (found with
``importlib.util.find_spec``, which does not import it), else from the directory named by
``WATTPRINT_AMDSMI_SRC``, else from a snapshot of amdsmi 7.0.2 checked in below.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path

import pytest

from wattprint.errors import REASONS, SensorReadError, SensorUnavailable
from wattprint.sensors import _amdsmi
from wattprint.sensors._amdsmi import (AMDSMI_STATUS, AMDSMIEnergySensor, AMDSMIPowerSensor,
                                       energy_count_uj, open_amdsmi_sensors)
from wattprint.testing import fake_amdsmi
from wattprint.testing.fake_amdsmi import FakeAMDGPU, FakeAMDSMI

S = fake_amdsmi.amdsmi_wrapper  # status codes

# -- amdsmi 7.0.2 snapshot (from the wheel's amdsmi_wrapper.py / amdsmi_interface.py) ------
SNAPSHOT_STATUS = {
    "AMDSMI_STATUS_SUCCESS": 0, "AMDSMI_STATUS_INVAL": 1, "AMDSMI_STATUS_NOT_SUPPORTED": 2,
    "AMDSMI_STATUS_NOT_YET_IMPLEMENTED": 3, "AMDSMI_STATUS_FAIL_LOAD_MODULE": 4,
    "AMDSMI_STATUS_FAIL_LOAD_SYMBOL": 5, "AMDSMI_STATUS_DRM_ERROR": 6,
    "AMDSMI_STATUS_API_FAILED": 7, "AMDSMI_STATUS_TIMEOUT": 8, "AMDSMI_STATUS_RETRY": 9,
    "AMDSMI_STATUS_NO_PERM": 10, "AMDSMI_STATUS_INTERRUPT": 11, "AMDSMI_STATUS_IO": 12,
    "AMDSMI_STATUS_ADDRESS_FAULT": 13, "AMDSMI_STATUS_FILE_ERROR": 14,
    "AMDSMI_STATUS_OUT_OF_RESOURCES": 15, "AMDSMI_STATUS_INTERNAL_EXCEPTION": 16,
    "AMDSMI_STATUS_INPUT_OUT_OF_BOUNDS": 17, "AMDSMI_STATUS_INIT_ERROR": 18,
    "AMDSMI_STATUS_REFCOUNT_OVERFLOW": 19, "AMDSMI_STATUS_DIRECTORY_NOT_FOUND": 20,
    "AMDSMI_STATUS_BUSY": 30, "AMDSMI_STATUS_NOT_FOUND": 31, "AMDSMI_STATUS_NOT_INIT": 32,
    "AMDSMI_STATUS_NO_SLOT": 33, "AMDSMI_STATUS_DRIVER_NOT_LOADED": 34,
    "AMDSMI_STATUS_MORE_DATA": 39, "AMDSMI_STATUS_NO_DATA": 40,
    "AMDSMI_STATUS_INSUFFICIENT_SIZE": 41, "AMDSMI_STATUS_UNEXPECTED_SIZE": 42,
    "AMDSMI_STATUS_UNEXPECTED_DATA": 43, "AMDSMI_STATUS_NON_AMD_CPU": 44,
    "AMDSMI_STATUS_NO_ENERGY_DRV": 45, "AMDSMI_STATUS_NO_MSR_DRV": 46,
    "AMDSMI_STATUS_NO_HSMP_DRV": 47, "AMDSMI_STATUS_NO_HSMP_SUP": 48,
    "AMDSMI_STATUS_NO_HSMP_MSG_SUP": 49, "AMDSMI_STATUS_HSMP_TIMEOUT": 50,
    "AMDSMI_STATUS_NO_DRV": 51, "AMDSMI_STATUS_FILE_NOT_FOUND": 52,
    "AMDSMI_STATUS_ARG_PTR_NULL": 53, "AMDSMI_STATUS_AMDGPU_RESTART_ERR": 54,
    "AMDSMI_STATUS_SETTING_UNAVAILABLE": 55, "AMDSMI_STATUS_CORRUPTED_EEPROM": 56,
    "AMDSMI_STATUS_MAP_ERROR": 4294967294, "AMDSMI_STATUS_UNKNOWN_ERROR": 4294967295,
}
SNAPSHOT_FUNCTIONS = {  # name -> parameter names
    "amdsmi_init": ["flag"], "amdsmi_shut_down": [], "amdsmi_get_processor_handles": [],
    **{name: ["processor_handle"] for name in (
        "amdsmi_get_gpu_enumeration_info", "amdsmi_get_gpu_device_uuid",
        "amdsmi_get_gpu_device_bdf", "amdsmi_get_gpu_asic_info", "amdsmi_get_gpu_driver_info",
        "amdsmi_get_power_cap_info", "amdsmi_get_energy_count", "amdsmi_get_power_info")},
}
SNAPSHOT_CLASSES = {"AmdSmiException", "AmdSmiLibraryException", "AmdSmiRetryException",
                    "AmdSmiTimeoutException", "AmdSmiParameterException",
                    "AmdSmiKeyException", "AmdSmiBdfFormatException", "AmdSmiInitFlags"}


def amdsmi_source_dir() -> Path | None:
    spec = importlib.util.find_spec("amdsmi")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    env = os.environ.get("WATTPRINT_AMDSMI_SRC")
    return Path(env) if env else None


def amdsmi_api() -> tuple[str, dict[str, int], dict[str, list[str]], set[str]]:
    """(where from, status codes, exported functions' parameters, exported classes)."""
    src = amdsmi_source_dir()
    if src is None:
        return "snapshot 7.0.2", SNAPSHOT_STATUS, SNAPSHOT_FUNCTIONS, SNAPSHOT_CLASSES
    wrapper = (src / "amdsmi_wrapper.py").read_text()
    status = {m[0]: int(m[1]) for m in re.findall(r"^(AMDSMI_STATUS_\w+) = (\d+)", wrapper, re.M)}
    exported = set(re.findall(r"import (\w+)", (src / "__init__.py").read_text()))
    tree = ast.parse((src / "amdsmi_interface.py").read_text())
    functions = {n.name: [a.arg for a in n.args.args] for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name in exported}
    classes = {n for n in exported if n[:1].isupper()}
    return str(src), status, functions, classes


def open_fake(fake: FakeAMDSMI, visible: str | None = None, rocr: str | None = None, **kw):
    return open_amdsmi_sensors(amdsmi=fake, visible_devices=visible, rocr_visible_devices=rocr,
                               clock=fake.time, **kw)


def pci_tree(tmp_path: Path, *devices: tuple[str, str]) -> str:
    root = tmp_path / "bus" / "pci" / "devices"
    root.mkdir(parents=True)
    for i, (vendor, pci_class) in enumerate(devices):
        d = root / f"0000:{i:02x}:00.0"
        d.mkdir()
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(pci_class + "\n")
    return str(tmp_path)


# -- energy -----------------------------------------------------------------------------

def test_counter_mode_energy_in_joules():
    fake = FakeAMDSMI([FakeAMDGPU(power_w=500.0)])
    [sensor] = open_fake(fake)
    assert isinstance(sensor, AMDSMIEnergySensor)
    assert sensor.name == "amdsmi:0" and sensor.domain == "gpu" and sensor.kind == "measured"
    assert sensor.read().energy_j == 0.0
    fake.advance(2.0)
    before = sum(fake.calls.values())
    reading = sensor.read()
    assert sum(fake.calls.values()) - before == 1
    assert reading.energy_j == pytest.approx(1000.0, abs=16e-6)  # one tick is 15.3 uJ
    assert reading.power_w is None and reading.share is None
    prov = sensor.provenance()
    assert prov["energy"] == "counter" and prov["counter_resolution_uj"] == pytest.approx(15.3)
    assert "whole device" in prov["attribution"]


def test_energy_count_keys_of_old_and_new_amdsmi():
    assert energy_count_uj({"energy_accumulator": 10, "counter_resolution": 15.3,
                            "timestamp": 1}) == (10, 15.3)
    assert energy_count_uj({"power": 7, "counter_resolution": 1.0, "timestamp": 1}) == (7, 1.0)
    fake = FakeAMDSMI([FakeAMDGPU(power_w=100.0, legacy_energy_key=True)])
    [sensor] = open_fake(fake)
    fake.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(100.0, abs=1e-4)


@pytest.mark.parametrize("field", ["current_socket_power", "average_socket_power"])
def test_polling_mode_when_there_is_no_accumulator(field):
    fake = FakeAMDSMI([FakeAMDGPU(energy_counter=False, power_field=field, power_w=[200, 400])])
    [sensor] = open_fake(fake)
    assert isinstance(sensor, AMDSMIPowerSensor)
    assert sensor.read().power_w == 200.0 and sensor.read().energy_j is None
    fake.advance(1.0)
    assert sensor.read().power_w == 400.0
    assert field in sensor.provenance()["method"]


def test_zero_resolution_means_polling():
    fake = FakeAMDSMI([FakeAMDGPU(counter_resolution_uj=0.0)])
    assert isinstance(open_fake(fake)[0], AMDSMIPowerSensor)


def test_neither_energy_nor_power_is_unavailable():
    fake = FakeAMDSMI([FakeAMDGPU(energy_counter=False, power_field=None)])
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake)
    assert info.value.reason == "not_supported" and "HIP_VISIBLE_DEVICES" in info.value.fix
    assert fake.init_count == 0


def test_counter_going_backwards_is_a_read_error():
    fake = FakeAMDSMI([FakeAMDGPU(power_w=100.0)])
    [sensor] = open_fake(fake)
    fake.advance(1.0)
    sensor.read()
    fake.rewind_counter(0, 1000)
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.reason == "invalid" and "backwards" in str(info.value)
    fake.advance(1.0)
    assert sensor.read().energy_j == pytest.approx(200.0 - 1000 * 15.3e-6, abs=1e-4)


def test_stuck_counter_becomes_a_read_error_then_falls_back_to_power():
    fake = FakeAMDSMI([FakeAMDGPU(power_w=300.0, counter_stuck=True)])
    [sensor] = open_fake(fake)
    fake.advance(4.0)
    assert sensor.read().energy_j == 0.0  # not yet declared stuck
    fake.advance(1.0)
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert "has not moved" in str(info.value)
    backup = sensor.fallback()
    assert isinstance(backup, AMDSMIPowerSensor) and backup.name == sensor.name
    assert backup.read().power_w == 300.0
    assert backup.provenance()["fallback_from"] == "energy accumulator"
    sensor.close()
    assert fake.init_count == 1
    backup.close()
    assert fake.init_count == 0


def test_mid_run_failure_is_chained():
    fake = FakeAMDSMI(1)
    [sensor] = open_fake(fake)
    fake.fail("amdsmi_get_energy_count", S.AMDSMI_STATUS_NO_PERM)
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.reason == "permission" and "render" in info.value.fix
    assert isinstance(info.value.__cause__, fake.AmdSmiLibraryException)
    assert "\n" not in str(info.value)
    fake.fail("amdsmi_get_energy_count", S.AMDSMI_STATUS_TIMEOUT)
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert isinstance(info.value.__cause__, fake_amdsmi.AmdSmiTimeoutException)
    sensor.read()


def test_power_limit_in_watts():
    fake = FakeAMDSMI([FakeAMDGPU(power_cap_w=650.0, default_power_cap_w=750.0)])
    [sensor] = open_fake(fake)
    assert sensor.power_limit_w() == 650.0
    prov = sensor.provenance()
    assert prov["power_limit_w"] == 650.0 and prov["default_power_limit_w"] == 750.0
    assert prov["gpu_name"] == "AMD Instinct MI300X" and prov["driver_version"] == "6.8.5"


def test_close_shuts_down_once():
    fake = FakeAMDSMI(3)
    sensors = open_fake(fake)
    for s in sensors + sensors:
        s.close()
    assert fake.calls["amdsmi_shut_down"] == 1 and fake.init_count == 0


# -- visibility -------------------------------------------------------------------------

def hip_ids(sensors) -> list[int]:
    return [s.provenance()["hip_id"] for s in sensors]


def test_hip_indices_follow_hip_order_not_handle_order():
    fake = FakeAMDSMI([FakeAMDGPU(hip_id=2), FakeAMDGPU(hip_id=0), FakeAMDGPU(hip_id=1)])
    sensors = open_fake(fake, "0,2")
    assert hip_ids(sensors) == [0, 2] and [s.name for s in sensors] == ["amdsmi:0", "amdsmi:1"]
    assert [s.provenance()["bdf"] for s in sensors] == [fake.gpus[1].bdf, fake.gpus[0].bdf]


def test_without_enumeration_info_handle_order_is_used():
    fake = FakeAMDSMI(3, enumeration_info=False)
    sensors = open_fake(fake, "2")
    assert [s.provenance()["bdf"] for s in sensors] == [fake.gpus[2].bdf]
    assert sensors[0].provenance()["hip_id"] is None


def test_rocr_filters_first_then_hip_picks():
    fake = FakeAMDSMI(4)
    sensors = open_fake(fake, visible="1", rocr="3,1,2")
    assert hip_ids(sensors) == [1]  # HIP index 1 of ROCr's [3, 1, 2]
    assert hip_ids(open_fake(fake, visible="2,0", rocr="3,1,2")) == [2, 3]


def test_uuid_prefixes_and_stopping_rules():
    fake = FakeAMDSMI(3)
    fake.amdsmi_init()
    hip_uuid = fake.amdsmi_get_gpu_enumeration_info(fake.amdsmi_get_processor_handles()[1])[
        "hip_uuid"]
    fake.amdsmi_shut_down()
    assert hip_ids(open_fake(fake, hip_uuid[:10])) == [1]
    assert hip_ids(open_fake(fake, "GPU-" + fake.gpus[2].uuid[:6])) == [2]
    assert hip_ids(open_fake(fake, "1,5,0")) == [1]
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake, "1,1")
    assert info.value.reason == "not_present"
    with pytest.raises(SensorUnavailable):
        open_fake(fake, "")


def test_visibility_defaults_read_the_environment(monkeypatch):
    fake = FakeAMDSMI(3)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("ROCR_VISIBLE_DEVICES", "0,2")
    assert hip_ids(open_amdsmi_sensors(amdsmi=fake, clock=fake.time)) == [0, 2]
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "1")  # the second GPU ROCr left visible
    assert hip_ids(open_amdsmi_sensors(amdsmi=fake, clock=fake.time)) == [2]
    monkeypatch.delenv("HIP_VISIBLE_DEVICES")
    monkeypatch.delenv("ROCR_VISIBLE_DEVICES")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # HIP reads it too
    assert hip_ids(open_amdsmi_sensors(amdsmi=fake, clock=fake.time)) == [1]


# -- init and import failures -------------------------------------------------------------

@pytest.mark.parametrize("status, pci, reason", [
    ("AMDSMI_STATUS_DRIVER_NOT_LOADED", [("0x10de", "0x030200")], "not_present"),
    ("AMDSMI_STATUS_DRIVER_NOT_LOADED", [("0x1002", "0x120000")], "driver"),  # MI300X class
    ("AMDSMI_STATUS_INIT_ERROR", [("0x1002", "0x038000")], "driver"),
    ("AMDSMI_STATUS_INIT_ERROR", None, "driver"),
    ("AMDSMI_STATUS_NO_PERM", [("0x1002", "0x038000")], "permission"),
    ("AMDSMI_STATUS_FAIL_LOAD_MODULE", [("0x1002", "0x038000")], "driver"),
])
def test_init_failure_reason_fix_and_cause(tmp_path, status, pci, reason):
    fake = FakeAMDSMI(1)
    fake.fail_init(getattr(S, status))
    sys_root = str(tmp_path / "nothing") if pci is None else pci_tree(tmp_path, *pci)
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake, sys_root=sys_root)
    err = info.value
    assert err.reason == reason and err.source == "amdsmi" and err.fix
    assert isinstance(err.__cause__, fake_amdsmi.AmdSmiLibraryException)
    assert err.__cause__.err_code == getattr(S, status)


def test_no_gpus_is_not_present():
    fake = FakeAMDSMI(0)
    with pytest.raises(SensorUnavailable) as info:
        open_fake(fake)
    assert info.value.reason == "not_present" and fake.init_count == 0


@pytest.mark.parametrize("pci, reason", [
    ([("0x1002", "0x120000")], "no_library"),
    (None, "no_library"),
    ([("0x10de", "0x030200")], "not_present"),
])
def test_missing_package(monkeypatch, tmp_path, pci, reason):
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    sys_root = str(tmp_path / "missing") if pci is None else pci_tree(tmp_path, *pci)
    with pytest.raises(SensorUnavailable) as info:
        open_amdsmi_sensors(visible_devices=None, rocr_visible_devices=None, sys_root=sys_root)
    assert info.value.reason == reason
    if reason == "no_library":
        assert "wattprint[amd]" in info.value.fix


def test_package_without_native_library_is_a_driver_problem(monkeypatch, tmp_path, capsys):
    # amdsmi prints and then fails with KeyError when libamd_smi.so is missing.
    pkg = tmp_path / "amdsmi"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "print('Could not load libamd_smi.so')\n_libraries = {}\n_libraries['libamd_smi.so']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    amd = pci_tree(tmp_path / "amd", ("0x1002", "0x038000"))
    with pytest.raises(SensorUnavailable) as info:
        open_amdsmi_sensors(visible_devices=None, rocr_visible_devices=None, sys_root=amd)
    assert info.value.reason == "driver" and "libamd_smi.so" in str(info.value)
    assert "ROCM_PATH" in info.value.fix and isinstance(info.value.__cause__, KeyError)
    assert capsys.readouterr().out == ""  # amdsmi's print did not leak
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    none = pci_tree(tmp_path / "none", ("0x10de", "0x030200"))
    with pytest.raises(SensorUnavailable) as info:  # amdsmi installed on a machine without AMD
        open_amdsmi_sensors(visible_devices=None, rocr_visible_devices=None, sys_root=none)
    assert info.value.reason == "not_present"
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)


# -- contracts ----------------------------------------------------------------------------

def test_every_amdsmi_status_is_mapped():
    where, status, _, _ = amdsmi_api()
    assert status, where
    missing = [n for n in status if n != "AMDSMI_STATUS_SUCCESS" and n not in AMDSMI_STATUS]
    assert not missing, f"map these amdsmi statuses ({where}) in AMDSMI_STATUS: {missing}"
    assert all(reason in REASONS for reason, _ in AMDSMI_STATUS.values())


def test_fake_statuses_match_amdsmi():
    where, status, _, _ = amdsmi_api()
    for name, code in status.items():
        assert getattr(S, name) == code, (where, name)


def test_fake_public_names_exist_in_amdsmi_with_same_parameters():
    where, _, functions, classes = amdsmi_api()
    mine = [n for n in dir(FakeAMDSMI) if n.startswith("amdsmi_") and n != "amdsmi_wrapper"]
    assert "amdsmi_get_energy_count" in mine
    for name in mine:
        assert name in functions, f"FakeAMDSMI.{name} is not exported by amdsmi ({where})"
        params = list(inspect.signature(getattr(FakeAMDSMI, name)).parameters)[1:]
        assert params == functions[name], (name, where)
    for name in (n for n in dir(FakeAMDSMI) if n.startswith("AmdSmi")):
        assert name in classes, f"FakeAMDSMI.{name} is not exported by amdsmi ({where})"
    assert set(FakeAMDSMI.AmdSmiInitFlags.__members__) >= {"INIT_AMD_GPUS", "INIT_ALL_PROCESSORS"}


def test_names_used_by_the_amdsmi_module_exist_in_the_fake_and_in_amdsmi():
    where, _, functions, classes = amdsmi_api()
    source = Path(_amdsmi.__file__).read_text()
    used = set(re.findall(r"\bamdsmi\.(amdsmi_\w+|AmdSmi\w+)", source))
    used |= set(re.findall(r'getattr\(amdsmi, "(\w+)"', source))
    used -= {"amdsmi_wrapper"}
    assert "amdsmi_get_power_info" in used
    assert not [n for n in used if not hasattr(FakeAMDSMI, n)]
    assert not [n for n in used if n not in functions and n not in classes], where


def test_snapshot_is_what_the_contract_uses_when_amdsmi_is_absent(monkeypatch):
    monkeypatch.delenv("WATTPRINT_AMDSMI_SRC", raising=False)
    if importlib.util.find_spec("amdsmi") is not None:
        pytest.skip("amdsmi is installed: the contract tests read its source")
    assert amdsmi_api()[0] == "snapshot 7.0.2"
