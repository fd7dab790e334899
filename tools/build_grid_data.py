"""Builders of the accounting package data (grid intensity, zones, cloud regions, factors).

Called from ``tools/build_data.py`` (datasets ``grid``, ``cloud`` and ``factors``); each
builder reads only the reference folder, writes only the output folder and is
deterministic. Electricity Maps data (ODbL) goes into its own two files, values unchanged
(only reformatted: JSON → CSV, hourly floats → whole g/kWh); everything else that carries
a number also carries a ``dataset`` key that names its section of ``NOTICE.md``.

Hand-kept facts (ISO 3166-1 codes the reference files do not pair by name, the IANA time
zone of each hourly zone, the grid zone of each cloud region, zone aliases) live in
``tools/grid_facts.py``, each with its basis.
"""

from __future__ import annotations

import collections
import csv
import gzip
import json
import re
import unicodedata
from pathlib import Path
from typing import Iterable

from grid_facts import (CLOUD_REGIONS, EXTRA_ALIASES, HOURLY_TIMEZONES, INDUSTRY_WUE,
                        ISO3_BY_ISO2, PROVIDER_PUE)
from csv_out import write_csv as _write_csv  # noqa: E402

G_PER_LB = 453.59237  # exact (international pound); eGRID publishes lb/MWh
HOURS_2023 = 8760

# --- helpers -------------------------------------------------------------------------------



def _fold(name: str) -> str:
    """Lower case, accents removed, single spaces: how names are matched."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text).strip().lower()


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _em_yearly(grid: Path) -> dict[int, dict]:
    return {year: json.loads((grid / f"electricitymaps_yearly_{year}.json").read_text("utf-8"))
            for year in range(2021, 2026)}


def _em_names(grid: Path) -> dict[str, tuple[str, str]]:
    """zone key → (zone name, country name) from co2.js' zone-name module (a JS object)."""
    text = (grid / "electricitymaps_zone_names.js").read_text("utf-8")
    out = {}
    pattern = re.compile(r'^\s*"?([A-Z0-9-]+)"?:\s*\{\s*zoneName:\s*"([^"]*)"'
                         r'(?:,\s*countryName:\s*"([^"]*)")?', re.M)
    for key, name, country in pattern.findall(text):
        out[key] = (name, country or "")
    return out


def _owid_rows(grid: Path) -> list[dict[str, str]]:
    with open(grid / "owid_energy_subset.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def iso_pairs(source: Path) -> dict[str, str]:
    """alpha-3 → alpha-2 for every country the reference files name."""
    grid = source / "grid" / "annual"
    names3: dict[str, str] = {}
    for r in _owid_rows(grid):
        code = r["iso_code"]
        if code and not code.startswith("OWID"):
            names3.setdefault(_fold(r["country"]), code)
    mix = json.loads((grid / "codecarbon_global_energy_mix.json").read_text("utf-8"))
    for code, v in sorted(mix.items()):
        names3.setdefault(_fold(v["country_name"]), code)
    pairs = {iso3: iso2 for iso2, iso3 in ISO3_BY_ISO2.items()}
    em = _em_yearly(grid)[2023]
    for key in sorted(em):
        if "-" in key or key in ISO3_BY_ISO2:
            continue
        iso3 = names3.get(_fold(em[key]["zone"]["zoneName"]))
        if iso3:
            pairs.setdefault(iso3, key)
    return pairs


# --- grid ----------------------------------------------------------------------------------

def build_em_yearly(source: Path, out: Path) -> Path:
    """electricitymaps_yearly.csv: zone, year, life-cycle g/kWh, renewable %, carbon-free %."""
    rows = []
    for year, data in _em_yearly(source / "grid" / "annual").items():
        for zone, v in data.items():
            rows.append((zone, year, v["carbonIntensity"]["value"],
                         v["renewableEnergy"]["value"], v["carbonFreeEnergy"]["value"]))
    rows.sort()
    return _write_csv(out / "electricitymaps_yearly.csv",
                      ("zone", "year", "intensity_g_per_kwh", "renewable_pct",
                       "carbon_free_pct"), rows)


def build_em_hourly(source: Path, out: Path) -> Path:
    """electricitymaps_hourly_2023.csv: one row per zone, 8,760 life-cycle g/kWh (whole
    numbers, space-separated, hour 0 = 2023-01-01T00:00Z), hours flagged estimated, tz."""
    series: dict[str, list[float]] = collections.defaultdict(list)
    estimated: collections.Counter = collections.Counter()
    path = source / "grid" / "hourly" / "electricitymaps_hourly_2023_16zones.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: (r["zone"], r["datetime_utc"]))
    for r in rows:
        series[r["zone"]].append(float(r["ci_lca_g_per_kwh"]))
        estimated[r["zone"]] += r["estimated"] == "true"
    out_rows = []
    for zone in sorted(series):
        values = series[zone]
        if len(values) != HOURS_2023:
            raise ValueError(f"{zone}: {len(values)} hours, expected {HOURS_2023}")
        out_rows.append((zone, HOURLY_TIMEZONES[zone], estimated[zone],
                         " ".join(str(int(round(v))) for v in values)))
    return _write_csv(out / "electricitymaps_hourly_2023.csv",
                      ("zone", "timezone", "estimated_hours", "intensity_g_per_kwh"), out_rows)


def build_grid_annual(source: Path, out: Path, pairs: dict[str, str]) -> Path:
    """grid_annual.csv: non-Electricity-Maps annual intensities with their dataset key.

    ``owid``: Our World in Data (Ember) country-years, life-cycle g/kWh and renewable share;
    the world series is zone ``WORLD``, the EU27 series ``EU``. ``egrid2023``: US states,
    converted from lb CO2e/MWh. ``cn-mee-2023``: Chinese provinces, CO2 only.
    """
    grid = source / "grid" / "annual"
    rows = []
    special = {"World": "WORLD", "European Union (27)": "EU"}
    for r in _owid_rows(grid):
        zone = special.get(r["country"]) or pairs.get(r["iso_code"])
        ci = _float(r["carbon_intensity_elec"])
        if zone and ci is not None:
            rows.append(("owid", zone, int(r["year"]), ci, _float(r["renewables_share_elec"]),
                         "life-cycle"))
    egrid = json.loads((grid / "codecarbon_usa_emissions.json").read_text("utf-8"))
    for name, v in egrid.items():
        if name.startswith("_"):
            continue
        zone = "US" if name == "usa" else "US-" + v["regionCode"]
        rows.append(("egrid2023", zone, 2023, round(v["emissions"] * G_PER_LB / 1000, 3), None,
                     "direct CO2e (generation)"))
    china = json.loads((grid / "codecarbon_china_provincial_emissions.json").read_text("utf-8"))
    for zone, v in china["data"].items():
        rows.append(("cn-mee-2023", zone, int(v["year"]), float(v["emission_factor"]), None,
                     "direct CO2 (generation, net of transfers)"))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _write_csv(out / "grid_annual.csv", ("dataset", "zone", "year", "intensity_g_per_kwh",
                                                "renewable_pct", "scope"), rows)


def build_zones(source: Path, out: Path, pairs: dict[str, str]) -> Path:
    """zones.csv: every zone key wattprint knows, its name, country, kind, ISO-3 and aliases."""
    grid = source / "grid" / "annual"
    names = _em_names(grid)
    em_keys = set(_em_yearly(grid)[2023])
    iso3_of = {iso2: iso3 for iso3, iso2 in pairs.items()}
    zones: dict[str, dict] = {}

    def add(key: str, name: str, country: str, kind: str, aliases: Iterable[str] = ()) -> None:
        z = zones.setdefault(key, {"name": name, "country": country, "kind": kind,
                                   "aliases": set()})
        z["aliases"].update(a for a in (_fold(x) for x in aliases) if a)

    for key in sorted(em_keys):
        name, country_name = names.get(key, (key, ""))
        if "-" in key:
            country = key.split("-")[0]
            kind = "province" if country in ("CA", "AU") else "grid-region"
            label = f"{name}, {country_name}" if country_name else name
            add(key, label, country, kind, [name] if kind == "province" else [])
        else:
            add(key, name, key, "country", [name, iso3_of.get(key, "")])
    owid_names = {}
    for r in _owid_rows(grid):
        owid_names.setdefault(r["iso_code"], r["country"])
    for iso3, iso2 in sorted(pairs.items()):
        if iso2 not in zones and iso3 in owid_names:
            add(iso2, owid_names[iso3], iso2, "country", [owid_names[iso3], iso3])
        elif iso2 in zones and iso3 in owid_names:
            zones[iso2]["aliases"].update({_fold(owid_names[iso3]), _fold(iso3)})
    add("WORLD", "World average", "", "world", ["world"])
    add("EU", "European Union (27)", "", "region", ["european union"])
    egrid = json.loads((grid / "codecarbon_usa_emissions.json").read_text("utf-8"))
    for name, v in egrid.items():
        if not name.startswith("_") and name != "usa":
            key = "US-" + v["regionCode"]
            add(key, f"{name.title()} (US state)", "US",
                zones.get(key, {}).get("kind", "us-state"), [name])
            zones[key]["kind"] = "us-state"
    china = json.loads((grid / "codecarbon_china_provincial_emissions.json").read_text("utf-8"))
    for key, v in china["data"].items():
        add(key, f"{v['description']} (China)", "CN", "cn-province",
            [v["description"], *v["names"]])
    for alias, key in EXTRA_ALIASES.items():
        zones[key]["aliases"].add(alias)
    rows = []
    for key in sorted(zones):
        z = zones[key]
        aliases = sorted(a for a in z["aliases"] if a != key.lower() and a != _fold(z["name"]))
        rows.append((key, z["name"], z["country"], z["kind"], iso3_of.get(key, ""),
                     ";".join(aliases)))
    return _write_csv(out / "zones.csv", ("zone", "name", "country", "kind", "iso3", "aliases"),
                      rows)


def build_grid(source: Path, out: Path) -> list[Path]:
    """Everything carbon accounting ships: zones, Electricity Maps yearly + hourly, others."""
    pairs = iso_pairs(source)
    return [build_zones(source, out, pairs), build_em_yearly(source, out),
            build_em_hourly(source, out), build_grid_annual(source, out, pairs)]


# --- cloud ---------------------------------------------------------------------------------

def _gcp_carbon_rows(cloud: Path) -> list[tuple]:
    rows = []
    for year in range(2019, 2025):
        with open(cloud / f"gcp_region_carbon_{year}.csv", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            scope = "life-cycle" if header[3].lower().startswith("lifecycle") else "grid"
            for region, _location, cfe, ci in (r[:4] for r in reader if r and r[0]):
                cfe_v, ci_v = _float(cfe), _float(ci)
                if ci_v is not None:
                    rows.append((region.strip(), year, ci_v,
                                 None if cfe_v is None else round(cfe_v * 100, 2), scope))
    return sorted(rows)


def _ga_site_pue(cloud: Path) -> dict[tuple[str, str], float]:
    """(provider, region) → site PUE published by the provider, from Green Algorithms."""
    with open(cloud / "green_algorithms_cloud_datacenters.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))[2:]
    out = {}
    for r in rows:
        provider, name, pue = r[0], r[1], _float(r[6])
        if pue:
            region = name if provider == "gcp" else re.sub(r"\W", "", name).lower()
            out[(provider, region)] = pue
    return out


def build_cloud(source: Path, out: Path) -> list[Path]:
    """cloud_regions.csv (region → grid zone, site PUE) and gcp_region_carbon.csv."""
    cloud = source / "cloud"
    site_pue = _ga_site_pue(cloud)
    rows = []
    for (provider, region), (location, zone) in sorted(CLOUD_REGIONS.items()):
        pue = site_pue.get((provider, region))
        rows.append((provider, region, location, zone, pue,
                     "green-algorithms-pue" if pue else ""))
    regions = _write_csv(out / "cloud_regions.csv",
                         ("provider", "region", "location", "zone", "pue", "pue_dataset"), rows)
    gcp = _write_csv(out / "gcp_region_carbon.csv",
                     ("region", "year", "intensity_g_per_kwh", "google_cfe_pct", "scope"),
                     _gcp_carbon_rows(cloud))
    return [regions, gcp]


# --- factors: PUE, water, embodied, equivalents ---------------------------------------------

def _aggregates(source: Path) -> dict[str, dict[str, str]]:
    with open(source / "published" / "aggregates.csv", encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def _pue_rows(cloud: Path) -> list[tuple]:
    with open(cloud / "green_algorithms_default_pue.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))[2:]
    out = []
    for provider, pue, src in (r[:3] for r in rows if r and r[0]):
        key = {"Unknown": "datacenter", "OVHcloud": "ovh"}.get(provider, provider.lower())
        if key in PROVIDER_PUE:  # the provider's own latest figure replaces the secondary one
            continue
        year = 2024 if key == "datacenter" else 2023
        out.append(("green-algorithms-pue", "pue", key, float(pue), "ratio", year,
                    "medium" if key == "datacenter" else "low", src.strip()))
    for key, (pue, year, src) in sorted(PROVIDER_PUE.items()):
        out.append(("provider-published", "pue", key, pue, "ratio", year, "medium", src))
    return out


def _wue_rows(source: Path, pairs: dict[str, str]) -> list[tuple]:
    out = []
    with open(source / "water" / "UNVERIFIED_provider_wue_compiled.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    latest: dict[str, dict] = {}
    previous_source = ""
    for r in rows:
        if r["primary_source"] == "same":  # the compiled file's ditto mark
            r["primary_source"] = previous_source
        previous_source = r["primary_source"]
        provider = r["provider"].lower()
        year = int(r["year"][:4])
        if r["scope"] == "region":
            out.append(("provider-wue-unverified", "wue_onsite", f"{provider}:{r['region_id']}",
                        float(r["wue_l_per_kwh"]), "L/kWh", year, "low", r["primary_source"]))
        elif r["scope"] == "global" and provider != "gcp":
            if year >= int(latest.get(provider, {"year": "0"})["year"][:4]):
                latest[provider] = r
    for provider, r in sorted(latest.items()):
        out.append(("provider-wue-unverified", "wue_onsite", provider, float(r["wue_l_per_kwh"]),
                    "L/kWh", int(r["year"][:4]), "low", r["primary_source"]))
    with open(source / "water" / "provider_pue_wue_ecologits.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["provider_key"] == "google_genai":
                out.append(("ecologits-provider", "wue_onsite", "gcp", float(r["wue_l_per_kwh"]),
                            "L/kWh", 2024, "low", "EcoLogits provider map, Google-hosted models"))
    wue, year, src = INDUSTRY_WUE
    out.append(("industry-wue", "wue_onsite", "datacenter", wue, "L/kWh", year, "medium", src))
    mixes = json.loads((source / "water" / "ecologits_electricity_mixes.json").read_text("utf-8"))
    for m in mixes["electricity_mixes"]:
        warnings = m.get("warnings") or []
        zone = "WORLD" if m["name"] == "WOR" else pairs.get(m["name"])
        if zone and "electricity-mix-wue-world" not in warnings:
            out.append(("ecologits-mix", "wue_offsite", zone, float(m["wue"]), "L/kWh", 2024,
                        "medium", "water consumed by electricity generation"))
    return out


def _embodied_rows(source: Path) -> list[tuple]:
    # The server row's item name holds an unquoted comma ("(8-GPU, 1.2 kW)"), so take the
    # first numeric field after the name rather than a fixed column.
    with open(source / "embodied" / "ecologits_embodied_constants.csv", encoding="utf-8") as f:
        rows = {r[0].split(" (")[0]: r for r in list(csv.reader(f))[1:] if r}

    def first_number(row: list[str]) -> float:
        return next(v for v in map(_float, row[1:]) if v is not None)

    gpu, server = first_number(rows["GPU"]), first_number(rows["Server excluding GPUs"])
    life = float(re.search(r"(\d+) years", rows["Hardware lifespan"][-1]).group(1))
    return [
        ("ecologits-embodied", "embodied_kgco2e", "gpu", gpu, "kgCO2e", 2024, "low",
         "one accelerator (80 GB HBM reference GPU), cradle-to-gate"),
        ("ecologits-embodied", "embodied_kgco2e", "server-8gpu", server, "kgCO2e", 2024, "low",
         "8-GPU server without its GPUs"),
        ("ecologits-embodied", "lifetime_years", "default", life, "years", 2024, "low",
         "hardware lifespan"),
    ]


def _equivalent_rows(source: Path) -> list[tuple]:
    agg = _aggregates(source)
    cn21, cn23 = float(agg["cn-hh-month-2021"]["value"]), float(agg["cn-hh-month-2023"]["value"])
    mile = float(agg["epa-vehicle-mile-derived"]["value"])
    # China: the 2021 derivation (197.3) rounded to two significant figures, as quoted; the
    # 2021 and 2023 derivations bound it (note carries them for the range).
    return [
        ("household-cn", "household_kwh_per_month", "CN", float(round(cn21, -1)), "kWh", 2021,
         "derived", f"low={cn21};high={cn23}"),
        ("household-us", "household_kwh_per_month", "US",
         float(agg["hh-us-2020-month"]["value"]), "kWh", 2020, "exact", ""),
        ("household-eu", "household_kwh_per_month", "EU",
         float(agg["hh-eu-month-derived"]["value"]), "kWh", 2023, "derived", ""),
        ("epa-equivalencies", "smartphone_charge_kwh", "US",
         float(agg["epa-smartphone-charge"]["value"]), "kWh", 2024, "exact-secondary", ""),
        ("epa-equivalencies", "car_g_co2_per_km", "US", round(mile / 1.609344, 2), "gCO2/km",
         2023, "derived", f"{mile:g} g CO2 per mile"),
    ]


def build_factors(source: Path, out: Path) -> list[Path]:
    """accounting_factors.csv (PUE, WUE, embodied, equivalents; one ``dataset`` key a row)
    and ccf_embodied_instances.csv (kg CO2e per cloud instance type)."""
    pairs = iso_pairs(source)
    rows = (_pue_rows(source / "cloud") + _wue_rows(source, pairs) + _embodied_rows(source)
            + _equivalent_rows(source))
    rows.sort(key=lambda r: (r[1], r[2], r[0]))
    factors = _write_csv(out / "accounting_factors.csv",
                         ("dataset", "kind", "key", "value", "unit", "year", "confidence",
                          "note"), rows)
    inst: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for provider in ("aws", "azure", "gcp"):
        with open(source / "embodied" / f"coefficients-{provider}-embodied.csv",
                  encoding="utf-8") as f:
            for r in csv.DictReader(f):
                inst[(provider, r["type"].strip())].append(float(r["total"]))
    # GCP lists a type once per microarchitecture: ship the mean, as CCF's -mean table does.
    instances = _write_csv(out / "ccf_embodied_instances.csv",
                           ("provider", "instance_type", "embodied_kgco2e"),
                           ((p, t, round(sum(v) / len(v), 2))
                            for (p, t), v in sorted(inst.items())))
    return [factors, instances]
