"""Which cloud region this machine runs in, from the instance metadata service.

Asked only when the firmware says the machine is a cloud VM (``/sys/class/dmi/id``: AWS
"Amazon EC2", Google "Google Compute Engine", Azure's chassis asset tag), so an offline
laptop or an on-premises server never waits on the network; each request has a short
timeout (0.3 s by default) and any failure means "not detected". The HTTP getter is a
parameter, so tests use a local fake. Never called at import time.
"""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path
from typing import Callable, Mapping

__all__ = ["cloud_from_dmi", "detect_cloud_region", "urllib_get"]

log = logging.getLogger(__name__)

#: Azure's fixed chassis asset tag (documented by Microsoft for VM detection).
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
AWS_TOKEN_URL = "http://169.254.169.254/latest/api/token"
AWS_REGION_URL = "http://169.254.169.254/latest/meta-data/placement/region"
GCP_ZONE_URL = "http://metadata.google.internal/computeMetadata/v1/instance/zone"
AZURE_LOCATION_URL = ("http://169.254.169.254/metadata/instance/compute/location"
                      "?api-version=2021-02-01&format=text")

HttpGet = Callable[[str, Mapping[str, str], float, str], str]


def urllib_get(url: str, headers: Mapping[str, str], timeout_s: float, method: str = "GET"
               ) -> str:
    """The default getter: one urllib request, no proxies (metadata is link-local)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=dict(headers), method=method)
    with opener.open(request, timeout=timeout_s) as response:
        return response.read(4096).decode("utf-8", "replace")


def _read(root: Path, name: str) -> str:
    try:
        return (root / name).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def cloud_from_dmi(dmi_root: str | Path = "/sys/class/dmi/id") -> str | None:
    """``"aws"``, ``"gcp"``, ``"azure"`` when the firmware identifies a cloud VM, else None."""
    root = Path(dmi_root)
    vendor = " ".join(_read(root, n) for n in ("sys_vendor", "bios_vendor", "product_name",
                                               "bios_version", "product_version")).lower()
    if "amazon" in vendor:
        return "aws"
    if "google" in vendor:
        return "gcp"
    if _read(root, "chassis_asset_tag") == AZURE_ASSET_TAG:
        return "azure"
    return None


def _aws(get: HttpGet, timeout_s: float) -> str:
    headers: dict[str, str] = {}
    try:  # IMDSv2: a session token first; IMDSv1 still answers without one on older setups
        token = get(AWS_TOKEN_URL, {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout_s,
                    "PUT").strip()
        headers["X-aws-ec2-metadata-token"] = token
    except OSError:
        pass
    return get(AWS_REGION_URL, headers, timeout_s, "GET").strip()


def _gcp(get: HttpGet, timeout_s: float) -> str:
    zone = get(GCP_ZONE_URL, {"Metadata-Flavor": "Google"}, timeout_s, "GET").strip()
    return zone.rsplit("/", 1)[-1]  # projects/123/zones/us-central1-a → us-central1-a


def _azure(get: HttpGet, timeout_s: float) -> str:
    return get(AZURE_LOCATION_URL, {"Metadata": "true"}, timeout_s, "GET").strip()


def detect_cloud_region(*, http_get: HttpGet | None = None,
                        dmi_root: str | Path = "/sys/class/dmi/id",
                        timeout_s: float = 0.3) -> str | None:
    """``"aws:us-east-1"``-style region of this VM, or None (not a cloud VM, or no answer)."""
    provider = cloud_from_dmi(dmi_root)
    if provider is None:
        return None
    get = http_get or urllib_get
    probe = {"aws": _aws, "gcp": _gcp, "azure": _azure}[provider]
    try:
        region = probe(get, timeout_s)
    except (OSError, ValueError) as err:
        log.info("cloud metadata (%s) did not answer: %s", provider, err)
        return None
    if not region or len(region) > 64 or any(c.isspace() for c in region):
        return None
    return f"{provider}:{region}"
