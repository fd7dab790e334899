"""``wattprint equiv ENERGY``: an energy in household-months, phone charges and km driven.

    wattprint equiv 1287MWh --country CN
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("energy", nargs="+", help="an energy with its unit: 1287MWh, '1.28 TWh', "
                                             "350kWh, 5e9J")
    p.add_argument("--country", help="household figures of this country/region (CN, US, EU "
                                     "or an EU member); default: all three")
    p.add_argument("--zone", help="grid zone for the CO2 behind 'km driven' (default: the "
                                  "--country's grid)")
    p.add_argument("--year", type=int, help="year of the grid intensity (default: latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def handle(args: argparse.Namespace) -> int:
    from ..accounting import annual_intensity, resolve_zone
    from ..accounting.equivalents import equivalents, unit_check
    from ..errors import UsageError
    from .._format import format_limit
    from ..units import J_PER_KWH, format_energy, parse_energy

    from .. import inputs
    from ._common import check_flags

    check_flags(args, year="year")
    text = " ".join(args.energy)
    energy_j = parse_energy(text)
    rule = inputs.RULES["energy_j"]
    if energy_j > rule.high:
        raise UsageError(f"{inputs.describe('ENERGY', text)}: {rule.what} must be at most "
                         f"{format_limit(rule.high)} J ({rule.usual}); "
                         "e.g. wattprint equiv 1287MWh")
    from ..accounting.equivalents import _household_key

    household_country, household_note = args.country, None
    if args.country:
        try:
            _household_key(args.country)
        except ValueError:
            # A country with no household figure (IN, BR…): its grid for the CO2, as
            # --zone does, and the three regions' household figures.
            household_country = None
            household_note = (f"no household electricity figure for {args.country!r}: "
                              "CN, US and EU shown; its grid used for the CO2")
    try:
        zone_text = args.zone or (args.country if args.country and
                                  args.country.upper() != "EU" else None)
        intensity = annual_intensity(resolve_zone(zone_text), args.year) if zone_text else None
        co2e_g = energy_j / J_PER_KWH * intensity.value if intensity else None
        items = equivalents(energy_j, country=household_country, co2e_g=co2e_g)
    except ValueError as err:
        raise UsageError(str(err)) from err
    check = unit_check(energy_j, household_country)
    if args.json:
        print(json.dumps({"energy_j": energy_j, "energy_kwh": energy_j / J_PER_KWH,
                          "equivalents": [e.to_dict() for e in items], "unit_check": check,
                          "intensity_g_per_kwh": intensity.value if intensity else None,
                          "notes": [household_note] if household_note else []},
                         indent=2, ensure_ascii=False))
        return 0
    print(f"{format_energy(energy_j)} of electricity is")
    if household_note:
        print(f"  note: {household_note}")
    for e in items:
        print(f"  {e.text}")
        if e.key == "km_driven" and intensity is not None:
            p = intensity.provenance
            print(f"      CO2 at {intensity.value:.0f} g/kWh: {p.title}, {p.zone} {p.year}")
        for note in e.provenance.notes:
            print(f"      note: {note}")
    print(f"\nCheck the unit: {check}")
    print("Sources: wattprint data sources")
    return 0
