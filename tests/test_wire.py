"""The push payload format (wattprint.wire): built from real ledger runs, chunked,
digested, and validated with readable errors."""

from __future__ import annotations

import copy
import json
import math

import pytest

import wattprint
from _report_fixtures import fp16_and_int8, sensorless
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor
from wattprint.wire import (FORMAT, PayloadError, parse_payload, payload_digest,
                            run_payloads)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("wire") / "ledger.db"
    with Ledger(str(path)) as led:
        fp16_and_int8(led, duration_s=1800, every_s=2.0)
        sensorless(led, duration_s=300)
        yield led


def test_payload_of_a_tracked_run_round_trips(tmp_path) -> None:
    with Ledger(str(tmp_path / "l.db")) as led:
        run = wattprint.start("tiny", sensors=[FakeSensor(150.0, name="gpu:0", domain="gpu")],
                              rate_hz=100, ledger=led, project="p", tags=["a", "b"])
        with run.phase("train"):
            run.count(tokens=500)
        result = run.stop()
        chunks = run_payloads(led, result.run_id, user="alice")
        assert len(chunks) == 1
        parsed = parse_payload(json.loads(json.dumps(chunks[0])))
        record = led.get(result.run_id)
    assert parsed.run_id == record.id and parsed.is_head
    assert parsed.run["energy_j"] == pytest.approx(record.energy_j)
    assert parsed.run["user"] == "alice" and parsed.run["tags"] == ["a", "b"]
    assert parsed.run["project"] == "p" and parsed.run["status"] == "finished"
    assert [p["name"] for p in parsed.phases] == ["train"]
    assert parsed.counters == {"tokens": 500.0}
    assert parsed.devices[0]["domain"] == "gpu" and parsed.devices[0]["kind"] == "measured"
    assert parsed.points > 0


def test_long_run_is_downsampled_and_chunked(ledger) -> None:
    run_id = ledger.runs(name="fp16")[0].id
    chunks = run_payloads(ledger, run_id, max_points_per_device=300, chunk_points=250)
    parsed = [parse_payload(c) for c in chunks]
    # 4 devices x at most 301 points, 250 per chunk
    total = sum(p.points for p in parsed)
    assert 4 * 250 < total <= 4 * 301
    assert len(chunks) == math.ceil(total / 250)
    assert all(p.chunk_count == len(chunks) for p in parsed)
    assert [p.chunk_index for p in parsed] == list(range(len(chunks)))
    assert all(p.points <= 250 for p in parsed)
    assert parsed[0].devices and all(not p.devices and p.run == {"id": run_id}
                                     for p in parsed[1:])
    assert len({c["digest"] for c in chunks}) == 1
    # the downsampled trace keeps the device's cumulative energy at its last point
    record = ledger.get(run_id)
    last = {}
    for p in parsed:
        for s in p.power:
            last[s["device"]] = s["energy_j"][-1]
    for i, d in enumerate(record.devices):
        assert last[i] == pytest.approx(d.energy_j, rel=1e-9)


def test_digest_is_stable_and_changes_with_content(ledger) -> None:
    run_id = ledger.runs(name="int8")[0].id
    a = run_payloads(ledger, run_id)
    b = run_payloads(ledger, run_id)
    assert a[0]["digest"] == b[0]["digest"] == payload_digest(a)
    ledger.tag(run_id, add=["retagged"])
    c = run_payloads(ledger, run_id)
    assert c[0]["digest"] != a[0]["digest"]
    ledger.tag(run_id, remove=["retagged"])


def test_running_run_is_not_pushed(tmp_path) -> None:
    with Ledger(str(tmp_path / "l.db")) as led:
        run = wattprint.start("live", sensors=[FakeSensor(10.0)], rate_hz=100, ledger=led)
        try:
            with pytest.raises(PayloadError, match="only runs that ended"):
                run_payloads(led, run.run_id)
        finally:
            run.stop()


@pytest.mark.parametrize("path, value, needle", [
    (("format",), "wattprint.run/0", "format: must be 'wattprint.run/1'"),
    (("run", "energy_j"), -1.0, "run.energy_j: must be >= 0"),
    (("run", "energy_j"), float("nan"), "run.energy_j: must be a finite number"),
    (("run", "status"), "running", "run.status: must be one of finished"),
    (("run", "id"), "../etc/passwd", "run.id: must be a run id"),
    (("run", "name"), "x" * 5000, "run.name: must be at most 256 characters"),
    (("run", "started_at"), "yesterday", "run.started_at: must be an ISO 8601 time"),
    (("devices", 0, "energy_j"), float("inf"), "devices[0].energy_j: must be a finite"),
    (("power", 0, "power_w", 3), -5.0, "power[0].power_w[3]: must be >= 0"),
    (("chunk", "index"), 7, "chunk.index: must be an integer from 0 to 0"),
    (("run", "tags"), "a,b", "run.tags: must be an array"),
])
def test_invalid_payloads_are_refused_naming_the_field(ledger, path, value, needle) -> None:
    payload = copy.deepcopy(run_payloads(ledger, ledger.runs(name="cpu baseline")[0].id)[0])
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PayloadError) as err:
        parse_payload(payload)
    assert needle in str(err.value)


def test_non_object_payload(ledger) -> None:
    with pytest.raises(PayloadError, match="payload: must be a JSON object, not an array"):
        parse_payload([])
    assert FORMAT == "wattprint.run/1"


def test_utc_z_times_are_accepted_and_normalised(ledger) -> None:
    payload = copy.deepcopy(run_payloads(ledger, ledger.runs(name="cpu baseline")[0].id)[0])
    payload["run"]["started_at"] = "2024-03-01T10:00:00Z"
    assert parse_payload(payload).run["started_at"] == "2024-03-01T10:00:00+00:00"
