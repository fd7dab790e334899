"""Zone resolution, suggestions, search, defaults and cloud-metadata detection (fakes only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattprint.accounting import UnknownZoneError, default_zone, resolve_zone, search_zones
from wattprint.accounting._cloud_metadata import (AZURE_ASSET_TAG, cloud_from_dmi,
                                                  detect_cloud_region)
from wattprint.errors import ConfigError


@pytest.mark.parametrize("query, key, kind", [
    ("DE", "DE", "country"), ("de", "DE", "country"), ("DEU", "DE", "country"),
    ("Germany", "DE", "country"), ("CHN", "CN", "country"), ("China", "CN", "country"),
    ("CA", "CA", "country"),  # Canada, not California
    ("US-CA", "US-CA", "us-state"), ("California", "US-CA", "us-state"),
    ("new york", "US-NY", "us-state"), ("US-TX", "US-TX", "us-state"),
    ("CN-GD", "CN-GD", "cn-province"), ("Guangdong", "CN-GD", "cn-province"),
    ("Inner Mongolia", "CN-NM", "cn-province"), ("CA-QC", "CA-QC", "province"),
    ("Quebec", "CA-QC", "province"), ("Ontario", "CA-ON", "province"),
    ("US-CAL-CISO", "US-CAL-CISO", "grid-region"), ("ercot", "US-TEX-ERCO", "grid-region"),
    ("SE3", "SE-SE3", "grid-region"), ("NO-1", "NO-NO1", "grid-region"),
    ("UK", "GB", "country"), ("GBR", "GB", "country"), ("Réunion", "RE", "country"),
    ("Chile", "CL", "country"), ("world", "WORLD", "world"),
])
def test_resolve(query, key, kind):
    zone = resolve_zone(query)
    assert (zone.key, zone.kind) == (key, kind)
    assert zone.cloud_region is None


@pytest.mark.parametrize("query, region, key", [
    ("aws:us-east-1", "aws:us-east-1", "US-MIDA-PJM"),
    ("aws:us-east-1a", "aws:us-east-1", "US-MIDA-PJM"),  # availability zone
    ("AWS:eu-west-3", "aws:eu-west-3", "FR"),
    ("gcp:europe-west1", "gcp:europe-west1", "BE"),
    ("gcp:us-central1-f", "gcp:us-central1", "US-MIDW-MISO"),  # compute zone
    ("google:asia-northeast1", "gcp:asia-northeast1", "JP-TK"),
    ("azure:westeurope", "azure:westeurope", "NL"),
    ("azure:West Europe", "azure:westeurope", "NL"),  # display name
    ("azure:chinaeast2", "azure:chinaeast2", "CN-SH"),
])
def test_resolve_cloud_regions(query, region, key):
    zone = resolve_zone(query)
    assert (zone.cloud_region, zone.key) == (region, key)
    assert zone.note


@pytest.mark.parametrize("query, expected", [
    ("Germny", "DE"), ("Frnace", "FR"), ("Califrnia", "US-CA"), ("US-CAL", "US-CAL-CISO"),
    ("aws:us-est-1", "aws:us-east-1"), ("gcp:europe-west99", "gcp:europe-west9"),
])
def test_unknown_zone_suggests_close_matches(query, expected):
    with pytest.raises(UnknownZoneError) as info:
        resolve_zone(query)
    err = info.value
    assert expected in err.suggestions and expected in str(err)
    assert isinstance(err, ConfigError) and err.key == "zone" and err.value == query


def test_unknown_zone_without_suggestions_points_at_search():
    with pytest.raises(UnknownZoneError, match="wattprint zones"):
        resolve_zone("zzqqxx")


def test_search():
    keys = [z.key for z in search_zones("germany")]
    assert keys[0] == "DE"
    assert {"US-CAL-CISO", "US-CAL-LDWP"} <= {z.key for z in search_zones("US-CAL")}
    regions = {z.cloud_region for z in search_zones("virginia")}
    assert {"aws:us-east-1", "gcp:us-east4", "azure:eastus"} <= regions
    assert all(z.kind == "cn-province" for z in search_zones("", kind="cn-province"))
    assert len(search_zones("", kind="cn-province")) == 30
    assert len(search_zones("")) > 400


def test_default_zone_order_argument_config_env_world():
    env = {"WATTPRINT_ZONE": "FR"}
    assert default_zone("DE", config_zone="GB", env=env).source == "argument"
    assert default_zone(None, config_zone="GB", env=env).key == "GB"
    z = default_zone(None, env=env)
    assert (z.key, z.source) == ("FR", "env")
    z = default_zone(None, env={})
    assert (z.key, z.source) == ("WORLD", "default")
    assert "NO GRID ZONE SET" in z.note and "WATTPRINT_ZONE" in z.note
    with pytest.raises(UnknownZoneError):
        default_zone(None, env={"WATTPRINT_ZONE": "Atlantis"})


# --- cloud metadata, against fake firmware trees and a fake HTTP getter ------------------------

def _dmi(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


class FakeHttp:
    def __init__(self, answers: dict[str, str], fail: bool = False):
        self.answers, self.fail, self.calls = answers, fail, []

    def __call__(self, url, headers, timeout_s, method="GET"):
        self.calls.append((method, url, dict(headers), timeout_s))
        if self.fail:
            raise OSError("timed out")
        for prefix, body in self.answers.items():
            if url.startswith(prefix):
                return body
        raise OSError(f"404 {url}")


def test_dmi_identifies_clouds(tmp_path):
    (tmp_path / "a").mkdir()
    assert cloud_from_dmi(_dmi(tmp_path / "a", sys_vendor="Amazon EC2")) == "aws"
    (tmp_path / "g").mkdir()
    assert cloud_from_dmi(_dmi(tmp_path / "g", product_name="Google Compute Engine")) == "gcp"
    (tmp_path / "z").mkdir()
    assert cloud_from_dmi(_dmi(tmp_path / "z", sys_vendor="Microsoft Corporation",
                               chassis_asset_tag=AZURE_ASSET_TAG)) == "azure"
    (tmp_path / "l").mkdir()
    assert cloud_from_dmi(_dmi(tmp_path / "l", sys_vendor="LENOVO")) is None
    assert cloud_from_dmi(tmp_path / "missing") is None


def test_not_a_cloud_vm_means_no_network_call(tmp_path):
    http = FakeHttp({})
    assert detect_cloud_region(http_get=http, dmi_root=_dmi(tmp_path, sys_vendor="Dell Inc.")) \
        is None
    assert http.calls == []


def test_aws_uses_imdsv2_with_a_short_timeout(tmp_path):
    http = FakeHttp({"http://169.254.169.254/latest/api/token": "TOKEN",
                     "http://169.254.169.254/latest/meta-data/placement/region": "eu-west-3"})
    region = detect_cloud_region(http_get=http, dmi_root=_dmi(tmp_path, sys_vendor="Amazon EC2"))
    assert region == "aws:eu-west-3"
    assert http.calls[0][0] == "PUT"
    assert http.calls[1][2] == {"X-aws-ec2-metadata-token": "TOKEN"}
    assert all(call[3] == 0.3 for call in http.calls)


def test_gcp_and_azure(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "z").mkdir()
    http = FakeHttp({"http://metadata.google.internal": "projects/42/zones/europe-west1-b"})
    assert detect_cloud_region(http_get=http, dmi_root=_dmi(
        tmp_path / "g", product_name="Google Compute Engine")) == "gcp:europe-west1-b"
    assert http.calls[0][2] == {"Metadata-Flavor": "Google"}
    http = FakeHttp({"http://169.254.169.254/metadata/instance": "westeurope"})
    assert detect_cloud_region(http_get=http, dmi_root=_dmi(
        tmp_path / "z", chassis_asset_tag=AZURE_ASSET_TAG)) == "azure:westeurope"
    assert http.calls[0][2] == {"Metadata": "true"}


def test_metadata_failure_falls_back_to_world(tmp_path):
    dmi = _dmi(tmp_path, sys_vendor="Amazon EC2")
    z = default_zone(None, env={}, detect_cloud=True, http_get=FakeHttp({}, fail=True),
                     dmi_root=str(dmi))
    assert z.key == "WORLD" and z.source == "default"


def test_default_zone_uses_detected_region(tmp_path):
    dmi = _dmi(tmp_path, product_name="Google Compute Engine")
    http = FakeHttp({"http://metadata.google.internal": "projects/42/zones/us-central1-a"})
    z = default_zone(None, env={}, detect_cloud=True, http_get=http, dmi_root=str(dmi))
    assert (z.key, z.cloud_region, z.source) == ("US-MIDW-MISO", "gcp:us-central1",
                                                 "cloud-metadata")
    # An explicit zone wins and never probes.
    http.calls.clear()
    assert default_zone("DE", env={}, detect_cloud=True, http_get=http,
                        dmi_root=str(dmi)).key == "DE"
    assert http.calls == []
