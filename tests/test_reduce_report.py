"""The HTML report's "Ways to use less" section: the advisor's levers for a recorded run
(two measured A100s in Germany), the power-cap saving reproduced from the run's own GPU
energy, the levers that do not apply listed with why; a sensorless run gets no GPU levers."""

from __future__ import annotations

import pytest

from _report_fixtures import fp16_and_int8, sensorless
from wattprint.ledger import Ledger
from wattprint.report import build_report, render


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("advice") / "ledger.db"
    with Ledger(str(path)) as led:
        fp16, _ = fp16_and_int8(led, duration_s=1800, every_s=10.0)
        cpu = sensorless(led)
    return str(path), fp16, cpu


def test_the_report_carries_the_advice_and_the_html_shows_it(ledger):
    path, fp16, _ = ledger
    with Ledger(path, readonly=True) as led:
        data = build_report(led, fp16, price_per_kwh=0.3)
        record = led.get(fp16)
    advice = data.advice
    levers = {lv["key"]: lv for lv in advice["levers"]}
    assert levers["power_cap"]["applies"] and levers["hardware"]["applies"]
    assert levers["hour"]["applies"]  # DE has hourly data
    gpu_j = sum(d.energy_j for d in record.devices if d.domain == "gpu" and d.counted)
    facility_kwh = record.energy_j / 3.6e6 * 1.2
    share = gpu_j / record.energy_j
    assert levers["power_cap"]["kwh"] == pytest.approx(
        [facility_kwh * share * 0.12, facility_kwh * share * 0.15])
    assert levers["power_cap"]["cost"] == pytest.approx(
        [k * 0.3 for k in levers["power_cap"]["kwh"]])
    assert "B200" in levers["hardware"]["why"]
    html = render([data], "html")
    assert "<h2>Ways to use less</h2>" in html and "cap the GPU power" in html
    assert "Levers that do not apply" in html and "SoCC 2023" in html


def test_a_sensorless_cpu_run_gets_no_gpu_levers(ledger):
    path, _, cpu = ledger
    with Ledger(path, readonly=True) as led:
        data = build_report(led, cpu)
    levers = {lv["key"]: lv for lv in data.advice["levers"]}
    assert not levers["power_cap"]["applies"] and "no GPU" in levers["power_cap"]["why"]
    assert not levers["hardware"]["applies"]
