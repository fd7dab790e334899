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
