"""Which per-vCPU watts apply to this CPU, and how they were found: normalised model names,
microarchitecture rules, the shipped coefficient and TDP tables, ``/proc/cpuinfo``, and
:func:`match_cpu` (the order of the methods is described in :mod:`._cpu_model`)."""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from math import hypot
from statistics import fmean, median, quantiles
from typing import Any, Mapping

from .. import data

__all__ = [
    "CPUCoefficients",
    "CPUInfo",
    "cpu_model_info",
    "match_cpu",
    "microarchitecture_of",
    "normalise_cpu_name",
    "read_cpuinfo",
    "ARCH_RULES",
    "MATCH_METHODS",
    "METHODS",
]

MATCH_METHODS = ("microarchitecture", "tdp_exact", "tdp_fuzzy", "family_average", "default")

ARCH_FILE = "cpu_arch_coefficients.csv"
TDP_FILE = "cpu_tdp.csv"
UNCERTAINTY_FILE = "cpu_uncertainty.csv"

CCF_SOURCE = ("Cloud Carbon Footprint SPECpower-derived coefficients "
              "(cloud-carbon-coefficients, c. 2021, tables updated to 2024 architectures; "
              "mean of the aws/azure/gcp tables), Apache-2.0")
TDP_SOURCES = {
    "codecarbon": "CodeCarbon cpu_power.csv (codecarbon 3.3.2, 2025), MIT",
    "green-algorithms": "Green Algorithms TDP_cpu.csv (Lannelongue et al., 2021), CC-BY-4.0",
}
SPECPOWER_SOURCE = ("SPECpower_ssj2008 published results (spec.org), as compiled by Cloud "
                    "Carbon Footprint, retrieved 2026-03-09, Apache-2.0")

METHODS = {
    "process": ("CPU seconds of the tracked process tree (exited children included) × max "
                "W per vCPU: a busy vCPU-second costs the per-vCPU max draw; the idle "
                "baseline of vCPUs the process does not use is not attributed to it. "
                "Assumes the vCPU's draw at full load is spread over the seconds it is busy "
                "and ignores frequency scaling and SMT sharing."),
    "machine": ("n_vcpu × min W × Δt + (max − min) W × Δ(busy CPU seconds of the machine): "
                "Cloud Carbon Footprint's min + utilisation × (max − min) per vCPU. Assumes "
                "power linear in utilisation between SPECpower's active idle and 100 % load."),
}


# --- names ---------------------------------------------------------------------------------

_MARKS = re.compile(r"\((?:r|tm|c)\)|[®™]")
_FREQ = re.compile(r"@?\s*\d+(?:\.\d+)?\s*[gm]hz\b")
_WORDS = re.compile(r"\b(?:cpu|processor|intel|amd|\d+-core|(?:dual|quad|six|eight|"
                    r"twelve|sixteen)-core)\b")
_SPACES = re.compile(r"\s+")


def normalise_cpu_name(name: str) -> str:
    """Lowercase ``name`` and drop marks, frequency, vendor and filler words.

    ``"Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"`` → ``"xeon platinum 8259cl"``;
    ``"AMD EPYC 7R13 48-Core Processor"`` → ``"epyc 7r13"``. The vendor is dropped because
    the Green Algorithms list omits it; the model number keeps names apart.
    """
    text = _MARKS.sub(" ", name.lower())
    text = _FREQ.sub(" ", text)
    text = text.replace(",", " ")
    text = _WORDS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# --- microarchitecture rules ----------------------------------------------------------------

_XEON_SCALABLE = {"1": "Skylake", "2": "Cascade Lake", "3": "Ice Lake",
                  "4": "Sapphire Rapids", "5": "Emerald Rapids"}
_XEON_V = {"2": "Ivy Bridge", "3": "Haswell", "4": "Broadwell", "5": "Skylake"}
_CORE_GEN = {"2": "Sandy Bridge", "3": "Ivy Bridge", "4": "Haswell", "5": "Broadwell",
             "6": "Skylake", "8": "Coffee Lake", "9": "Coffee Lake"}
_EPYC_GEN = {"1": "EPYC 1st Gen", "2": "EPYC 2nd Gen", "3": "EPYC 3rd Gen",
             "4": "EPYC 4th Gen", "5": "EPYC 5th Gen"}
_EPYC_CODENAME = {"naples": "1", "rome": "2", "milan": "3", "genoa": "4", "bergamo": "4",
                  "turin": "5"}
_CODENAMES = {"sandy": "Sandy Bridge", "ivy": "Ivy Bridge", "haswell": "Haswell",
              "broadwell": "Broadwell", "skylake": "Skylake", "cascade": "Cascade Lake",
              "ice": "Ice Lake", "coffee": "Coffee Lake", "sapphire": "Sapphire Rapids",
              "emerald": "Emerald Rapids", "granite": "Granite Rapids"}
_NEOVERSE = {"n1": "Graviton2", "v1": "Graviton3", "v2": "Graviton4"}


def _scalable(m: re.Match[str]) -> str | None:
    if m["gen"] == "3" and m["suffix"] in ("h", "hl"):
        return None  # 83xxH/HL are Cooper Lake, not in the coefficient tables
    return _XEON_SCALABLE.get(m["gen"])


def _core(m: re.Match[str]) -> str | None:
    if m["gen"] in "89" and m["suffix"][:1] in ("u", "y", "g"):
        return None  # 8th/9th-gen U/Y/G parts are Kaby Lake R / Whiskey / Amber Lake
    return _CORE_GEN.get(m["gen"])


#: (pattern on the normalised name, architecture or function of the match), first hit wins.
#: Only architectures present in the CCF tables are produced; anything else returns None
#: and falls through to the TDP tables.
ARCH_RULES: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(p), arch) for p, arch in (
        # ARM Neoverse cores: Graviton2 = N1, Graviton3/3E = V1, Graviton4 = V2
        (r"graviton ?(?P<n>[234]e?)\b", lambda m: "Graviton" + m["n"].upper()),
        (r"neoverse[- ]?(?P<core>n1|v1|v2)\b", lambda m: _NEOVERSE[m["core"]]),
        # AMD EPYC: the last digit of the model number is the generation (7551, 7B12,
        # 7R13, 9654, 9755; 4004/8004 series too); QEMU names carry the codename.
        (r"epyc[- ](?P<c>naples|rome|milan|genoa|bergamo|turin)\b",
         lambda m: _EPYC_GEN[_EPYC_CODENAME[m["c"]]]),
        (r"epyc (?P<fam>[3-9])[0-9a-z]{2}(?P<gen>[1-5])(?:[a-z+]*)\b",
         lambda m: _EPYC_GEN[m["gen"]]),
        # Xeon Scalable: the second digit is the generation (8259CL, 8375C, 8488C, 8592+)
        (r"xeon (?:platinum |gold |silver |bronze )(?P<tier>\d)(?P<gen>[1-5])\d\d"
         r"(?P<suffix>[a-z]*)", _scalable),
        (r"xeon (?P<tier>8)(?P<gen>[1-5])\d\d(?P<suffix>[a-z]*)\+?(?:\s|$)", _scalable),
        # Xeon 6 P-core (6500P..6900P) = Granite Rapids
        (r"xeon 6[5-9]\d\dp\b", "Granite Rapids"),
        # Xeon E3/E5/E7 v2..v5; E3/E5 without a version are Sandy Bridge
        (r"xeon e[357]-\d{4}[a-z]*\s?v(?P<v>[2-5])\b", lambda m: _XEON_V.get(m["v"])),
        (r"xeon e[35]-\d{4}[a-z]*(?:\s|$)", "Sandy Bridge"),
        (r"xeon e-2[12]\d\d", "Coffee Lake"),
        (r"xeon w-[23](?P<gen>[123])\d\d", lambda m: _XEON_SCALABLE.get(m["gen"])),
        (r"xeon[ -]d-?\s?15\d\d", "Broadwell"),
        (r"xeon[ -]d-?\s?21\d\d", "Skylake"),
        (r"xeon[ -]d-?\s?[12]7\d\d", "Ice Lake"),
        # Core i3/5/7/9 with a 4-digit model: first digit = generation
        (r"core i[3579]-(?P<gen>[2-9])\d{3}(?P<suffix>[a-z]*)\b", _core),
        # codenames spelled out (QEMU CPU models: "Intel Xeon Processor (Cascadelake)")
        (r"\b(?P<c>sandy|ivy) ?bridge", lambda m: _CODENAMES[m["c"]]),
        (r"\b(?P<c>haswell|broadwell|skylake)", lambda m: _CODENAMES[m["c"]]),
        (r"\b(?P<c>cascade|ice|coffee) ?lake", lambda m: _CODENAMES[m["c"]]),
        (r"\b(?P<c>sapphire|emerald|granite) ?rapids", lambda m: _CODENAMES[m["c"]]),
    ))

#: Names that say only the family (the bare "AMD EPYC" of many VMs, GCP's "Intel(R) Xeon(R)
#: CPU @ 2.20GHz"): (pattern, label, predicate choosing the family's architectures).
_FAMILIES = (
    (re.compile(r"^epyc(?:-v\d)?(?: \(with ibpb\))?$"), "AMD EPYC",
     lambda arch: arch.startswith("EPYC ")),
    (re.compile(r"^xeon(?: \(with ibpb\))?$"), "Intel Xeon",
     lambda arch: arch in _CODENAMES.values()),
)


def microarchitecture_of(name: str) -> str | None:
    """The CCF microarchitecture of a CPU model name, or ``None`` if no rule matches."""
    norm = normalise_cpu_name(name)
    for pattern, arch in ARCH_RULES:
        m = pattern.search(norm)
        if m:
            result = arch(m) if callable(arch) else arch
            if result is not None:
                return result
    return None


# --- data ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _arch_table() -> dict[str, dict[str, Any]]:
    return {r["architecture"]: {"min": float(r["min_w_per_vcpu"]),
                                "max": float(r["max_w_per_vcpu"]),
                                "uncertainty": float(r["uncertainty"]),
                                "rederived": r["source"].startswith("specpower-rederived")}
            for r in data.read_csv(ARCH_FILE)}


def _arch_source(arches: list[str]) -> str:
    """Dataset text for coefficients from ``arches`` (CCF, or SPECpower where re-derived)."""
    table = _arch_table()
    redone = [a for a in arches if table[a]["rederived"]]
    if not redone:
        return CCF_SOURCE
    text = (f"{', '.join(redone)} re-derived from {SPECPOWER_SOURCE} (CCF row disagrees "
            "with those results by more than 2x)")
    return text if len(redone) == len(arches) else f"{CCF_SOURCE}; {text}"


@functools.lru_cache(maxsize=1)
def _tdp_table() -> tuple[dict[str, dict[str, str]], tuple[tuple[str, frozenset[str]], ...]]:
    rows = {r["name"]: r for r in data.read_csv(TDP_FILE)}
    tokens = tuple((n, frozenset(n.split())) for n in rows)
    return rows, tokens


def _average(arches: list[str]) -> dict[str, float]:
    """Mean coefficients of several architectures (a family, or all for the default).

    Uncertainty: the between-architecture spread of max W/vCPU (half the 10–90 % range
    over the median) and the members' mean within-architecture band, in quadrature.
    """
    table = _arch_table()
    maxs = [table[a]["max"] for a in arches]
    deciles = quantiles(maxs, n=10, method="inclusive")
    between = (deciles[-1] - deciles[0]) / 2 / median(maxs)
    within = fmean(table[a]["uncertainty"] for a in arches)
    return {"min": fmean(table[a]["min"] for a in arches), "max": fmean(maxs),
            "uncertainty": round(hypot(between, within), 2)}


def _min_max_ratio() -> float:
    """Mean idle/max ratio over the CCF architectures (used to derive min from a TDP)."""
    return fmean(v["min"] / v["max"] for v in _arch_table().values())


@functools.lru_cache(maxsize=1)
def _tdp_uncertainty() -> dict[str, float]:
    row = next(r for r in data.read_csv(UNCERTAINTY_FILE) if r["method"] == "tdp")
    return {"uncertainty": float(row["uncertainty"]), "ratio": float(row["ratio_median"])}


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _tdp_lookup(norm: str) -> tuple[str, str] | None:
    """(table name, "tdp_exact" | "tdp_fuzzy") for a normalised CPU name, or None.

    Fuzzy: a table name whose words are all in the query and include one of its model
    numbers (``"ryzen 7 5800h"`` for ``"ryzen 7 5800h with radeon graphics"``), the one
    with most words; else a table name containing all query words and the same model
    numbers, the shortest. Ties go to the alphabetically first name.
    """
    rows, tokens = _tdp_table()
    if norm in rows:
        return norm, "tdp_exact"
    query = frozenset(norm.split())
    numbers = {t for t in query if _has_digit(t)}
    if not numbers:
        return None
    subset = [(n, t) for n, t in tokens if t <= query and t & numbers]
    if subset:
        best = min(subset, key=lambda nt: (-len(nt[1]), -len(nt[0]), nt[0]))
        return best[0], "tdp_fuzzy"
    superset = [(n, t) for n, t in tokens
                if query <= t and {x for x in t if _has_digit(x)} == numbers]
    if superset:
        best = min(superset, key=lambda nt: (len(nt[1]), len(nt[0]), nt[0]))
        return best[0], "tdp_fuzzy"
    return None


# --- /proc/cpuinfo ---------------------------------------------------------------------------

_ARM_PARTS = {("0x41", "0xd0c"): "ARM Neoverse-N1", ("0x41", "0xd40"): "ARM Neoverse-V1",
              ("0x41", "0xd4f"): "ARM Neoverse-V2"}


@dataclass(frozen=True, slots=True)
class CPUInfo:
    """What :func:`read_cpuinfo` found: model name and package topology as shown."""

    model_name: str = ""
    siblings: int | None = None  # logical CPUs per package, as the (virtual) machine shows
    cores: int | None = None  # cores per package, as shown
    virtualised: bool = False  # the "hypervisor" CPU flag is set


def read_cpuinfo(path: str = "/proc/cpuinfo") -> CPUInfo:
    """Parse the first processor block of ``path``; a missing file gives an empty CPUInfo.

    ARM kernels print no model name; known Neoverse parts get one (``"ARM Neoverse-N1"``)
    from ``CPU implementer``/``CPU part``.
    """
    fields: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key and key not in fields:
                    fields[key] = value.strip()
    except OSError:
        return CPUInfo()
    name = fields.get("model name", "")
    if not name:  # ARM: no model name, but implementer and part
        part = (fields.get("cpu implementer", ""), fields.get("cpu part", ""))
        name = _ARM_PARTS.get(part, "")

    def as_int(key: str) -> int | None:
        try:
            return int(fields[key])
        except (KeyError, ValueError):
            return None

    return CPUInfo(model_name=name, siblings=as_int("siblings"), cores=as_int("cpu cores"),
                   virtualised="hypervisor" in fields.get("flags", "").split())


# --- matching --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CPUCoefficients:
    """The per-vCPU watts chosen for a CPU and how they were found.

    ``uncertainty`` is a relative band (0.4 = ±40 %) on both coefficients.
    ``source_min``/``source_max`` name the dataset of each (``"user"`` for an override).
    """

    cpu_name: str
    normalised_name: str
    match_method: str
    matched_name: str
    min_w_per_vcpu: float
    max_w_per_vcpu: float
    source_min: str
    source_max: str
    uncertainty: float
    architecture: str | None = None
    tdp_w: float | None = None
    threads_per_package: int | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arch_result(name: str, norm: str, method: str, label: str, arches: list[str],
                 arch: str | None, note: str = "") -> CPUCoefficients:
    c = _average(arches) if len(arches) > 1 else _arch_table()[arches[0]]
    source = _arch_source(arches)
    return CPUCoefficients(cpu_name=name, normalised_name=norm, match_method=method,
                           matched_name=label, min_w_per_vcpu=c["min"],
                           max_w_per_vcpu=c["max"], source_min=source,
                           source_max=source, uncertainty=c["uncertainty"],
                           architecture=arch, note=note)


def match_cpu(name: str, *, info: CPUInfo | None = None,
              threads_per_package: int | None = None) -> CPUCoefficients:
    """Per-vCPU coefficients for the CPU model ``name`` (see the module docstring).

    For the TDP path, ``threads_per_package`` (logical CPUs of one package) wins if given;
    otherwise ``info`` (from :func:`read_cpuinfo`) and the shipped topology supply it.
    """
    norm = normalise_cpu_name(name)
    table = _arch_table()
    arch = microarchitecture_of(name)
    if arch is not None and arch in table:
        return _arch_result(name, norm, "microarchitecture", arch, [arch], arch)
    for pattern, label, member in _FAMILIES:
        if pattern.search(norm):
            members = sorted(a for a in table if member(a))
            return _arch_result(name, norm, "family_average", f"{label} (family average)",
                                members, None, note="the CPU name gives no model number; "
                                f"mean of {', '.join(members)}")
    hit = _tdp_lookup(norm) if norm else None
    default_note = "no rule or TDP entry matches this CPU name"
    if hit is not None:
        row = _tdp_table()[0][hit[0]]
        tdp_w = float(row["tdp_w"])
        threads, how = ((threads_per_package, "given by the caller") if threads_per_package
                        else _threads_per_package(row, info))
        if threads:
            max_w = tdp_w / threads
            tdp_src = "; ".join(TDP_SOURCES[s] for s in row["source"].split("+"))
            unc = _tdp_uncertainty()
            return CPUCoefficients(
                cpu_name=name, normalised_name=norm, match_method=hit[1],
                matched_name=hit[0], min_w_per_vcpu=max_w * _min_max_ratio(),
                max_w_per_vcpu=max_w, source_min=f"{tdp_src} × mean CCF idle/max ratio",
                source_max=tdp_src, uncertainty=unc["uncertainty"], tdp_w=tdp_w,
                threads_per_package=threads,
                note=f"max = TDP / {threads} logical CPUs per package ({how}); TDP covers "
                     f"the package only, SPECpower's whole-server W per thread is typically "
                     f"{unc['ratio']:g}× this")
        default_note = (f"TDP of {hit[0]!r} is {tdp_w:g} W but the logical CPUs per package "
                        "are unknown (virtualised, or no topology given), so the TDP cannot be "
                        "shared out")
    return _arch_result(name, norm, "default", "all CCF architectures (default)",
                        sorted(table), None, note=default_note)


def _threads_per_package(row: Mapping[str, str], info: CPUInfo | None) -> tuple[int, str]:
    if info is not None and not info.virtualised and info.siblings:
        return info.siblings, "/proc/cpuinfo siblings, bare metal"
    if row.get("threads"):
        return int(row["threads"]), "SPECpower topology of this CPU"
    if row.get("cores"):
        per_core = 1
        if info is not None and info.siblings and info.cores:
            per_core = max(info.siblings // info.cores, 1)
        return int(row["cores"]) * per_core, (f"{row['cores']} cores × {per_core} threads "
                                              "per core shown by /proc/cpuinfo")
    return 0, ""


def cpu_model_info(cpuinfo_path: str = "/proc/cpuinfo") -> CPUCoefficients:
    """The coefficients the CPU model would use on this machine (for ``wattprint doctor``)."""
    info = read_cpuinfo(cpuinfo_path)
    return match_cpu(info.model_name, info=info)
