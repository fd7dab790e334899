"""The sensorless CPU model: name rules, coefficient lookup, energy of real workloads."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from statistics import fmean

import pytest

from wattprint import data
from wattprint._proctree import ProcessTree, logical_cpu_count
from wattprint.errors import UsageError
from wattprint.sensors._cpu_model import (
    ARCH_RULES,
    MATCH_METHODS,
    CPUModelSensor,
    cpu_model_info,
    match_cpu,
    microarchitecture_of,
    normalise_cpu_name,
    read_cpuinfo,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cpuinfo"


def arch_rows() -> dict[str, dict[str, str]]:
    return {r["architecture"]: r for r in data.read_csv("cpu_arch_coefficients.csv")}


def mean_of(arches, column: str) -> float:
    rows = arch_rows()
    return fmean(float(rows[a][column]) for a in arches)


# --- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, normalised", [
    ("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "xeon platinum 8259cl"),
    ("AMD EPYC 7R13 Processor", "epyc 7r13"),
    ("AMD EPYC 9965 192-Core Processor", "epyc 9965"),
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "core i7-8700"),
    ("Quad-Core AMD Opteron(r) Processor 8376 HE", "opteron 8376 he"),
    ("  Intel   Xeon  E5-2686 v4 ", "xeon e5-2686 v4"),
    ("AMD EPYC", "epyc"),
])
def test_normalise_cpu_name(raw, normalised):
    assert normalise_cpu_name(raw) == normalised


@pytest.mark.parametrize("name, arch", [
    ("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "Cascade Lake"),
    ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "Ice Lake"),
    ("Intel(R) Xeon(R) Platinum 8488C", "Sapphire Rapids"),
    ("Intel(R) Xeon(R) Platinum 8592+", "Emerald Rapids"),
    ("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "Skylake"),
    ("Intel Xeon Gold 5318Y", "Ice Lake"),
    ("Intel Xeon 6980P", "Granite Rapids"),
    ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Broadwell"),
    ("Intel(R) Xeon(R) CPU E5-2666 v3 @ 2.90GHz", "Haswell"),
    ("Intel(R) Xeon(R) CPU E5-2680 v2 @ 2.80GHz", "Ivy Bridge"),
    ("Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "Sandy Bridge"),
    ("Intel Xeon E3-1280v2", "Ivy Bridge"),
    ("Intel(R) Xeon(R) E-2176G CPU @ 3.70GHz", "Coffee Lake"),
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "Coffee Lake"),
    ("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", "Coffee Lake"),
    ("Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz", "Skylake"),
    ("Intel(R) Core(TM) i7-4790 CPU @ 3.60GHz", "Haswell"),
    ("Intel(R) Core(TM) i5-2500K CPU @ 3.30GHz", "Sandy Bridge"),
    ("AMD EPYC 7571", "EPYC 1st Gen"),
    ("AMD EPYC 7B12", "EPYC 2nd Gen"),
    ("AMD EPYC 7H12 64-Core Processor", "EPYC 2nd Gen"),
    ("AMD EPYC 7R13 Processor", "EPYC 3rd Gen"),
    ("AMD EPYC 7V73X", "EPYC 3rd Gen"),
    ("AMD EPYC 9R14", "EPYC 4th Gen"),
    ("AMD EPYC 8534P", "EPYC 4th Gen"),
    ("AMD EPYC 9755 128-Core Processor", "EPYC 5th Gen"),
    ("AMD EPYC-Rome Processor", "EPYC 2nd Gen"),
    ("AMD EPYC-Milan Processor", "EPYC 3rd Gen"),
    ("Intel Xeon Processor (Cascadelake)", "Cascade Lake"),
    ("Intel Core Processor (Broadwell, IBRS)", "Broadwell"),
    ("Intel Xeon Processor (Icelake)", "Ice Lake"),
    ("ARM Neoverse-N1", "Graviton2"),
    ("ARM Neoverse-V1", "Graviton3"),
    ("Neoverse-V2", "Graviton4"),
    # no rule: not in the coefficient tables, or no model number
    ("AMD EPYC", None),
    ("Intel(R) Xeon(R) Platinum 8380HL CPU", None),  # Cooper Lake
    ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", None),  # Kaby Lake R
    ("Intel(R) Core(TM) i7-7700K CPU @ 4.20GHz", None),  # Kaby Lake
    ("AMD Ryzen 7 5800H with Radeon Graphics", None),
    ("Apple M2", None),
    ("ARM Cortex-A72", None),
    ("", None),
])
def test_microarchitecture_rules(name, arch):
    assert microarchitecture_of(name) == arch
    if arch is not None:
        assert arch in arch_rows(), "rules may only produce architectures the tables have"


def test_rule_table_only_names_shipped_architectures():
    shipped = set(arch_rows())
    for _pattern, arch in ARCH_RULES:
        if isinstance(arch, str):
            assert arch in shipped
    # the lookup tables behind the callable rules
    from wattprint.sensors import _cpu_match as m

    for table in (m._XEON_SCALABLE, m._XEON_V, m._CORE_GEN, m._EPYC_GEN, m._CODENAMES,
                  m._NEOVERSE):
        assert set(table.values()) <= shipped


# --- lookup from /proc/cpuinfo fixtures -------------------------------------------------------

def test_read_cpuinfo_x86_and_arm():
    info = read_cpuinfo(str(FIXTURES / "desktop_core_i7_8700.txt"))
    assert info.model_name == "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"
    assert (info.siblings, info.cores, info.virtualised) == (12, 6, False)
    assert read_cpuinfo(str(FIXTURES / "aws_c5_xeon_8259cl.txt")).virtualised
    assert read_cpuinfo(str(FIXTURES / "aws_graviton2_neoverse_n1.txt")).model_name == \
        "ARM Neoverse-N1"
    assert read_cpuinfo(str(FIXTURES / "does-not-exist.txt")).model_name == ""


@pytest.mark.parametrize("fixture, method, matched", [
    ("aws_c5_xeon_8259cl", "microarchitecture", "Cascade Lake"),
    ("aws_m6i_xeon_8375c", "microarchitecture", "Ice Lake"),
    ("aws_m6a_epyc_7r13", "microarchitecture", "EPYC 3rd Gen"),
    ("gcp_n2d_epyc_7b12", "microarchitecture", "EPYC 2nd Gen"),
    ("qemu_cascadelake", "microarchitecture", "Cascade Lake"),
    ("desktop_core_i7_8700", "microarchitecture", "Coffee Lake"),
    ("aws_graviton2_neoverse_n1", "microarchitecture", "Graviton2"),
    ("vm_amd_epyc_bare", "family_average", "AMD EPYC (family average)"),
    ("laptop_core_i5_10210u", "tdp_exact", "core i5-10210u"),
    ("vm_xeon_e2388g", "tdp_exact", "xeon e-2388g"),
    ("vm_core_i7_10700k", "tdp_exact", "core i7-10700k"),
    ("laptop_ryzen_5800h", "tdp_fuzzy", "ryzen 7 5800h"),
    ("vm_ryzen_5800h", "default", "all CCF architectures (default)"),
    ("arm_cortex_a72", "default", "all CCF architectures (default)"),
])
def test_cpu_model_info_fixtures(fixture, method, matched):
    info = cpu_model_info(str(FIXTURES / f"{fixture}.txt"))
    assert info.match_method == method
    assert info.match_method in MATCH_METHODS
    assert info.matched_name == matched
    assert 0 < info.min_w_per_vcpu < info.max_w_per_vcpu
    assert 0 < info.uncertainty < 1.5
    if method == "microarchitecture":
        row = arch_rows()[matched]
        assert info.architecture == matched
        assert info.max_w_per_vcpu == pytest.approx(float(row["max_w_per_vcpu"]))
        assert info.min_w_per_vcpu == pytest.approx(float(row["min_w_per_vcpu"]))
        assert "Apache-2.0" in info.source_max


def test_bare_amd_epyc_is_the_epyc_family_average():
    info = cpu_model_info(str(FIXTURES / "vm_amd_epyc_bare.txt"))
    epyc = [a for a in arch_rows() if a.startswith("EPYC ")]
    assert len(epyc) == 5
    assert info.max_w_per_vcpu == pytest.approx(mean_of(epyc, "max_w_per_vcpu"))
    assert info.min_w_per_vcpu == pytest.approx(mean_of(epyc, "min_w_per_vcpu"))
    assert info.architecture is None
    assert "family" in info.matched_name and "EPYC 5th Gen" in info.note


def test_bare_intel_xeon_is_the_xeon_family_average():
    info = match_cpu("Intel(R) Xeon(R) CPU @ 2.20GHz")  # what GCP VMs show
    assert (info.match_method, info.matched_name) == ("family_average",
                                                      "Intel Xeon (family average)")
    intel = [a for a in arch_rows() if not a.startswith(("EPYC", "Graviton"))]
    assert info.max_w_per_vcpu == pytest.approx(mean_of(intel, "max_w_per_vcpu"))


def test_default_is_the_mean_of_all_architectures():
    info = match_cpu("Some Unknown Chip 9000")
    assert info.match_method == "default"
    assert info.max_w_per_vcpu == pytest.approx(mean_of(arch_rows(), "max_w_per_vcpu"))
    assert info.min_w_per_vcpu == pytest.approx(mean_of(arch_rows(), "min_w_per_vcpu"))
    assert "no rule or TDP entry" in info.note


def test_tdp_path_shares_tdp_over_logical_cpus_and_derives_min_from_ccf_ratio():
    ratio = fmean(float(r["min_w_per_vcpu"]) / float(r["max_w_per_vcpu"])
                  for r in arch_rows().values())
    assert 0.1 < ratio < 0.5
    # bare metal: siblings (16) are the logical CPUs of the package
    laptop = cpu_model_info(str(FIXTURES / "laptop_ryzen_5800h.txt"))
    assert laptop.tdp_w == 45 and laptop.threads_per_package == 16
    assert laptop.max_w_per_vcpu == pytest.approx(45 / 16)
    assert laptop.min_w_per_vcpu == pytest.approx(45 / 16 * ratio)
    assert "MIT" in laptop.source_max
    # VM: SPECpower topology (Xeon E-2388G: 8 cores × 2 threads)
    e2388g = cpu_model_info(str(FIXTURES / "vm_xeon_e2388g.txt"))
    assert e2388g.threads_per_package == 16
    assert e2388g.max_w_per_vcpu == pytest.approx(95 / 16)
    # VM: Green Algorithms core count × threads per core shown (siblings 2 / cores 1)
    comet = cpu_model_info(str(FIXTURES / "vm_core_i7_10700k.txt"))
    assert comet.threads_per_package == 16
    assert comet.max_w_per_vcpu == pytest.approx(125 / 16)
    # VM without any topology: the TDP cannot be shared out, so the default, with a reason
    vm = cpu_model_info(str(FIXTURES / "vm_ryzen_5800h.txt"))
    assert vm.match_method == "default" and "45 W" in vm.note
    # the caller may state the topology
    given = match_cpu("AMD Ryzen 7 5800H with Radeon Graphics", threads_per_package=8)
    assert given.max_w_per_vcpu == pytest.approx(45 / 8)


def test_fuzzy_match():
    # table name inside the query: the one with most words wins
    hit = match_cpu("Intel Core i7-10700K Special Edition", threads_per_package=16)
    assert (hit.match_method, hit.matched_name, hit.tdp_w) == ("tdp_fuzzy", "core i7-10700k", 125)
    # query inside a table name with the same model number
    hit = match_cpu("i7-10700K", threads_per_package=16)
    assert (hit.match_method, hit.matched_name) == ("tdp_fuzzy", "core i7-10700k")
    # CodeCarbon wins over Green Algorithms where they disagree (3900X: 105 W, not 125 W)
    hit = match_cpu("AMD Ryzen 9 3900X 12-Core Processor", threads_per_package=24)
    assert (hit.match_method, hit.matched_name, hit.tdp_w) == ("tdp_exact", "ryzen 9 3900x", 105)
    # words without a model number never match a TDP row
    assert match_cpu("Mystery Server Chip").match_method == "default"


def test_missing_cpuinfo_gives_the_default():
    info = cpu_model_info(str(FIXTURES / "does-not-exist.txt"))
    assert info.match_method == "default" and info.cpu_name == ""


# --- the sensor --------------------------------------------------------------------------------

BURN = """
import time
t0 = time.process_time()
x = 0
while time.process_time() - t0 < {seconds}:
    for i in range(10000):
        x += i * i
print(time.process_time() - t0)
"""


def test_sensor_attributes_and_provenance():
    s = CPUModelSensor(ProcessTree(), cpuinfo_path=str(FIXTURES / "aws_c5_xeon_8259cl.txt"))
    assert (s.name, s.domain, s.kind, s.scope, s.interval_s) == \
        ("cpu-model", "cpu", "modelled", "process", 1.0)
    p = s.provenance()
    assert p["kind"] == "modelled" and p["mode"] == "process"
    assert "max W per vCPU" in p["method"]
    assert p["matched_name"] == "Cascade Lake" and p["match_method"] == "microarchitecture"
    assert p["n_vcpu"] == logical_cpu_count()
    coeffs = p["coefficients"]
    assert coeffs["max_w_per_vcpu"]["value"] == pytest.approx(
        float(arch_rows()["Cascade Lake"]["max_w_per_vcpu"]))
    assert "Cloud Carbon Footprint" in coeffs["min_w_per_vcpu"]["source"]
    assert "Apache-2.0" in coeffs["max_w_per_vcpu"]["source"]
    assert p["uncertainty"] == pytest.approx(float(arch_rows()["Cascade Lake"]["uncertainty"]))
    assert "SPECpower" in p["uncertainty_basis"]
    m = CPUModelSensor(mode="machine", cpuinfo_path=str(FIXTURES / "aws_c5_xeon_8259cl.txt"))
    assert m.scope == "device" and "min + utilisation" in m.provenance()["method"]
    assert s.describe()["provenance"]["match_method"] == "microarchitecture"


def test_process_mode_energy_of_a_child_burning_cpu():
    tree = ProcessTree()  # this test process: the child's CPU time counts once reaped
    sensor = CPUModelSensor(tree, cpuinfo_path=str(FIXTURES / "aws_c5_xeon_8259cl.txt"))
    max_w = sensor.coefficients.max_w_per_vcpu
    e0 = sensor.read().energy_j
    out = subprocess.run([sys.executable, "-c", BURN.format(seconds=1.0)],
                         capture_output=True, text=True, check=True)
    child_cpu_s = float(out.stdout)
    e1 = sensor.read().energy_j
    assert child_cpu_s >= 1.0
    assert e1 - e0 == pytest.approx(child_cpu_s * max_w, rel=0.2)
    assert e1 >= e0 >= 0


def test_process_mode_energy_is_monotone_while_a_child_runs():
    sensor = CPUModelSensor(ProcessTree(), cpuinfo_path=str(FIXTURES / "vm_amd_epyc_bare.txt"))
    child = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=0.6)],
                             stdout=subprocess.DEVNULL)
    readings = []
    while child.poll() is None:
        readings.append(sensor.read().energy_j)
        time.sleep(0.05)
    readings.append(sensor.read().energy_j)
    assert readings == sorted(readings)
    assert readings[-1] > 0


def test_machine_mode_is_monotone_and_at_least_the_idle_baseline():
    sensor = CPUModelSensor(mode="machine",
                            cpuinfo_path=str(FIXTURES / "aws_m6a_epyc_7r13.txt"))
    c, n = sensor.coefficients, sensor.n_vcpu
    readings = [sensor.read()]
    for _ in range(5):
        time.sleep(0.05)
        readings.append(sensor.read())
    energies = [r.energy_j for r in readings]
    assert energies == sorted(energies)
    for a, b in zip(readings, readings[1:]):
        dt = b.time_s - a.time_s
        de = b.energy_j - a.energy_j
        assert de >= n * c.min_w_per_vcpu * dt - 1e-9
        assert de <= n * c.max_w_per_vcpu * dt + 1e-9


def test_overrides_win_and_are_reported_as_user():
    path = str(FIXTURES / "aws_c5_xeon_8259cl.txt")
    s = CPUModelSensor(ProcessTree(), cpuinfo_path=path, min_w_per_vcpu=1.0, max_w_per_vcpu=5.0)
    coeffs = s.provenance()["coefficients"]
    assert coeffs["min_w_per_vcpu"] == {"value": 1.0, "source": "user"}
    assert coeffs["max_w_per_vcpu"] == {"value": 5.0, "source": "user"}
    only_max = CPUModelSensor(ProcessTree(), cpuinfo_path=path, max_w_per_vcpu=6.0)
    coeffs = only_max.provenance()["coefficients"]
    assert coeffs["max_w_per_vcpu"]["source"] == "user"
    assert "Cloud Carbon Footprint" in coeffs["min_w_per_vcpu"]["source"]


@pytest.mark.parametrize("kwargs", [
    {"mode": "cluster"},
    {"max_w_per_vcpu": -1.0},
    {"min_w_per_vcpu": float("nan")},
    {"min_w_per_vcpu": 50.0, "max_w_per_vcpu": 5.0},
])
def test_bad_arguments_raise_usage_error(kwargs):
    with pytest.raises(UsageError):
        CPUModelSensor(ProcessTree(), cpuinfo_path=str(FIXTURES / "vm_amd_epyc_bare.txt"),
                       **kwargs)
