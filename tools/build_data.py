"""Build wattprint's compact package data (src/wattprint/data/*.csv) from the reference files.

Usage::

    python tools/build_data.py [SOURCE] [--out DIR] [--only cpu ...]

SOURCE is the reference-data folder (default: ``../shared/data`` relative to the repository
root); DIR defaults to ``src/wattprint/data``. Each dataset is one ``build_<name>(source,
out)`` function registered in :data:`DATASETS`; it reads only SOURCE, writes only DIR and
is deterministic (sorted rows, fixed float formatting, ``\\n`` line ends), so running it
again reproduces the shipped files byte for byte. Attribution of every output is kept by
hand in ``src/wattprint/data/NOTICE.md``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import statistics
import sys
from pathlib import Path
from typing import Callable, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT / ".." / "shared" / "data"
DEFAULT_OUT = REPO_ROOT / "src" / "wattprint" / "data"

# The microarchitecture rules and name normalisation live in the package, so the data and
# the runtime matcher cannot disagree.
sys.path.insert(0, str(REPO_ROOT / "src"))
from wattprint.sensors._cpu_model import (  # noqa: E402
    microarchitecture_of,
    normalise_cpu_name,
)

# Accounting data (grid intensity, zones, cloud regions, PUE/WUE/embodied/equivalents).
sys.path.insert(0, str(REPO_ROOT / "tools"))
from build_grid_data import build_cloud, build_factors, build_grid  # noqa: E402
# Estimator data (accelerator catalogue, published figures for validation).
from build_estimate_data import build_accelerators, build_published  # noqa: E402
from csv_out import write_csv as _write_csv  # noqa: E402

CCF_PROVIDERS = ("aws", "azure", "gcp")
#: A CCF row is replaced by the SPECpower re-derivation when either coefficient differs
#: from it by more than this factor (only EPYC 5th Gen does: 8.96 vs 1.46 W max).
CCF_MAX_DISAGREEMENT = 2.0
#: Architectures with fewer SPECpower results get the pooled uncertainty.
MIN_RESULTS_FOR_SPREAD = 8




def _rel_spread(values: Sequence[float]) -> float:
    """Half the 10–90 % range over the median: a robust relative ± band."""
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return (deciles[-1] - deciles[0]) / 2 / statistics.median(values)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# --- CPU -------------------------------------------------------------------------------------

def _ccf_coefficients(hardware: Path) -> dict[str, dict[str, list[float]]]:
    """architecture → {"min": [...], "max": [...], "providers": [...]} over provider tables."""
    out: dict[str, dict[str, list]] = {}
    for provider in CCF_PROVIDERS:
        with open(hardware / f"coefficients-{provider}-use.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                entry = out.setdefault(row["Architecture"].strip(),
                                       {"min": [], "max": [], "providers": []})
                entry["min"].append(float(row["Min Watts"]))
                entry["max"].append(float(row["Max Watts"]))
                entry["providers"].append(provider)
    return out


def _specpower(hardware: Path) -> list[dict[str, str]]:
    with open(hardware / "specpower_2026-03-09.csv", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if _float(r["Total Threads"])]


def _specpower_per_thread(results: list[dict[str, str]]) -> dict[str, list[tuple[float, float]]]:
    """architecture → [(idle W per thread, 100 % W per thread)] per SPECpower result."""
    out: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for r in results:
        arch = microarchitecture_of(r["CPU Description"])
        if arch is None:
            continue
        threads = float(r["Total Threads"])
        out[arch].append((float(r["avg. watts @ active idle"]) / threads,
                          float(r["avg. watts @ 100%"]) / threads))
    return out


def build_cpu_arch(source: Path, out: Path) -> Path:
    """cpu_arch_coefficients.csv: per-vCPU min/max W per microarchitecture.

    Columns: architecture, min_w_per_vcpu, max_w_per_vcpu (mean of the CCF provider tables
    listing it), source, specpower_results (how many SPECpower results the package's rule
    table assigns to it), uncertainty (relative: half the 10–90 % range of the results'
    W per thread at 100 % load over their median — server-to-server spread; the median of
    those over architectures with >= MIN_RESULTS_FOR_SPREAD results where fewer).
    """
    hardware = source / "hardware"
    ccf = _ccf_coefficients(hardware)
    spec = _specpower_per_thread(_specpower(hardware))
    spreads = {}
    for arch, values in spec.items():
        if len(values) >= MIN_RESULTS_FOR_SPREAD:
            spreads[arch] = _rel_spread([v[1] for v in values])
    pooled = statistics.median(spreads.values())
    rows = []
    for arch in sorted(ccf):
        entry = ccf[arch]
        lo, hi = statistics.fmean(entry["min"]), statistics.fmean(entry["max"])
        src = "ccf:" + "+".join(entry["providers"])
        values = spec.get(arch, [])
        if len(values) >= MIN_RESULTS_FOR_SPREAD:
            sp_lo = statistics.fmean(v[0] for v in values)
            sp_hi = statistics.fmean(v[1] for v in values)
            if max(lo / sp_lo, sp_lo / lo, hi / sp_hi, sp_hi / hi) > CCF_MAX_DISAGREEMENT:
                src = (f"specpower-rederived (CCF {src[4:]} gave {lo:.2f}/{hi:.2f} W, "
                       f"inconsistent with {len(values)} SPECpower results)")
                lo, hi = sp_lo, sp_hi
        rows.append((arch, lo, hi, src, len(values),
                     round(spreads.get(arch, pooled), 2)))
    return _write_csv(out / "cpu_arch_coefficients.csv",
                      ("architecture", "min_w_per_vcpu", "max_w_per_vcpu", "source",
                       "specpower_results", "uncertainty"), rows)


def _specpower_topology(results: list[dict[str, str]]) -> dict[str, int]:
    """normalised CPU name → logical CPUs per package (most common over its results)."""
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        cores, tpc = _float(r["# Cores Per Chip"]), _float(r["# Threads Per Core"])
        if cores and tpc:
            seen[normalise_cpu_name(r["CPU Description"])][int(cores * tpc)] += 1
    return {name: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for name, c in seen.items() if name}


def build_cpu_tdp(source: Path, out: Path) -> Path:
    """cpu_tdp.csv: normalised CPU name → TDP (W), cores and threads per package.

    TDP from CodeCarbon's list, completed by Green Algorithms' for names CodeCarbon lacks
    (CodeCarbon wins on conflict: in the six conflicts — Core i3-10300/10320, i5-10600K,
    i7-6700K, i9-10900KF, Ryzen 9 3900X — its value is the vendor's). Where several
    CodeCarbon names normalise alike with different TDPs the highest is kept; rows whose
    TDP is not a number are dropped. ``cores`` from Green Algorithms, ``threads`` (logical
    CPUs per package) from the SPECpower result topology of the same normalised name.
    """
    hardware = source / "hardware"
    tdp: dict[str, float] = {}
    srcs: dict[str, str] = {}
    with open(hardware / "codecarbon_cpu_power.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name, value = normalise_cpu_name(row["Name"]), _float(row["TDP"])
            if name and value and value > tdp.get(name, 0.0):
                tdp[name], srcs[name] = value, "codecarbon"
    cores: dict[str, int] = {}
    with open(hardware / "green_algorithms_tdp_cpu.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))[2:]  # two header lines: units, then names
    for row in rows:
        name, value, n_cores = normalise_cpu_name(row[0]), _float(row[1]), _float(row[2])
        if not name or not value:
            continue
        if name not in tdp:
            tdp[name], srcs[name] = value, "green-algorithms"
        if n_cores:
            cores[name] = int(n_cores)
    threads = _specpower_topology(_specpower(hardware))
    return _write_csv(out / "cpu_tdp.csv", ("name", "tdp_w", "cores", "threads", "source"),
                      ((n, tdp[n], cores.get(n), threads.get(n), srcs[n]) for n in sorted(tdp)))


def build_cpu_uncertainty(source: Path, out: Path, tdp_file: Path) -> Path:
    """cpu_uncertainty.csv: the relative band of the TDP path, from SPECpower.

    For every SPECpower result whose CPU is in ``tdp_file``: its W per thread at 100 % load
    over the TDP path's figure (TDP × chips / threads). The band is half the 10–90 % range
    of that ratio over its median; the median itself (≈ 1.2: SPECpower measures the whole
    server at the wall, TDP only the package) is shipped as ``ratio_median`` for reports.
    """
    with open(tdp_file, encoding="utf-8") as f:
        tdp = {r["name"]: float(r["tdp_w"]) for r in csv.DictReader(f)}
    ratios = []
    for r in _specpower(source / "hardware"):
        name = normalise_cpu_name(r["CPU Description"])
        chips, threads = _float(r["Chips"]), float(r["Total Threads"])
        if name in tdp and chips:
            ratios.append(float(r["avg. watts @ 100%"]) / threads / (tdp[name] * chips / threads))
    return _write_csv(out / "cpu_uncertainty.csv",
                      ("method", "uncertainty", "ratio_median", "specpower_results"),
                      [("tdp", round(_rel_spread(ratios), 2),
                        round(statistics.median(ratios), 2), len(ratios))])


def build_cpu(source: Path, out: Path) -> list[Path]:
    """Everything the sensorless CPU model ships."""
    tdp = build_cpu_tdp(source, out)
    return [build_cpu_arch(source, out), tdp, build_cpu_uncertainty(source, out, tdp)]


#: dataset name → builder(source folder, output folder) -> written files. Add grid, cloud,
#: hardware (accelerators), embodied and water datasets here as their modules arrive.
DATASETS: dict[str, Callable[[Path, Path], list[Path]]] = {
    "cpu": build_cpu,
    "grid": build_grid,
    "cloud": build_cloud,
    "factors": build_factors,
    "accelerators": build_accelerators,
    "published": build_published,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="reference data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=sorted(DATASETS), default=None,
                        help="build only these datasets")
    args = parser.parse_args(argv)
    if not (args.source / "hardware").is_dir():
        parser.error(f"{args.source} does not look like the reference data folder "
                     "(no hardware/ inside)")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or sorted(DATASETS):
        for path in DATASETS[name](args.source, args.out):
            print(f"{name}: wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
