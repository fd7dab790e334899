"""Grid zones: resolve what a user types to the zone whose electricity a run used.

Accepted: Electricity Maps zone keys (``DE``, ``US-CAL-CISO``, ``SE-SE3``), ISO 3166-1
alpha-2 and alpha-3 country codes (``CN``, ``CHN``), US states (``US-CA``, ``California``),
Chinese provinces (``CN-GD``, ``Guangdong``), Canadian provinces (``CA-QC``, ``Quebec``),
names and common aliases (``UK``, ``ERCOT``), and cloud regions (``aws:us-east-1``,
``gcp:europe-west1``, ``azure:westeurope``; availability-zone suffixes are dropped).

Where no zone is given, :func:`default_zone` looks at the argument, then the
configuration value, then ``WATTPRINT_ZONE``, then (optionally) cloud instance metadata,
and otherwise falls back to the world average with a loud note.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Mapping

from ..errors import ConfigError
from . import _tables

__all__ = ["Zone", "UnknownZoneError", "resolve_zone", "search_zones", "default_zone",
           "WORLD", "CLOUD_PROVIDERS", "ENV_ZONE"]

WORLD = "WORLD"
ENV_ZONE = "WATTPRINT_ZONE"
#: What people write before the colon → provider key.
CLOUD_PROVIDERS = {"aws": "aws", "amazon": "aws", "ec2": "aws", "gcp": "gcp", "google": "gcp",
                   "gce": "gcp", "azure": "azure", "microsoft": "azure"}
_NORDIC = re.compile(r"^(SE|NO|DK)-?(\d)$", re.I)


class UnknownZoneError(ConfigError):
    """No zone matches ``query``; ``suggestions`` lists close matches (zone keys)."""

    def __init__(self, query: str, suggestions: tuple[str, ...] = (), *,
                 key: str = "zone", where: str | None = None) -> None:
        hint = (f"; did you mean {', '.join(suggestions)}?" if suggestions
                else "; run 'wattprint zones QUERY' to search")
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown grid zone {query!r}{hint}", key=key, value=query,
                         allowed="a zone key, country code or name, US state, Chinese or "
                                 "Canadian province, or cloud region such as aws:us-east-1")
        self.query = query
        self.suggestions = suggestions


@dataclass(frozen=True)
class Zone:
    key: str  # the grid zone: "US-MIDA-PJM", "DE", "WORLD"
    name: str
    country: str  # ISO alpha-2 of the country ("" for WORLD / EU)
    kind: str  # country | province | grid-region | us-state | cn-province | world | region
    cloud_region: str | None = None  # "aws:us-east-1" when resolved from a cloud region
    source: str = "argument"  # argument | config | env | cloud-metadata | default
    note: str = ""

    @property
    def label(self) -> str:
        base = f"{self.key} ({self.name})"
        return f"{self.cloud_region} -> {base}" if self.cloud_region else base

    def to_dict(self) -> dict[str, str | None]:
        return {"key": self.key, "name": self.name, "country": self.country,
                "kind": self.kind, "cloud_region": self.cloud_region, "source": self.source,
                "note": self.note}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text).strip().lower()


@functools.lru_cache(maxsize=None)
def _index() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(key → zone row, folded name/alias/iso3 → key)."""
    rows = {r["zone"]: r for r in _tables.zone_rows()}
    names: dict[str, str] = {}
    for key, r in rows.items():
        for alias in (r["name"], r["iso3"], *r["aliases"].split(";")):
            if alias:
                names.setdefault(_fold(alias), key)
    return rows, names


def _zone(row: dict[str, str], **kw: str | None) -> Zone:
    return Zone(row["zone"], row["name"], row["country"], row["kind"], **kw)  # type: ignore[arg-type]


def _suggest(query: str, candidates: list[str], names: Mapping[str, str]) -> tuple[str, ...]:
    """Up to five zone keys close to ``query``: key prefixes first ("US-CAL" → US-CAL-*),
    then keys and names that are spelled alike ("Germny" → DE)."""
    q = _fold(query)
    out = [k for k in candidates if len(q) >= 3 and k.lower().startswith(q)]
    by_lower = {c.lower(): c for c in candidates}
    for hit in difflib.get_close_matches(q, list(by_lower), n=5, cutoff=0.6):
        out.append(by_lower[hit])
    for name in difflib.get_close_matches(q, list(names), n=5, cutoff=0.75):
        out.append(names[name])
    return tuple(dict.fromkeys(out))[:5]


def _resolve_cloud(provider_text: str, region_text: str, query: str) -> Zone:
    provider = CLOUD_PROVIDERS.get(provider_text.strip().lower())
    regions = _tables.cloud_regions()
    if provider is None:
        raise UnknownZoneError(query, tuple(f"{p}:{region_text}" for p in ("aws", "gcp", "azure")
                                            if (p, region_text.strip().lower()) in regions))
    region = re.sub(r"[\s_]", "", region_text.strip().lower()) if provider == "azure" \
        else region_text.strip().lower()
    candidates = [region]
    if provider == "gcp":
        candidates.append(re.sub(r"-[a-z]$", "", region))  # us-central1-a → us-central1
    if provider == "aws":
        candidates.append(re.sub(r"(\d)[a-z]$", r"\1", region))  # us-east-1a → us-east-1
    for candidate in candidates:
        row = regions.get((provider, candidate))
        if row:
            rows, _ = _index()
            zone_row = rows[row["zone"]]
            return _zone(zone_row, cloud_region=f"{provider}:{candidate}",
                         note=f"{provider}:{candidate} is in {row['location']}; grid zone "
                              f"{row['zone']} (wattprint cloud region table)")
    known = [r for p, r in regions if p == provider]
    close = difflib.get_close_matches(region, known, n=5, cutoff=0.6)
    raise UnknownZoneError(query, tuple(f"{provider}:{c}" for c in close))


def resolve_zone(query: "str | Zone") -> Zone:
    """The :class:`Zone` for ``query``; raises :class:`UnknownZoneError` with suggestions."""
    if isinstance(query, Zone):
        return query
    text = str(query).strip()
    if not text:
        raise UnknownZoneError(text)
    if ":" in text:
        provider, region = text.split(":", 1)
        return _resolve_cloud(provider, region, text)
    rows, names = _index()
    upper = text.upper().replace("_", "-")
    if upper in rows:
        return _zone(rows[upper])
    nordic = _NORDIC.match(upper)
    if nordic:
        key = f"{nordic.group(1)}-{nordic.group(1)}{nordic.group(2)}"
        if key in rows:
            return _zone(rows[key])
    key = names.get(_fold(text))
    if key:
        return _zone(rows[key])
    raise UnknownZoneError(text, _suggest(text, list(rows), names))


def search_zones(query: str = "", *, kind: str | None = None, limit: int | None = None
                 ) -> list[Zone]:
    """Zones whose key, name, ISO-3 code or alias contains ``query`` (all when empty), plus
    cloud regions (``aws:…``) that match; exact matches first."""
    rows, _ = _index()
    q = _fold(query)
    exact, partial = [], []
    for key in sorted(rows):
        r = rows[key]
        if kind and r["kind"] != kind:
            continue
        fields = [key.lower(), _fold(r["name"]), r["iso3"].lower(), *r["aliases"].split(";")]
        if not q or q in fields:
            exact.append(_zone(r))
        elif any(q in f for f in fields if f):
            partial.append(_zone(r))
    if kind in (None, "cloud"):
        for (provider, region), row in sorted(_tables.cloud_regions().items()):
            name = f"{provider}:{region}"
            if q and (q in name or q in _fold(row["location"])):
                target = rows[row["zone"]]
                (exact if q == name else partial).append(
                    _zone(target, cloud_region=name, note=row["location"]))
    found = exact + partial
    return found[:limit] if limit else found


#: fetch(url, headers, timeout_s, method) -> body text; raises OSError on failure.
HttpGet = Callable[[str, Mapping[str, str], float, str], str]


def default_zone(zone: "str | Zone | None" = None, *, config_zone: str | None = None,
                 env: Mapping[str, str] | None = None, detect_cloud: bool = False,
                 http_get: HttpGet | None = None, dmi_root: str = "/sys/class/dmi/id",
                 timeout_s: float = 0.3) -> Zone:
    """The zone to account a run in: argument, config, ``WATTPRINT_ZONE``, cloud metadata
    (only when ``detect_cloud``; never on a machine whose firmware is not a cloud's), else
    the world average with a note asking the user to set it. A bad zone raises."""
    env = os.environ if env is None else env
    for value, source in ((zone, "argument"), (config_zone, "config"),
                          (env.get(ENV_ZONE) or None, "env")):
        if value:
            try:
                found = resolve_zone(value)
            except UnknownZoneError as err:
                if source == "argument":
                    raise
                where = ENV_ZONE if source == "env" else "the configured zone"
                raise UnknownZoneError(err.query, err.suggestions, where=where) from None
            return Zone(found.key, found.name, found.country, found.kind, found.cloud_region,
                        source, found.note)
    if detect_cloud:
        from ._cloud_metadata import detect_cloud_region

        region = detect_cloud_region(http_get=http_get, dmi_root=dmi_root, timeout_s=timeout_s)
        if region:
            try:
                found = resolve_zone(region)
            except UnknownZoneError:
                pass
            else:
                return Zone(found.key, found.name, found.country, found.kind,
                            found.cloud_region, "cloud-metadata",
                            f"detected from instance metadata: {region}")
    rows, _ = _index()
    return _zone(rows[WORLD], source="default",
                 note=f"NO GRID ZONE SET: using the world average. Carbon figures can be off by "
                      f"10x; set the zone (--zone, the 'zone' config key or {ENV_ZONE}=DE / "
                      f"US-CA / aws:us-east-1...).")
