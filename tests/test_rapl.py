"""Tests of the powercap/RAPL sensors against fixture trees in tests/fixtures/powercap."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from wattprint.errors import REASONS, SensorReadError, SensorUnavailable, UsageError
from wattprint.sensors._rapl import (
    counter_delta_uj,
    open_rapl_sensors,
    parse_uj,
    probe_rapl,
)

FIXTURES = Path(__file__).parent / "fixtures" / "powercap"
BARE = FIXTURES / "cpuinfo_bare_metal"
VM = FIXTURES / "cpuinfo_vm"
PACKAGE_RANGE_UJ = 262143328850


def names(sensors):
    return [s.name for s in sensors]


def write(path: Path, value) -> None:
    """Rewrite a counter file in place (same inode, as sysfs would show a new value)."""
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(f"{value}\n")


@pytest.fixture
def opened():
    """Open sensors through this and they are closed after the test."""
    kept = []

    def _open(*args, **kwargs):
        sensors = open_rapl_sensors(*args, **kwargs)
        kept.extend(sensors)
        return sensors

    yield _open
    for s in kept:
        s.close()


def sysfs_layout(tmp_path: Path, tree: str) -> Path:
    """Build the real layout: zones as nested dirs under devices/virtual/powercap/<control>,
    and /sys/class/powercap listing every zone (packages *and* subzones) as symlinks."""
    devices = tmp_path / "devices" / "virtual" / "powercap" / "intel-rapl"
    shutil.copytree(FIXTURES / tree, devices)
    cls = tmp_path / "class" / "powercap"
    cls.mkdir(parents=True)
    (cls / "intel-rapl").symlink_to(os.path.relpath(devices, cls))
    for zone in sorted(devices.glob("intel-rapl:*")):
        (cls / zone.name).symlink_to(os.path.relpath(zone, cls))
        for sub in sorted(zone.glob("intel-rapl:*")):
            (cls / sub.name).symlink_to(os.path.relpath(sub, cls))
    return cls


# --------------------------------------------------------------------------- discovery


def test_two_packages_and_dram_counted_once_with_symlinks_and_nesting(tmp_path, opened):
    root = sysfs_layout(tmp_path, "server_2s")
    assert (root / "intel-rapl:0:1").is_symlink()  # listed twice: top level and nested
    assert (root / "intel-rapl:0" / "intel-rapl:0:1").is_dir()
    sensors = opened(root, cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0", "rapl:dram-0", "rapl:package-1", "rapl:dram-1"]
    assert [s.domain for s in sensors] == ["cpu", "dram", "cpu", "dram"]
    assert all(s.nested_in is None and s.contains == () for s in sensors)
    assert all(s.kind == "measured" and s.scope == "device" and s.interval_s is None
               for s in sensors)
    assert sensors[0].device == "CPU package 0 (RAPL)"
    assert sensors[3].device == "DRAM of CPU package 1 (RAPL)"
    assert len({os.path.realpath(s.path) for s in sensors}) == 4


def test_nested_only_layout_gives_the_same_sensors(opened):
    sensors = opened(FIXTURES / "server_2s", cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0", "rapl:dram-0", "rapl:package-1", "rapl:dram-1"]


def test_zone_duplicated_as_real_directories_counted_once(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "server_2s", root)
    for sub in list(root.glob("intel-rapl:*/intel-rapl:*")):
        shutil.copytree(sub, root / sub.name)  # a copy, not a link: same zone id
    sensors = opened(root, cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0", "rapl:dram-0", "rapl:package-1", "rapl:dram-1"]


def test_subdomains_only_on_request_and_marked_nested(tmp_path, opened):
    root = sysfs_layout(tmp_path, "server_2s")
    sensors = {s.name: s for s in opened(root, cpuinfo_path=BARE, include_subdomains=True)}
    assert sorted(sensors) == sorted(["rapl:package-0", "rapl:core-0", "rapl:dram-0",
                                      "rapl:package-1", "rapl:core-1", "rapl:dram-1"])
    assert sensors["rapl:core-0"].nested_in == "rapl:package-0"
    assert sensors["rapl:core-1"].nested_in == "rapl:package-1"
    assert sensors["rapl:core-1"].domain == "cpu"
    assert sensors["rapl:dram-1"].nested_in is None  # DRAM is outside the package energy
    assert sensors["rapl:package-0"].nested_in is None
    assert sensors["rapl:core-0"].describe()["nested_in"] == "rapl:package-0"


def test_mmio_mirror_deduplicated_in_favour_of_msr(opened):
    root = FIXTURES / "client_mmio_psys"
    sensors = opened(root, cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0", "rapl:dram-0"]
    assert sensors[0].zone == "intel-rapl:0"  # listed after intel-rapl-mmio:0, still wins
    assert sensors[0].path == str(root / "intel-rapl:0" / "energy_uj")


def test_mirror_alone_is_used(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "client_mmio_psys" / "intel-rapl-mmio:0",
                    root / "intel-rapl-mmio:0")
    sensors = opened(root, cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0"]
    assert sensors[0].zone == "intel-rapl-mmio:0"


def test_psys_left_out_next_to_packages_unless_asked(opened):
    root = FIXTURES / "client_mmio_psys"
    sensors = {s.name: s for s in opened(root, cpuinfo_path=BARE, include_psys=True,
                                         include_subdomains=True)}
    assert sorted(sensors) == ["rapl:core-0", "rapl:dram-0", "rapl:package-0", "rapl:psys",
                               "rapl:uncore-0"]
    psys = sensors["rapl:psys"]
    assert psys.domain == "system" and psys.nested_in is None
    assert psys.contains == ("rapl:package-0", "rapl:dram-0")
    assert sensors["rapl:uncore-0"].nested_in == "rapl:package-0"


def test_psys_kept_when_no_package(opened):
    sensors = opened(FIXTURES / "psys_only", cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:psys"]
    assert sensors[0].domain == "system" and sensors[0].contains == ()


def test_amd_zones_through_intel_rapl_names(opened):
    sensors = opened(FIXTURES / "amd_epyc", cpuinfo_path=BARE)
    assert names(sensors) == ["rapl:package-0"]
    assert sensors[0].max_range_uj == 65532610987


def test_disabled_power_limit_does_not_drop_the_counter(opened):
    # dram zones have enabled=0 (no power limit set) but their energy counter works.
    root = FIXTURES / "server_2s"
    assert names(opened(root, cpuinfo_path=BARE)) == [
        "rapl:package-0", "rapl:dram-0", "rapl:package-1", "rapl:dram-1"]
    assert names(opened(root, cpuinfo_path=BARE, skip_disabled=True)) == [
        "rapl:package-0", "rapl:package-1"]


def test_probe_is_the_same_entry():
    assert probe_rapl is open_rapl_sensors


def test_provenance(opened):
    sensor = opened(FIXTURES / "server_2s", cpuinfo_path=BARE)[0]
    prov = sensor.provenance()
    assert prov["kind"] == "measured"
    assert prov["method"] == "Linux powercap RAPL energy counter"
    assert prov["zone"] == "intel-rapl:0"
    assert prov["zone_name"] == "package-0"
    assert prov["path"].endswith("intel-rapl:0/energy_uj")
    assert prov["max_energy_range_uj"] == PACKAGE_RANGE_UJ
    assert sensor.describe()["provenance"] == dict(prov)


# --------------------------------------------------------------------------- reading


def test_cumulative_energy_across_a_wrap(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "server_2s", root)
    counter = root / "intel-rapl:0" / "energy_uj"
    write(counter, PACKAGE_RANGE_UJ - 1_000_000)
    package = opened(root, cpuinfo_path=BARE)[0]
    assert package.name == "rapl:package-0"

    first = package.read()
    assert first.energy_j == 0.0 and first.power_w is None
    write(counter, PACKAGE_RANGE_UJ - 400_000)  # +0.6 J
    assert package.read().energy_j == pytest.approx(0.6)
    write(counter, 250_000)  # wraps: +0.4 J to the top, +0.25 J after
    r = package.read()
    assert r.energy_j == pytest.approx(1.25)
    write(counter, 3_250_000)  # +3 J
    r2 = package.read()
    assert r2.energy_j == pytest.approx(4.25)
    assert r2.time_s >= r.time_s >= first.time_s


def test_counter_decrease_without_range_counts_as_reset(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    zone = root / "intel-rapl:0"
    (zone / "max_energy_range_uj").unlink()
    write(zone / "energy_uj", 5_000_000)
    sensor = opened(root, cpuinfo_path=BARE)[0]
    assert sensor.max_range_uj == 0
    write(zone / "energy_uj", 7_000_000)
    assert sensor.read().energy_j == pytest.approx(2.0)
    write(zone / "energy_uj", 1_000_000)  # reset: that interval is lost, not invented
    assert sensor.read().energy_j == pytest.approx(2.0)
    write(zone / "energy_uj", 1_500_000)
    assert sensor.read().energy_j == pytest.approx(2.5)


def test_garbage_mid_run_raises_read_error_chained(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    sensor = opened(root, cpuinfo_path=BARE)[0]
    sensor.read()
    write(root / "intel-rapl:0" / "energy_uj", "n/a")
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.source == "rapl" and info.value.reason == "invalid"
    assert isinstance(info.value.__cause__, ValueError)


def test_os_error_mid_run_raises_read_error_chained(tmp_path, opened):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    sensor = opened(root, cpuinfo_path=BARE)[0]
    sensor.read()
    # Make the sensor's kept descriptor answer with an I/O error from now on: point it
    # at a directory (pread -> EISDIR), as a vanished sysfs attribute would error out.
    broken = os.open(tmp_path, os.O_RDONLY)
    os.dup2(broken, sensor._fd)
    os.close(broken)
    with pytest.raises(SensorReadError) as info:
        sensor.read()
    assert info.value.source == "rapl" and info.value.reason in REASONS
    assert isinstance(info.value.__cause__, OSError)


def test_close_is_idempotent_and_read_after_close_is_a_usage_error():
    sensor = open_rapl_sensors(FIXTURES / "amd_epyc", cpuinfo_path=BARE)[0]
    fd = sensor._fd
    sensor.close()
    sensor.close()
    with pytest.raises(OSError):
        os.fstat(fd)  # the descriptor was released
    with pytest.raises(UsageError):
        sensor.read()


def test_read_is_cheap(opened):
    import time

    sensor = opened(FIXTURES / "server_2s", cpuinfo_path=BARE)[0]
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        sensor.read()
    per_read_s = (time.perf_counter() - start) / n
    assert per_read_s < 200e-6  # target is < 20 us; loose bound against noisy machines


# --------------------------------------------------------------------------- unavailable


def test_missing_root_is_not_present(tmp_path):
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(tmp_path / "nope", cpuinfo_path=BARE)
    err = info.value
    assert err.source == "rapl" and err.reason == "not_present"
    assert "irtual machine" in err.fix


def test_missing_root_in_a_vm_is_virtualised(tmp_path):
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(tmp_path / "nope", cpuinfo_path=VM)
    assert info.value.reason == "virtualised"
    assert "irtual machine" in info.value.fix


def test_root_without_zones(tmp_path):
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(FIXTURES / "no_zones", cpuinfo_path=BARE)
    assert info.value.reason == "not_present"
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(FIXTURES / "no_zones", cpuinfo_path=VM)
    assert info.value.reason == "virtualised"
    with pytest.raises(SensorUnavailable) as info:  # unreadable cpuinfo: not a VM
        open_rapl_sensors(FIXTURES / "no_zones", cpuinfo_path=tmp_path / "missing")
    assert info.value.reason == "not_present"


def test_garbage_counter_is_invalid():
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(FIXTURES / "garbage", cpuinfo_path=BARE)
    assert info.value.reason == "invalid"
    assert isinstance(info.value.__cause__, ValueError)


def test_garbage_range_is_invalid(tmp_path):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    write(root / "intel-rapl:0" / "max_energy_range_uj", "-1")
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(root, cpuinfo_path=BARE)
    assert info.value.reason == "invalid"


def test_energy_uj_that_is_a_directory_is_invalid(tmp_path):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    (root / "intel-rapl:0" / "energy_uj").unlink()
    (root / "intel-rapl:0" / "energy_uj").mkdir()
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(root, cpuinfo_path=BARE)
    assert info.value.reason == "invalid"
    assert isinstance(info.value.__cause__, OSError)


def test_unknown_zones_only_is_not_supported(tmp_path):
    root = tmp_path / "powercap"
    shutil.copytree(FIXTURES / "amd_epyc", root)
    write(root / "intel-rapl:0" / "name", "mystery")
    with pytest.raises(SensorUnavailable) as info:
        open_rapl_sensors(root, cpuinfo_path=BARE)
    assert info.value.reason == "not_supported"


def kernel_like_tree(tree: str) -> Path:
    """A copy of a fixture where everything is world-readable except energy_uj (0400 root,
    as since Linux 5.10), in a directory an unprivileged user can traverse."""
    top = Path(tempfile.mkdtemp(prefix="wattprint-rapl-"))
    top.chmod(0o755)
    root = top / "powercap"
    shutil.copytree(FIXTURES / tree, root)
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        elif path.name == "energy_uj":
            path.chmod(0o400)
        else:
            path.chmod(0o444)
    return root


def check_permission_error(err: dict, root: Path) -> None:
    assert err["type"] == "SensorUnavailable", err
    assert err["source"] == "rapl" and err["reason"] == "permission"
    for zone in ("intel-rapl:0", "intel-rapl:0/intel-rapl:0:1", "intel-rapl:1",
                 "intel-rapl:1/intel-rapl:1:1"):
        assert str(root / zone / "energy_uj") in err["message"]
    assert f"sudo chmod o+r {root}/intel-rapl:*/energy_uj" in err["fix"]
    assert "udev" in err["fix"] and "root" in err["fix"]
    assert err["cause"] == "PermissionError"


def describe_error(root: Path) -> dict:
    try:
        sensors = open_rapl_sensors(root, cpuinfo_path=BARE)
    except SensorUnavailable as err:
        return {"type": type(err).__name__, "source": err.source, "reason": err.reason,
                "message": str(err.args[0]), "fix": err.fix,
                "cause": type(err.__cause__).__name__}
    for s in sensors:
        s.close()
    return {"type": "opened", "names": names(sensors)}


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0,
                    reason="needs root to drop to the nobody user")
def test_unreadable_energy_uj_as_unprivileged_user():
    """Root reads mode-0400 files anyway, so drop to 'nobody' in a forked child and see
    the real PermissionError the kernel gives unprivileged users."""
    root = kernel_like_tree("server_2s")
    try:
        assert describe_error(root)["type"] == "opened"  # root can read them
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            status = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                result = describe_error(root)
            except BaseException as exc:  # report anything back to the parent
                result = {"type": "child-crash", "error": repr(exc)}
            try:
                os.write(write_end, json.dumps(result).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as f:
            payload = f.read()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        check_permission_error(json.loads(payload), root)
    finally:
        shutil.rmtree(root.parent)


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file modes")
def test_unreadable_energy_uj_in_process():
    root = kernel_like_tree("server_2s")
    try:
        for path in root.rglob("energy_uj"):
            path.chmod(0)
        check_permission_error(describe_error(root), root)
    finally:
        shutil.rmtree(root.parent)


# --------------------------------------------------------------------------- arithmetic

ranges = st.integers(min_value=1, max_value=2**64)


def test_parse_uj():
    assert parse_uj(b"123456\n") == 123456
    assert parse_uj(" 7 ") == 7
    for bad in (b"", b"\n", b"-1", b"n/a", b"1.5", "²"):
        with pytest.raises(ValueError):
            parse_uj(bad)


def test_counter_delta_examples():
    assert counter_delta_uj(10, 25, 100) == 15
    assert counter_delta_uj(90, 5, 100) == 15
    assert counter_delta_uj(90, 5, 0) == 0
    assert counter_delta_uj(90, 5, -1) == 0
    assert counter_delta_uj(500, 5, 100) == 0  # impossible for one wrap: a reset


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=2**64),
       st.integers(min_value=-5, max_value=2**64))
def test_counter_delta_never_negative(prev, cur, max_range):
    assert counter_delta_uj(prev, cur, max_range) >= 0


@given(st.data())
def test_counter_delta_recovers_any_increment_below_the_range(data):
    max_range = data.draw(ranges)
    prev = data.draw(st.integers(min_value=0, max_value=max_range - 1))
    increment = data.draw(st.integers(min_value=0, max_value=max_range - 1))
    cur = (prev + increment) % max_range
    assert counter_delta_uj(prev, cur, max_range) == increment


@given(st.data())
def test_cumulative_sum_over_a_random_walk(data):
    max_range = data.draw(st.integers(min_value=1, max_value=2**40))
    counter = data.draw(st.integers(min_value=0, max_value=max_range - 1))
    increments = data.draw(st.lists(st.integers(min_value=0, max_value=max_range - 1),
                                    max_size=200))
    total = 0
    for inc in increments:
        nxt = (counter + inc) % max_range
        total += counter_delta_uj(counter, nxt, max_range)
        counter = nxt
    assert total == sum(increments)


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=2**64),
       st.integers(min_value=-5, max_value=0))
def test_counter_decrease_without_valid_range_is_zero(prev, cur, max_range):
    expected = cur - prev if cur >= prev else 0
    assert counter_delta_uj(prev, cur, max_range) == expected
