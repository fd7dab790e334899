"""wattprint.telemetry without external services: the exposition (parsed with
prometheus_client's parser), metric naming, counters across sensor failures and exporter
restarts, runs read from a real ledger (running, finished, deleted, dead), the Grafana
dashboard, the OpenTelemetry bridge (the SDK's InMemoryMetricReader), the Pushgateway push
(a real HTTP server receiving it), and input validation."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, strategies as st
from prometheus_client.parser import text_string_to_metric_families

import wattprint
from wattprint.errors import UsageError
from wattprint.ledger import Ledger
from wattprint.telemetry import METRICS, grafana_dashboard_path
from wattprint.telemetry._state import advance
from wattprint.telemetry.exporter import Exporter, ExporterOptions
from wattprint.testing import FakeSensor

from _cli import assert_clean_error, wp
from _wait import until

#: Units Prometheus names end in here; counters end in ``_total`` after their unit.
UNIT_SUFFIXES = ("_joules", "_watts", "_grams", "_seconds", "_timestamp_seconds", "_ratio")
#: Unit-less by convention: info metrics, a cost (its unit is the currency label), counts.
UNITLESS = ("_info", "wattprint_cost", "_errors")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _sensors(clock: Clock, fail_after: int | None = None) -> list[FakeSensor]:
    return [FakeSensor(300.0, name="nvml:0", domain="gpu", clock=clock, fail_after=fail_after,
                       provenance={"uuid": "GPU-aaaa"}),
            FakeSensor(40.0, name="cpu-model", domain="cpu", kind="modelled", clock=clock)]


def _exporter(tmp_path, clock: Clock, sensors=None, **opts) -> Exporter:
    options = ExporterOptions(state_path=str(tmp_path / "state.json"), zone="FR",
                              price_per_kwh=0.2, currency="EUR", isolated_accounting=False,
                              **opts)
    return Exporter(options, sensors=sensors or _sensors(clock), clock=clock)


def _families(exporter: Exporter) -> dict:
    text = exporter.exposition().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _values(families: dict, family: str, sample: str | None = None, **labels: str) -> list:
    out = []
    for s in families[family].samples:
        if s.name == (sample or family + ("_total" if families[family].type == "counter"
                                            else "")) and \
                all(s.labels.get(k, "") == v for k, v in labels.items()):
            out.append(s.value)
    return out


def _tick(exporter: Exporter, clock: Clock, seconds: float, steps: int = 1) -> None:
    for _ in range(steps):
        clock.t += seconds / steps
        exporter.node.step(clock.t)


# -- exposition and names ---------------------------------------------------------------------
def test_exposition_parses_and_counts_whole_devices(tmp_path):
    clock = Clock()
    exp = _exporter(tmp_path, clock).start(serve=False, background=False)
    _tick(exp, clock, 10.0, steps=10)
    fams = _families(exp)
    gpu = _values(fams, "wattprint_energy_joules", device="GPU-aaaa", run="")
    cpu = _values(fams, "wattprint_energy_joules", device="cpu-model", basis="modelled")
    assert gpu == [pytest.approx(3000.0)] and cpu == [pytest.approx(400.0)]
    assert _values(fams, "wattprint_power_watts", device="GPU-aaaa") == [pytest.approx(300.0)]
    # CO2e and cost are the energy through wattprint.accounting (FR, 0.2 EUR/kWh)
    from wattprint.accounting import account

    acc = account(3000.0, zone="FR", price_per_kwh=0.2, currency="EUR")
    assert _values(fams, "wattprint_co2e_grams", device="GPU-aaaa", zone="FR") == [
        pytest.approx(acc.co2e_location_g.value)]
    assert _values(fams, "wattprint_cost", device="GPU-aaaa", currency="EUR") == [
        pytest.approx(acc.cost.value)]
    created = _values(fams, "wattprint_energy_joules_created", device="GPU-aaaa")
    assert len(created) == 1 and created[0] > 1e9  # Unix seconds
    info = [s.labels for s in fams["wattprint_device_info"].samples]
    assert {i["sensor"] for i in info} == {"nvml:0", "cpu-model"}
    exp.stop()


def test_every_metric_name_has_its_unit_and_counters_end_in_total(tmp_path):
    clock = Clock()
    exp = _exporter(tmp_path, clock).start(serve=False, background=False)
    _tick(exp, clock, 2.0)
    text = exp.exposition().decode()
    seen = set()
    families = list(text_string_to_metric_families(text))
    counters = {f.name for f in families if f.type == "counter"}
    for fam in families:
        if fam.name.endswith("_created") and fam.name[:-len("_created")] in counters:
            continue  # the text format's creation time of a counter (reset semantics)
        seen.add(fam.name)
        assert fam.name.startswith("wattprint_"), fam.name
        base = fam.name
        if fam.type == "counter":
            names = {s.name for s in fam.samples}
            assert f"{base}_total" in names, (base, names)
            assert names <= {f"{base}_total", f"{base}_created"}, names
        else:
            assert not base.endswith("_total"), f"gauge {base} ends in _total"
        assert base.endswith(UNIT_SUFFIXES) or base.endswith(UNITLESS), \
            f"{base}: no unit suffix ({', '.join(UNIT_SUFFIXES)})"
    # the one definition agrees, and nothing defined is missing from a full scrape
    for name, m in METRICS.items():
        assert (m.kind == "counter") == name.endswith("_total"), name
    assert {m.family for m in METRICS.values()} - seen == {"wattprint_run_info"}
    exp.stop()


def test_naming_check_catches_bad_names():
    """The rule above fails on the mistakes it is there for."""
    def ok(name: str, kind: str) -> bool:
        base = name[:-6] if kind == "counter" and name.endswith("_total") else name
        if kind == "counter" and not name.endswith("_total"):
            return False
        return base.endswith(UNIT_SUFFIXES) or base.endswith(UNITLESS)

    assert ok("wattprint_energy_joules_total", "counter")
    assert not ok("wattprint_energy_joules", "counter")
    assert not ok("wattprint_power", "gauge")
    assert not ok("wattprint_energy_total", "counter")


@given(st.floats(0, 1e12), st.floats(0, 1e12), st.floats(0, 1e12))
def test_advance_never_goes_below_its_base(base, start, now):
    value = advance(base, start, now)
    assert value >= base
    assert value == (base + (now - start) if now > start else base)


# -- faults -------------------------------------------------------------------------------------
def test_sensor_failing_mid_run_keeps_scrapes_and_flags_it(tmp_path):
    clock = Clock()
    sensors = _sensors(clock, fail_after=4)
    exp = _exporter(tmp_path, clock, sensors=sensors).start(serve=False, background=False)
    _tick(exp, clock, 3.0, steps=3)
    before = _families(exp)
    e0 = _values(before, "wattprint_energy_joules", device="GPU-aaaa")[0]
    t0 = _values(before, "wattprint_sensor_last_read_timestamp_seconds", device="GPU-aaaa")[0]
    _tick(exp, clock, 5.0, steps=5)  # reads 5.. fail
    after = _families(exp)
    assert _values(after, "wattprint_sensor_read_errors", device="GPU-aaaa")[0] >= 3
    assert _values(after, "wattprint_sensor_read_errors", device="cpu-model") == [0.0]
    assert _values(after, "wattprint_energy_joules", device="GPU-aaaa")[0] >= e0
    # the failing sensor's last good read stays put: 4-5 s older than the healthy one's
    gpu_ts = _values(after, "wattprint_sensor_last_read_timestamp_seconds", device="GPU-aaaa")
    cpu_ts = _values(after, "wattprint_sensor_last_read_timestamp_seconds", device="cpu-model")
    assert cpu_ts[0] - gpu_ts[0] == pytest.approx(5.0, abs=1.0)
    assert t0 > 0
    exp.stop()


def test_gpu_counter_going_back_never_lowers_the_exported_counter(tmp_path):
    """A driver reset sends NVML's energy counter back: the exported counter holds."""
    from wattprint.sensors._nvml import open_nvml_sensors
    from wattprint.testing.fake_nvml import FakeGPU, FakeNVML

    fake = FakeNVML([FakeGPU(power_w=200.0)])
    sensors = open_nvml_sensors(nvml=fake, visible_devices=None, clock=fake.time,
                                wall_clock=lambda: fake.EPOCH_US / 1e6 + fake.time())
    exp = Exporter(ExporterOptions(state_path=str(tmp_path / "s.json"), zone="FR",
                                   isolated_accounting=False), sensors=sensors,
                   clock=fake.time).start(serve=False, background=False)
    seen = []
    for step in range(12):
        fake.advance(1.0)
        if step == 5:
            fake.rewind_counter(0, 5_000_000)  # 5 kJ back
        exp.node.step(fake.time())
        fams = _families(exp)
        seen.append(_values(fams, "wattprint_energy_joules", domain="gpu")[0])
    assert all(b >= a for a, b in zip(seen, seen[1:])), seen
    assert seen[-1] == pytest.approx(200.0 * 11, rel=0.1)  # one interval lost at most
    exp.stop()


def test_restart_continues_counters_or_resets_with_a_new_created(tmp_path):
    clock = Clock()
    exp = _exporter(tmp_path, clock).start(serve=False, background=False)
    _tick(exp, clock, 10.0, steps=2)
    first = _families(exp)
    e1 = _values(first, "wattprint_energy_joules", device="GPU-aaaa")[0]
    c1 = _values(first, "wattprint_co2e_grams", device="GPU-aaaa")[0]
    created1 = _values(first, "wattprint_energy_joules_created",
                       device="GPU-aaaa")[0]
    # killed without stop(): what was served was saved before it was served
    clock2 = Clock()
    exp2 = _exporter(tmp_path, clock2).start(serve=False, background=False)
    at_start = _families(exp2)
    assert _values(at_start, "wattprint_energy_joules", device="GPU-aaaa")[0] == \
        pytest.approx(e1)
    _tick(exp2, clock2, 4.0)
    second = _families(exp2)
    assert _values(second, "wattprint_energy_joules", device="GPU-aaaa")[0] == \
        pytest.approx(e1 + 1200.0)
    assert _values(second, "wattprint_co2e_grams", device="GPU-aaaa")[0] > c1
    assert _values(second, "wattprint_energy_joules_created",
                   device="GPU-aaaa")[0] == created1
    exp2.stop()
    # the state lost: counters start again from 0 with a later _created (reset semantics)
    os.unlink(tmp_path / "state.json")
    time.sleep(0.01)
    exp3 = _exporter(tmp_path, Clock()).start(serve=False, background=False)
    third = _families(exp3)
    assert _values(third, "wattprint_energy_joules", device="GPU-aaaa") == [0.0]
    assert _values(third, "wattprint_energy_joules_created",
                   device="GPU-aaaa")[0] > created1
    exp3.stop()


def test_corrupt_state_file_is_a_reset_not_a_crash(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    clock = Clock()
    exp = _exporter(tmp_path, clock).start(serve=False, background=False)
    _tick(exp, clock, 1.0)
    assert _values(_families(exp), "wattprint_energy_joules", device="GPU-aaaa") == [
        pytest.approx(300.0)]
    exp.stop()
    assert json.loads((tmp_path / "state.json").read_text())["version"] == 1


# -- runs from the ledger ------------------------------------------------------------------------
def _run_series(exp: Exporter, run_id: str) -> dict:
    fams = _families(exp)
    return {"energy": sum(_values(fams, "wattprint_energy_joules", run=run_id)),
            "info": [s.labels for s in fams.get("wattprint_run_info", type("F", (), {
                "samples": []})()).samples if s.labels.get("run") == run_id]}


def test_running_run_then_deleted_then_gone_after_grace(tmp_path):
    ledger_path = str(tmp_path / "ledger.db")
    clock = Clock()
    with Ledger(ledger_path) as ledger:
        writer = ledger.begin_run(name="train", project="llm", zone="FR",
                                  sensors=_sensors(clock))
        writer.sink(0, writer.t0 + 1.0, 300.0, 300.0)
        writer.sink(1, writer.t0 + 1.0, 40.0, 40.0)
        writer.sink(0, writer.t0 + 2.0, 300.0, 600.0)
        writer.flush()
        exp = _exporter(tmp_path, clock, ledger=ledger_path, grace_s=30.0)
        exp.start(serve=False, background=False)
        seen = _run_series(exp, writer.run_id)
        assert seen["energy"] == pytest.approx(640.0)
        assert seen["info"][0]["project"] == "llm" and seen["info"][0]["status"] == "running"
        ledger.delete([writer.run_id], force=True)
        writer.abandon()
        # a new run takes the deleted row's place (SQLite reuses the highest rowid)
        second = ledger.begin_run(name="next", sensors=_sensors(clock))
        second.sink(0, second.t0 + 1.0, 300.0, 123.0)
        second.flush()
        clock.t += 5.0
        gone = _run_series(exp, writer.run_id)
        assert _run_series(exp, second.run_id)["energy"] == pytest.approx(123.0)
        second.abandon()
    assert gone["energy"] == pytest.approx(640.0)  # kept through the grace period
    assert gone["info"][0]["status"] == "deleted"
    clock.t += 35.0
    assert _run_series(exp, writer.run_id) == {"energy": 0, "info": []}
    exp.stop()


def test_run_of_a_dead_process_keeps_its_last_figures(tmp_path):
    ledger_path = str(tmp_path / "ledger.db")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    clock = Clock()
    try:
        with Ledger(ledger_path) as ledger:
            writer = ledger.begin_run(name="job", sensors=_sensors(clock), pid=child.pid)
            writer.sink(0, writer.t0 + 1.0, 250.0, 250.0)
            writer.flush()
            exp = _exporter(tmp_path, clock, ledger=ledger_path)
            exp.start(serve=False, background=False)
            assert _run_series(exp, writer.run_id)["energy"] == pytest.approx(250.0)
            child.kill()
            child.wait()
            clock.t += 10.0  # past the liveness recheck (5 s)
            after = _run_series(exp, writer.run_id)
            assert after["energy"] == pytest.approx(250.0)
            assert after["info"][0]["status"] == "interrupted"
            writer.abandon()
            exp.stop()
    finally:
        child.kill()


def test_finished_run_reports_the_ledgers_figures(tmp_path):
    ledger_path = str(tmp_path / "ledger.db")
    exp = _exporter(tmp_path, Clock(), ledger=ledger_path)
    exp.start(serve=False, background=False)
    run = wattprint.track("ft", ledger=ledger_path, project="p1", zone="FR",
                          sensors=[FakeSensor(200.0, name="nvml:0", provenance={"uuid": "GPU-b"}),
                                   FakeSensor(20.0, name="dram", domain="dram")],
                          settings={"price_per_kwh": 0.3, "currency": "EUR"}, job="job-7")
    with run:
        deadline = time.monotonic() + 60  # the run's writer flushes every second or so
        while _run_series(exp, run.run_id)["energy"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            exp.runs.refresh(force=True)
        live = _run_series(exp, run.run_id)
        assert live["energy"] > 0 and live["info"][0]["job_id"] == "job-7"
    exp.runs.refresh(force=True)
    fams = _families(exp)
    with Ledger(ledger_path, readonly=True) as ledger:
        record = ledger.get(run.run_id)
    assert record.status == "finished"
    by_device = {s.labels["device"]: s.value for s in fams["wattprint_energy_joules"].samples
                 if s.name.endswith("_total") and s.labels.get("run") == run.run_id}
    assert by_device == {"GPU-b": pytest.approx(record.devices[0].energy_j, rel=1e-12),
                         "dram": pytest.approx(record.devices[1].energy_j, rel=1e-12)}
    assert sum(by_device.values()) == pytest.approx(record.energy_j, rel=1e-12)
    from wattprint.report._data import build_report

    with Ledger(ledger_path, readonly=True) as ledger:
        report = build_report(ledger, run.run_id)
    co2e = sum(_values(fams, "wattprint_co2e_grams", run=run.run_id))
    assert co2e == pytest.approx(report.carbon["co2e_location_g"], rel=1e-6)
    cost = sum(_values(fams, "wattprint_cost", run=run.run_id, currency="EUR"))
    assert cost == pytest.approx(record.energy_j / 3.6e6 * 0.3, rel=1e-9)
    info = [s.labels for s in fams["wattprint_run_info"].samples]
    assert info[0]["status"] == "finished" and info[0]["rank"] == "0"
    exp.stop()


def test_hourly_zone_prices_each_hour_of_a_run_as_the_report_does(tmp_path):
    """A run in a zone with hourly intensities (DE, 2023 hourly data) that crosses a clock
    hour: the exported CO2e counter weights each hour by the energy used in it, as
    ``account()`` does for the report — not the whole run at its start hour — and an
    exporter restarted on the same ledger exposes the same figure."""
    import sqlite3
    from datetime import datetime, timezone

    from wattprint.accounting import account, hourly_intensity

    start = datetime(2023, 3, 4, 9, 59, 0, tzinfo=timezone.utc)
    nine, ten = (hourly_intensity("DE", datetime(2023, 3, 4, h, tzinfo=timezone.utc), 3600)
                 for h in (9, 10))
    assert nine is not None and ten is not None and abs(nine.value - ten.value) > 1
    ledger_path = str(tmp_path / "ledger.db")
    clock = Clock()
    with Ledger(ledger_path) as ledger:
        writer = ledger.begin_run(name="de", zone="DE", sensors=_sensors(clock))
        with sqlite3.connect(ledger_path) as conn:  # recorded at 09:59:00 UTC
            conn.execute("UPDATE runs SET started_at = ? WHERE id = ?",
                         (start.isoformat(timespec="milliseconds"), writer.run_id))
        for k in range(1, 13):  # 100 W for 120 s: 60 s before 10:00, 60 s after
            writer.sink(0, writer.t0 + 10.0 * k, 100.0, 1000.0 * k)
        writer.flush()
        exposed = []
        for _ in range(2):  # a restarted exporter reads the same ledger the same way
            exp = _exporter(tmp_path, clock, ledger=ledger_path)
            exp.start(serve=False, background=False)
            exposed.append(sum(_values(_families(exp), "wattprint_co2e_grams",
                                       run=writer.run_id)))
            exp.stop()
        writer.abandon()
    expected = account(12000.0, zone="DE", when=start, duration_s=120.0,
                       power_trace=[(10.0 * k, 100.0) for k in range(13)])
    assert expected.co2e_location_g.value == pytest.approx(
        account(6000.0, zone="DE", when=start).co2e_location_g.value
        + account(6000.0, zone="DE", when=start.replace(hour=10, minute=0)
                  ).co2e_location_g.value, rel=1e-9)  # half the energy in each hour
    assert exposed[0] == pytest.approx(expected.co2e_location_g.value, rel=1e-9)
    assert exposed[1] == exposed[0]


def test_in_process_series_price_each_increment_at_the_hour_it_was_seen():
    """``track(prometheus_port=...)``: energy seen before 10:00 is priced at 09:00's
    intensity, what came after at 10:00's (DE's hourly data, 2023); the final figures after
    stop keep that split, and a final energy below a live one scales both down."""
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from wattprint.telemetry._factors import factors
    from wattprint.telemetry._inprocess import RunTelemetry

    now = [datetime(2023, 3, 4, 9, 59, 30, tzinfo=timezone.utc)]
    total = SimpleNamespace(attributed_j=0.0, pending_j=0.0, provisional_share=0.0,
                            power_w=100.0)
    sensor = FakeSensor(100.0, name="nvml:0", domain="gpu", provenance={"uuid": "GPU-c"})
    tracker = SimpleNamespace(run_id="r1", name="de", project="", job=None,
                              _sampler=SimpleNamespace(sensors=[sensor], totals=[total]))
    tel = RunTelemetry(tracker, zone="DE", now=lambda: now[0])

    def co2e() -> float:
        return sum(s.value for s in tel.series() if s.name == "wattprint_co2e_grams_total")

    f9, f10 = (factors("DE", when=datetime(2023, 3, 4, h, tzinfo=timezone.utc))
               for h in (9, 10))
    assert abs(f9.co2e_g_per_j - f10.co2e_g_per_j) > 1e-9
    total.attributed_j = 3000.0
    assert co2e() == pytest.approx(3000.0 * f9.co2e_g_per_j, rel=1e-12)
    now[0] = datetime(2023, 3, 4, 10, 0, 30, tzinfo=timezone.utc)
    total.attributed_j = 9000.0
    live = co2e()
    assert live == pytest.approx(3000.0 * f9.co2e_g_per_j + 6000.0 * f10.co2e_g_per_j,
                                 rel=1e-12)
    tel._result = SimpleNamespace(status="finished", devices=[SimpleNamespace(
        name="nvml:0", provenance={"uuid": "GPU-c"}, domain="gpu", kind="measured",
        energy_j=8100.0, counted=True)])
    assert co2e() == pytest.approx(live * 0.9, rel=1e-12)


# -- in process ----------------------------------------------------------------------------------
def test_track_serves_its_run_and_stops_serving(tmp_path):
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with wattprint.track("svc", prometheus_port=port, project="p",
                         sensors=[FakeSensor(100.0, name="nvml:0")]) as run:
        def scrape() -> list[float]:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                          timeout=5).read()
            fams = {f.name: f for f in text_string_to_metric_families(text.decode())}
            return _values(fams, "wattprint_energy_joules", run="svc", project="p")

        assert until(lambda: (scrape() or [0])[0] > 0)  # once the sampler has read
        live = scrape()
        assert live and live[0] > 0
    assert live[0] <= run.result.energy_j
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_pushgateway_receives_the_final_figures(tmp_path):
    bodies: list[tuple[str, str, bytes]] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - the Pushgateway's verb for push_to_gateway
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with wattprint.track("batch", prometheus_pushgateway=url,
                             sensors=[FakeSensor(50.0, name="nvml:0")]) as run:
            time.sleep(0.2)
    finally:
        server.shutdown()
    assert len(bodies) == 1
    method, path, body = bodies[0]
    assert method == "PUT" and path.startswith("/metrics/job/wattprint/") and "run/batch" in path
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert _values(fams, "wattprint_energy_joules", run="batch") == [
        pytest.approx(run.result.energy_j)]


def test_pushgateway_down_never_fails_the_run():
    with wattprint.track("b", prometheus_pushgateway="http://127.0.0.1:9",
                         sensors=[FakeSensor(50.0)]) as run:
        pass
    assert run.result.status == "finished"


def test_otel_bridge_reports_the_same_figures():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    run = wattprint.track("otel-run", otel=provider, project="p", zone="FR",
                          sensors=[FakeSensor(120.0, name="nvml:0", provenance={"uuid": "GPU-o"}),
                                   FakeSensor(10.0, name="cpu-model", domain="cpu",
                                              kind="modelled")])
    with run:
        # once the sampler has read (a loaded machine may take longer than the usual 20 ms)
        assert until(lambda: _otel_points(reader).get("wattprint.energy", {}).get("GPU-o"))
        live = _otel_points(reader)
        assert live["wattprint.energy"]["GPU-o"] > 0
        assert live["wattprint.power"]["GPU-o"] == pytest.approx(120.0, rel=0.05)
    final = _otel_points(reader)
    devices = {d.name: d.energy_j for d in run.result.devices}
    assert final["wattprint.energy"] == {"GPU-o": pytest.approx(devices["nvml:0"]),
                                         "cpu-model": pytest.approx(devices["cpu-model"])}
    from wattprint.accounting import account

    assert sum(final["wattprint.co2e"].values()) == pytest.approx(
        account(run.result.energy_j, zone="FR").co2e_location_g.value, rel=1e-9)
    provider.shutdown()


def _otel_points(reader) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    out.setdefault(metric.name, {})[point.attributes["device"]] = point.value
                    assert point.attributes["basis"] in ("measured", "modelled")
    return out


def test_otel_true_uses_the_global_provider_in_a_fresh_process(tmp_path):
    code = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "from wattprint.testing import FakeSensor\nimport wattprint, time\n"
        "reader = InMemoryMetricReader()\n"
        "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
        "with wattprint.track('g', otel=True, sensors=[FakeSensor(80.0)]) as run:\n"
        "    time.sleep(0.2)\n"
        "pts = [p.value for rm in reader.get_metrics_data().resource_metrics\n"
        "       for sm in rm.scope_metrics for m in sm.metrics if m.name == 'wattprint.energy'\n"
        "       for p in m.data.data_points]\n"
        "assert pts == [run.result.energy_j], (pts, run.result.energy_j)\n"
        "print('ok')\n")
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..", "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


# -- validation and lightness ------------------------------------------------------------------
@pytest.mark.parametrize("kw, needle", [
    ({"prometheus_port": 0}, "prometheus_port=0: a TCP port must be"),
    ({"prometheus_port": 70000}, "prometheus_port=70000"),
    ({"prometheus_port": "localhost"}, "HOST:PORT"),
    ({"prometheus_pushgateway": "gateway:9091"}, "Pushgateway's URL"),
    ({"otel": "yes"}, "otel='yes'"),
])
def test_bad_telemetry_options_are_usage_errors(kw, needle):
    with pytest.raises(UsageError, match=re.escape(needle)):
        wattprint.track("x", sensors=[FakeSensor()], **kw)


def test_import_wattprint_stays_light():
    code = ("import sys, wattprint, wattprint.telemetry\n"
            "bad = [m for m in ('prometheus_client', 'opentelemetry') if m in sys.modules]\n"
            "assert not bad, bad\n")
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..", "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


@pytest.mark.parametrize("args, needle", [
    (["--port", "0"], "--port 0: a TCP port"),
    (["--rate-hz", "nan"], "--rate-hz nan"),
    (["--grace-s", "-1"], "--grace-s -1"),
    (["--zone", "Atlantis"], "Atlantis"),
])
def test_exporter_cli_rejects_bad_values(tmp_path, args, needle):
    assert_clean_error(wp(tmp_path, "exporter", "--state", str(tmp_path / "s.json"), *args),
                       needle)


# -- Grafana -----------------------------------------------------------------------------------
def test_grafana_dashboard_is_valid_and_queries_exported_metrics():
    with open(grafana_dashboard_path(), encoding="utf-8") as f:
        dash = json.load(f)
    for key in ("title", "uid", "schemaVersion", "panels", "templating", "time", "version"):
        assert key in dash, key
    assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 30
    families = {m.family for m in METRICS.values()}
    exported = {m.name for m in METRICS.values()} | families
    ids, exprs = set(), []
    for panel in dash["panels"]:
        for key in ("id", "type", "title", "gridPos", "targets", "datasource"):
            assert key in panel, (panel.get("title"), key)
        assert panel["id"] not in ids
        ids.add(panel["id"])
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        for target in panel["targets"]:
            assert target["refId"] and target["expr"]
            exprs.append(target["expr"])
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["definition"])
    for expr in exprs:
        names = set(re.findall(r"\bwattprint_[a-z0-9_]+", expr))
        assert names, expr
        assert names <= exported, (expr, names - exported)
        assert "__" not in expr.replace("$__range", "")
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for needed in ("per project", "per job", "per device", "measured vs modelled", "co2e"):
        assert needed in titles, needed


def test_built_in_exposition_matches_prometheus_clients(tmp_path):
    """/metrics is rendered by wattprint's own renderer (label parts cached); it must say
    exactly what prometheus_client's generate_latest says for the same series, escaping
    included."""
    from prometheus_client import generate_latest

    clock = Clock()
    sensors = _sensors(clock) + [FakeSensor(5.0, name='odd"name\\x', domain="ram",
                                            kind="modelled", clock=clock,
                                            provenance={"uuid": 'GPU-"q"\n\\'})]
    exp = _exporter(tmp_path, clock, sensors=sensors).start(serve=False, background=False)
    _tick(exp, clock, 3.0)
    series = exp.series()

    def parsed(text: str) -> list:
        return sorted((f.name, f.type, f.documentation, s.name, tuple(sorted(s.labels.items())),
                       s.value) for f in text_string_to_metric_families(text)
                      for s in f.samples)

    from wattprint.telemetry._exposition import Renderer
    from wattprint.telemetry._prometheus import registry_for

    ours = Renderer().render(series).decode()
    theirs = generate_latest(registry_for(lambda: series)).decode()
    assert parsed(ours) == parsed(theirs)
    assert 'device="GPU-\\"q\\"\\n\\\\"' in ours
    exp.stop()


def test_exporter_serves_without_prometheus_client(tmp_path):
    """The daemon's path (render + HTTP) never imports prometheus_client."""
    code = (
        "import sys, urllib.request\n"
        "from wattprint.telemetry.exporter import Exporter, ExporterOptions\n"
        "from wattprint.testing import FakeSensor\n"
        f"e = Exporter(ExporterOptions(port=0 or {_port()}, state_path=''),"
        " sensors=[FakeSensor(10.0)]).start()\n"
        f"body = urllib.request.urlopen('http://127.0.0.1:{{}}/metrics'.format("
        "e.options.port)).read()\n"
        "e.stop()\n"
        "assert b'wattprint_energy_joules_total' in body\n"
        "assert 'prometheus_client' not in sys.modules\n")
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..", "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_isolated_accounting_gives_the_same_factors_from_a_child():
    from datetime import datetime, timezone

    from wattprint.telemetry._factors import IsolatedFactors, factors

    iso = IsolatedFactors()
    when = datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc)
    assert iso("DE", when=when, pue=1.2, price_per_kwh=0.3, currency="EUR") is None
    iso.wait()
    assert iso("DE", when=when, pue=1.2, price_per_kwh=0.3, currency="EUR") == factors(
        "DE", when=when, pue=1.2, price_per_kwh=0.3, currency="EUR")
