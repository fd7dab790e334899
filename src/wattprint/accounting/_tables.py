"""The shipped accounting tables, parsed on first use and cached (nothing is read at import).

Every number the accounting path uses comes from a row that names its ``dataset``; the
dataset's title, licence and year are in :data:`DATASETS`, and its full attribution in the
package's ``data/NOTICE.md`` (a test checks the three agree).
"""

from __future__ import annotations

import functools
from array import array
from dataclasses import dataclass

from .. import data

__all__ = ["DatasetInfo", "DATASETS", "dataset", "annual_series", "hourly_zone",
           "HourlyZone", "factor", "factors", "cloud_regions", "gcp_region_series",
           "zone_rows", "ccf_instance_kgco2e", "HOURLY_YEAR"]

HOURLY_YEAR = 2023


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    title: str
    licence: str
    years: str
    scope: str = ""


#: dataset key → what it is. Keys appear in the shipped files' ``dataset`` columns.
DATASETS: dict[str, DatasetInfo] = {d.key: d for d in (
    DatasetInfo("electricitymaps-yearly", "Electricity Maps yearly zone averages",
                "ODbL-1.0 (Electricity Maps)", "2021-2025", "life-cycle"),
    DatasetInfo("electricitymaps-hourly-2023", "Electricity Maps hourly zone data",
                "ODbL-1.0 (Electricity Maps)", "2023", "life-cycle"),
    DatasetInfo("owid", "Our World in Data energy data (Ember)", "CC-BY-4.0", "2000-2024",
                "life-cycle"),
    DatasetInfo("egrid2023", "US EPA eGRID2023 state output emission rates",
                "public domain (US EPA); compiled by CodeCarbon, MIT", "2023",
                "direct CO2e (generation)"),
    DatasetInfo("cn-mee-2023", "China MEE/NBS provincial electricity CO2 factors",
                "official statistics; compiled by CodeCarbon, MIT", "2023",
                "direct CO2 (generation, net of transfers)"),
    DatasetInfo("gcp-region-carbon", "Google Cloud region carbon data", "Apache-2.0",
                "2019-2024", "grid (location-based)"),
    DatasetInfo("cloud-regions", "wattprint cloud region → grid zone table",
                "Apache-2.0 (wattprint)", "2025"),
    DatasetInfo("green-algorithms-pue", "Green Algorithms PUE values", "CC-BY-4.0",
                "2020-2024"),
    DatasetInfo("provider-published", "Provider-published fleet PUE (AWS, Azure, Google)",
                "facts (provider publications)", "2024-2025"),
    DatasetInfo("industry-wue", "Industry-average data-centre on-site water (LBNL 2016)",
                "public domain (US DOE / LBNL report)", "2016"),
    DatasetInfo("provider-wue-unverified", "Provider-published WUE, compiled (UNVERIFIED)",
                "facts (provider publications)", "2021-2025"),
    DatasetInfo("ecologits-provider", "EcoLogits provider PUE/WUE map", "MPL-2.0", "2024"),
    DatasetInfo("ecologits-mix", "EcoLogits electricity mixes: water of generation",
                "MPL-2.0", "2024"),
    DatasetInfo("ecologits-embodied", "EcoLogits embodied impacts of AI servers", "MPL-2.0",
                "2024"),
    DatasetInfo("ccf-embodied", "Cloud Carbon Footprint embodied coefficients per instance",
                "Apache-2.0", "2021-2024"),
    DatasetInfo("household-cn", "China household electricity (NEA / NBS census, derived)",
                "facts (official statistics)", "2021-2023"),
    DatasetInfo("household-us", "US EIA average residential electricity", "public domain",
                "2020"),
    DatasetInfo("household-eu", "Odyssee-Mure electricity per dwelling, EU27",
                "facts (Odyssee-Mure)", "2023"),
    DatasetInfo("epa-equivalencies", "US EPA Greenhouse Gas Equivalencies", "public domain",
                "2023-2024"),
    DatasetInfo("electricitymaps-zone-names", "Electricity Maps zone names (via co2.js)",
                "Apache-2.0 (co2.js)", "2024"),
)}


def dataset(key: str) -> DatasetInfo:
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(f"unknown dataset key {key!r}; known: {', '.join(DATASETS)}") from None


# --- annual intensity ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _annual_index() -> dict[str, list[tuple[str, dict[int, tuple[float, float | None]]]]]:
    """zone → [(dataset, {year: (g/kWh, renewable %)})] in priority order."""
    index: dict[str, dict[str, dict[int, tuple[float, float | None]]]] = {}
    for r in data.read_csv("electricitymaps_yearly.csv"):
        index.setdefault(r["zone"], {}).setdefault("electricitymaps-yearly", {})[
            int(r["year"])] = (float(r["intensity_g_per_kwh"]), float(r["renewable_pct"]))
    for r in data.read_csv("grid_annual.csv"):
        ren = float(r["renewable_pct"]) if r["renewable_pct"] else None
        index.setdefault(r["zone"], {}).setdefault(r["dataset"], {})[int(r["year"])] = (
            float(r["intensity_g_per_kwh"]), ren)
    order = ("electricitymaps-yearly", "owid", "egrid2023", "cn-mee-2023")
    return {zone: [(d, series[d]) for d in order if d in series]
            for zone, series in index.items()}


def annual_series(zone: str) -> list[tuple[str, dict[int, tuple[float, float | None]]]]:
    """The annual series the tables hold for ``zone``, best dataset first (may be empty)."""
    return _annual_index().get(zone, [])


@functools.lru_cache(maxsize=None)
def _carbon_free() -> dict[tuple[str, int], float]:
    return {(r["zone"], int(r["year"])): float(r["carbon_free_pct"])
            for r in data.read_csv("electricitymaps_yearly.csv")}


def carbon_free_pct(zone: str, year: int) -> float | None:
    return _carbon_free().get((zone, year))


@functools.lru_cache(maxsize=None)
def _gcp() -> dict[str, dict[int, tuple[float, float | None, str]]]:
    out: dict[str, dict[int, tuple[float, float | None, str]]] = {}
    for r in data.read_csv("gcp_region_carbon.csv"):
        cfe = float(r["google_cfe_pct"]) if r["google_cfe_pct"] else None
        out.setdefault(r["region"], {})[int(r["year"])] = (
            float(r["intensity_g_per_kwh"]), cfe, r["scope"])
    return out


def gcp_region_series(region: str) -> dict[int, tuple[float, float | None, str]]:
    """year → (g/kWh, Google CFE %, scope) for a Google Cloud region (empty if unknown)."""
    return _gcp().get(region, {})


# --- hourly ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HourlyZone:
    zone: str
    year: int
    timezone: str
    estimated_hours: int
    intensity_g_per_kwh: array  # 'H' array, hour 0 = 1 January 00:00 UTC

    @property
    def hours(self) -> int:
        return len(self.intensity_g_per_kwh)


@functools.lru_cache(maxsize=None)
def _hourly_rows() -> dict[str, dict[str, str]]:
    return {r["zone"]: r for r in data.read_csv("electricitymaps_hourly_2023.csv")}


def hourly_zones() -> tuple[str, ...]:
    return tuple(sorted(_hourly_rows()))


@functools.lru_cache(maxsize=None)
def hourly_zone(zone: str) -> HourlyZone | None:
    """The 2023 hourly series of ``zone``, or None where no hourly data is shipped."""
    row = _hourly_rows().get(zone)
    if row is None:
        return None
    values = array("H", map(int, row["intensity_g_per_kwh"].split()))
    return HourlyZone(zone, HOURLY_YEAR, row["timezone"], int(row["estimated_hours"]), values)


# --- zones and cloud regions -----------------------------------------------------------------

def zone_rows() -> tuple[dict[str, str], ...]:
    return data.read_csv("zones.csv")


@functools.lru_cache(maxsize=None)
def cloud_regions() -> dict[tuple[str, str], dict[str, str]]:
    """(provider, region) → row of cloud_regions.csv."""
    return {(r["provider"], r["region"]): r for r in data.read_csv("cloud_regions.csv")}


# --- factors ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor:
    dataset: str
    kind: str
    key: str
    value: float
    unit: str
    year: int
    confidence: str
    note: str


@functools.lru_cache(maxsize=None)
def factors() -> dict[tuple[str, str], Factor]:
    """(kind, key) → the shipped factor (PUE, WUE, embodied, equivalents)."""
    out = {}
    for r in data.read_csv("accounting_factors.csv"):
        f = Factor(r["dataset"], r["kind"], r["key"], float(r["value"]), r["unit"],
                   int(r["year"]), r["confidence"], r["note"])
        out.setdefault((f.kind, f.key), f)
    return out


def factor(kind: str, key: str) -> Factor | None:
    return factors().get((kind, key))


@functools.lru_cache(maxsize=None)
def _ccf() -> dict[str, float]:
    return {f"{r['provider']}:{r['instance_type']}".lower(): float(r["embodied_kgco2e"])
            for r in data.read_csv("ccf_embodied_instances.csv")}


def ccf_instance_kgco2e(instance: str) -> float | None:
    """Embodied kg CO2e of a cloud instance type (``"aws:p4d.24xlarge"``), or None."""
    return _ccf().get(instance.strip().lower())


def ccf_instances() -> tuple[str, ...]:
    return tuple(sorted(_ccf()))
