"""Facility overhead (PUE), water (on-site WUE, off-site water of generation), and the
embodied carbon of the hardware (SCI's M term). Pure functions over shipped factors.

- facility energy = IT energy × PUE (user value, else the cloud site's published PUE,
  else the provider default, else 1.0 — no data-centre overhead — with a note);
- water = on-site WUE × IT energy + water of generation × facility energy (litres);
- embodied = Σ devices × embodied kg CO2e × time reserved ÷ lifetime.
"""

from __future__ import annotations

from typing import Mapping

from .. import inputs
from . import _tables
from .provenance import Figure, Provenance, from_dataset, user_given
from .zones import WORLD, Zone

__all__ = ["pue_figure", "water_onsite_l", "water_offsite_l", "embodied_co2e_g",
           "DEVICE_KINDS", "SECONDS_PER_YEAR", "PROVIDERS"]

SECONDS_PER_YEAR = 365.25 * 86400
#: Provider keys with a default PUE; "datacenter" is an unknown third-party data centre.
PROVIDERS = ("aws", "gcp", "azure", "ovh", "oracle", "datacenter")
_PROVIDER_ALIASES = {"google": "gcp", "amazon": "aws", "microsoft": "azure",
                     "ovhcloud": "ovh", "unknown": "datacenter", "dc": "datacenter"}
#: Device kinds with a shipped embodied footprint. "gpu+server" is one GPU plus an eighth of
#: an 8-GPU server (the usual way to count a GPU you reserve on a shared node).
DEVICE_KINDS = ("gpu", "server-8gpu", "gpu+server")


def normalise_provider(provider: str | None, zone: Zone | None = None) -> str | None:
    if provider:
        key = provider.strip().lower()
        key = _PROVIDER_ALIASES.get(key, key)
        if key in ("local", "none", "onprem-none"):
            return None
        return key
    if zone is not None and zone.cloud_region:
        return zone.cloud_region.split(":", 1)[0]
    return None


def pue_figure(*, pue: float | None = None, provider: str | None = None,
               zone: Zone | None = None) -> Figure:
    """The PUE to apply, with where it comes from."""
    if pue is not None:
        return Figure(inputs.pue("pue", pue), "ratio", user_given("PUE"))
    provider = normalise_provider(provider, zone)
    if zone is not None and zone.cloud_region:
        p, region = zone.cloud_region.split(":", 1)
        row = _tables.cloud_regions().get((p, region))
        if row and row["pue"]:
            return Figure(float(row["pue"]), "ratio",
                          from_dataset(row["pue_dataset"], zone=zone.cloud_region,
                                       notes=("site PUE published by the provider (2020)",)))
    if provider:
        f = _tables.factor("pue", provider)
        if f is None:
            f = _tables.factor("pue", "datacenter")
            note = f"no PUE shipped for provider {provider!r}; industry average used"
        else:
            note = ""
        return Figure(f.value, "ratio", from_dataset(f.dataset, zone=f.key, year=f.year,
                                                     confidence=f.confidence,
                                                     notes=(note,) if note else (),
                                                     source=f.note))
    avg = _tables.factor("pue", "datacenter")
    return Figure(1.0, "ratio", Provenance(
        "derived", "no data-centre overhead assumed", "n/a", resolution="constant",
        notes=(f"PUE 1.0: the energy is taken as the whole facility's. In a data centre pass "
               f"pue= or provider= (industry average {avg.value:g}, {avg.year}).",)))


def water_onsite_l(it_energy_kwh: float, *, wue_l_per_kwh: float | None = None,
                   provider: str | None = None, zone: Zone | None = None) -> Figure:
    """On-site (cooling) water: WUE × IT energy; an unknown data centre (or a provider
    without a WUE) gets the industry average, with a note."""
    if wue_l_per_kwh is not None:
        return Figure(it_energy_kwh * wue_l_per_kwh, "L", user_given("on-site WUE"),
                      extra={"wue_l_per_kwh": wue_l_per_kwh})
    provider = normalise_provider(provider, zone)
    f = None
    if zone is not None and zone.cloud_region:
        f = _tables.factor("wue_onsite", zone.cloud_region)
    if f is None and provider:
        f = _tables.factor("wue_onsite", provider)
    if f is None and provider:  # an unknown data centre: the industry average
        f = _tables.factor("wue_onsite", "datacenter")
    industry = f is not None and f.dataset == "industry-wue"
    if f is not None:
        prov = from_dataset(f.dataset, zone=f.key, year=f.year, confidence=f.confidence,
                            notes=("provider-reported WUE, unverified transcription",)
                            if f.dataset == "provider-wue-unverified" else (),
                            source=f.note)
        if industry:
            prov = prov.with_note(f"no WUE for provider {provider!r}: industry-average "
                                  f"on-site water {f.value:g} L/kWh used; pass wue_l_per_kwh=")
        return Figure(it_energy_kwh * f.value, "L", prov, extra={"wue_l_per_kwh": f.value,
                                                                  "industry_average":
                                                                  industry})
    if provider is None:
        return Figure(0.0, "L", Provenance(
            "derived", "no on-site water assumed", "n/a",
            notes=("not in a data centre: no evaporative cooling assumed; pass "
                   "wue_l_per_kwh= or provider= otherwise",)), extra={"wue_l_per_kwh": 0.0})
    return Figure(None, "L", Provenance(
        "none", "on-site WUE unknown", "n/a", resolution="none",
        notes=(f"no WUE shipped for provider {provider!r}; pass wue_l_per_kwh=",)))


def water_offsite_l(facility_energy_kwh: float, zone: Zone, *,
                    water_l_per_kwh: float | None = None) -> Figure:
    """Water consumed generating the electricity: factor of the zone's country × energy."""
    if water_l_per_kwh is not None:
        return Figure(facility_energy_kwh * water_l_per_kwh, "L",
                      user_given("water intensity of generation"),
                      extra={"water_l_per_kwh": water_l_per_kwh})
    f = _tables.factor("wue_offsite", zone.country or zone.key)
    note = ""
    if f is None:
        f = _tables.factor("wue_offsite", WORLD)
        note = (f"no country-specific water-of-generation factor for "
                f"{zone.country or zone.key}; world average used")
    prov = from_dataset(f.dataset, zone=f.key, year=f.year, confidence=f.confidence,
                        notes=(note,) if note else ())
    return Figure(facility_energy_kwh * f.value, "L", prov, extra={"water_l_per_kwh": f.value})


def _device_kgco2e(kind: str) -> tuple[float, tuple[str, ...]]:
    if kind == "gpu+server":
        gpu = _tables.factor("embodied_kgco2e", "gpu").value
        server = _tables.factor("embodied_kgco2e", "server-8gpu").value
        return gpu + server / 8, ("ecologits-embodied",)
    f = _tables.factor("embodied_kgco2e", kind)
    if f is not None:
        return f.value, (f.dataset,)
    kg = _tables.ccf_instance_kgco2e(kind)
    if kg is not None:
        return kg, ("ccf-embodied",)
    raise ValueError(f"no embodied footprint for device {kind!r}; use one of "
                     f"{', '.join(DEVICE_KINDS)} or a cloud instance type such as "
                     "'aws:p4d.24xlarge' (or pass embodied_kgco2e=)")


def embodied_co2e_g(devices: Mapping[str, float], reserved_s: float, *,
                    lifetime_years: float | None = None) -> Figure:
    """SCI's M = Σ count × total embodied × (time reserved ÷ expected lifetime), in grams.

    ``devices`` maps a kind (:data:`DEVICE_KINDS`, or a cloud instance type from Cloud
    Carbon Footprint such as ``"aws:p4d.24xlarge"``) to a count (fractions allowed).
    """
    reserved_s = inputs.check("duration_s", "reserved_s", reserved_s)
    inputs.check("lifetime_years", "lifetime_years", lifetime_years)
    life = _tables.factor("lifetime_years", "default")
    years = lifetime_years if lifetime_years is not None else life.value
    total_kg, datasets, parts = 0.0, [], {}
    for kind, count in devices.items():
        inputs.check("devices", f"devices[{kind!r}]", count)
        kg, ds = _device_kgco2e(kind)
        total_kg += kg * count
        parts[kind] = {"count": count, "embodied_kgco2e": kg}
        datasets += [d for d in ds if d not in datasets]
    share = reserved_s / (years * SECONDS_PER_YEAR)
    notes = [f"amortised over {years:g} years"
             + (" (EcoLogits default lifespan)" if lifetime_years is None else " (user)")]
    if "ccf-embodied" in datasets:
        notes.append("Cloud Carbon Footprint totals are per instance (its share of the host)")
    prov = from_dataset(datasets[0], confidence="low", notes=tuple(notes))
    if len(datasets) > 1:
        prov = prov.with_note("also: " + ", ".join(datasets[1:]))
    return Figure(total_kg * 1000 * share, "gCO2e", prov,
                  extra={"devices": parts, "reserved_s": reserved_s, "lifetime_years": years})
