"""Package data: reproducible from the reference files, attributed, small, loaded lazily."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from wattprint import data

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "src" / "wattprint" / "data"
SOURCE = REPO / ".." / "shared" / "data"
CPU_FILES = sorted(p.name for p in DATA_DIR.glob("cpu_*.csv"))

needs_source = pytest.mark.skipif(not (SOURCE / "hardware").is_dir(),
                                  reason=f"reference data not found at {SOURCE}")


def test_cpu_files_are_shipped():
    assert {"cpu_arch_coefficients.csv", "cpu_tdp.csv", "cpu_uncertainty.csv"} <= set(CPU_FILES)


@needs_source
def test_build_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "build_data.py"), str(SOURCE),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.name for p in tmp_path.glob("cpu_*.csv"))
    assert built == CPU_FILES
    for name in built:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_build_script_rejects_a_wrong_source(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "build_data.py"),
                             str(tmp_path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "reference data folder" in result.stderr


def test_every_shipped_cpu_file_has_a_notice_entry():
    notice = (DATA_DIR / "NOTICE.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", notice, flags=re.M)[1:]
    assert sections
    for section in sections:
        for field in ("- Source:", "- Year:", "- Licence:", "- Shipped in:"):
            assert field in section, f"NOTICE section {section.splitlines()[0]!r} lacks {field}"
    shipped_in = " ".join(s.split("- Shipped in:")[1] for s in sections)
    for name in CPU_FILES:
        assert f"`{name}`" in shipped_in, f"{name} has no NOTICE entry"


def test_shipped_cpu_data_is_small():
    assert sum((DATA_DIR / n).stat().st_size for n in CPU_FILES) < 300_000


def test_arch_coefficients_are_sane():
    rows = data.read_csv("cpu_arch_coefficients.csv")
    assert len(rows) >= 15
    for r in rows:
        lo, hi = float(r["min_w_per_vcpu"]), float(r["max_w_per_vcpu"])
        assert 0 < lo < hi < 15, r
        assert 0 < float(r["uncertainty"]) < 1, r
        assert r["source"].startswith(("ccf:", "specpower-rederived")), r


def test_loader_reads_lazily_and_caches():
    code = ("import wattprint.data as d, wattprint.sensors._cpu_model, "
            "wattprint.sensors._ram_model; "
            "print(d.open_text.cache_info().currsize, d.read_csv.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "0"]  # nothing read at import time
    assert data.read_csv("cpu_tdp.csv") is data.read_csv("cpu_tdp.csv")
    assert "Cloud Carbon Footprint" in data.notice()


@pytest.mark.parametrize("name", ["../pyproject.toml", "/etc/passwd", ".hidden"])
def test_loader_rejects_paths(name):
    with pytest.raises(ValueError):
        data.open_text(name)


def test_loader_names_the_fix_for_a_missing_file():
    with pytest.raises(FileNotFoundError, match="build_data.py"):
        data.open_text("no_such_file.csv")


# --- accounting data (grid, cloud, factors) ---------------------------------------------------

ACCOUNTING_FILES = sorted([
    "zones.csv", "electricitymaps_yearly.csv", "electricitymaps_hourly_2023.csv",
    "grid_annual.csv", "cloud_regions.csv", "gcp_region_carbon.csv",
    "accounting_factors.csv", "ccf_embodied_instances.csv",
])
#: Files whose rows all come from one dataset (no ``dataset`` column).
SINGLE_DATASET_FILES = {
    "electricitymaps_yearly.csv": "electricitymaps-yearly",
    "electricitymaps_hourly_2023.csv": "electricitymaps-hourly-2023",
    "gcp_region_carbon.csv": "gcp-region-carbon",
    "ccf_embodied_instances.csv": "ccf-embodied",
    "cloud_regions.csv": "cloud-regions",
}


def _notice_sections() -> dict[str, str]:
    notice = (DATA_DIR / "NOTICE.md").read_text(encoding="utf-8")
    return {s.splitlines()[0]: s for s in re.split(r"^## ", notice, flags=re.M)[1:]}


def _notice_keys() -> dict[str, str]:
    """dataset key → the NOTICE section that declares it."""
    out = {}
    for section in _notice_sections().values():
        m = re.search(r"^- Dataset key: (.*)$", section, flags=re.M)
        if m:
            for key in re.findall(r"`([^`]+)`", m.group(1)):
                out[key] = section
    return out


def test_accounting_files_are_shipped():
    assert set(ACCOUNTING_FILES) <= {p.name for p in DATA_DIR.iterdir()}


@needs_source
def test_accounting_build_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "build_data.py"), str(SOURCE),
                    "--out", str(tmp_path), "--only", "grid", "cloud", "factors"],
                   check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ACCOUNTING_FILES
    for name in ACCOUNTING_FILES:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_every_shipped_factor_traces_to_a_notice_entry_and_the_registry():
    from wattprint.accounting._tables import DATASETS

    keys = _notice_keys()
    used: dict[str, set[str]] = {}
    for name, key in SINGLE_DATASET_FILES.items():
        used.setdefault(key, set()).add(name)
    for name, column in (("grid_annual.csv", "dataset"), ("accounting_factors.csv", "dataset"),
                         ("cloud_regions.csv", "pue_dataset")):
        for row in data.read_csv(name):
            if row[column]:
                used.setdefault(row[column], set()).add(name)
    for key, files in used.items():
        assert key in keys, f"dataset {key!r} (in {sorted(files)}) has no NOTICE section"
        assert key in DATASETS, f"dataset {key!r} missing from accounting._tables.DATASETS"
        for name in files:
            assert f"`{name}`" in keys[key].split("- Shipped in:")[1], (key, name)
    assert set(keys) <= set(DATASETS), set(keys) - set(DATASETS)


def test_every_accounting_file_has_a_notice_entry():
    shipped_in = " ".join(s.split("- Shipped in:")[1] for s in _notice_sections().values())
    for name in ACCOUNTING_FILES:
        assert f"`{name}`" in shipped_in, f"{name} has no NOTICE entry"


def test_odbl_data_is_kept_in_its_own_attributed_files():
    # Electricity Maps (ODbL) values live only in the two electricitymaps_* files, each a
    # separate database with its own section naming the licence and the attribution.
    sections = _notice_keys()
    for key, name in (("electricitymaps-yearly", "electricitymaps_yearly.csv"),
                      ("electricitymaps-hourly-2023", "electricitymaps_hourly_2023.csv")):
        assert "ODbL" in sections[key] and '"Electricity Maps"' in sections[key]
        others = [s for k, s in sections.items() if not k.startswith("electricitymaps")]
        assert not any(f"`{name}`" in s for s in others)
    for name in ("grid_annual.csv", "accounting_factors.csv"):
        datasets = {r["dataset"] for r in data.read_csv(name)}
        assert not any(d.startswith("electricitymaps") for d in datasets), name


def test_shipped_data_is_small():
    total = sum(p.stat().st_size for p in DATA_DIR.iterdir() if p.is_file())
    assert total < 3_000_000, total


def test_accounting_loads_nothing_at_import():
    code = ("import wattprint.data as d, wattprint.accounting, wattprint.units; "
            "print(d.open_text.cache_info().currsize, d.read_csv.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "0"]
