"""The dashboard in real Chromium (Debian ``chromium`` driven by Playwright): a real team
server (``wattprint server`` as a subprocess, SQLite in a temporary folder, 127.0.0.1),
tokens made with ``wattprint server token create``, and runs recorded in a local ledger
with the testing fakes and POSTed as ``wattprint.run/1`` payloads (``_dashboard_data``).

Every page is checked for console errors and for requests to any other origin (Playwright
sees every request of the page and its frames); a hostile run name must stay text.
Chromium is a test requirement (``.ci/run`` installs it): missing, these tests fail."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import pytest

from _dashboard_data import (HOSTILE_NAME, HOSTILE_TAG, Fleet, build_and_push,
                             start_team_server)
from wattprint._format import (format_duration, format_energy, format_mass, format_money,
                               format_number, format_power, format_water)

pytestmark = [pytest.mark.services, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"


# -- the server and its data -----------------------------------------------------------------
@dataclass
class Team:
    base: str
    tokens: dict[str, str]
    fleet: Fleet

    def get(self, path: str, token: str = "vision") -> bytes:
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": f"Bearer {self.tokens[token]}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    def json(self, path: str, token: str = "vision") -> Any:
        return json.loads(self.get(path, token))


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    """A running server with tokens: vision and nlp (write), reader (vision, read-only),
    admin; and the fleet of ``_dashboard_data`` pushed to it."""
    folder = tmp_path_factory.mktemp("team")
    server = start_team_server(folder)
    try:
        fleet = build_and_push(str(folder / "ledger.db"), server.base, server.tokens)
        yield Team(server.base, server.tokens, fleet)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pg_team(tmp_path_factory, postgres_cluster) -> Iterator[Team]:
    """The same server and fleet over a fresh PostgreSQL database."""
    folder = tmp_path_factory.mktemp("pg-team")
    server = start_team_server(folder, postgres_cluster.new_database())
    try:
        fleet = build_and_push(str(folder / "ledger.db"), server.base, server.tokens)
        yield Team(server.base, server.tokens, fleet)
    finally:
        server.stop()


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (/usr/bin/chromium): the dashboard tests need "
                    "it; .ci/run installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


class Tab:
    """One browser tab on the dashboard, recording console errors, page errors, dialogs,
    every request (of the page and its frames) and downloads."""

    def __init__(self, browser: Any, team: Team) -> None:
        self.team = team
        self.context = browser.new_context(accept_downloads=True)
        self.context.set_default_timeout(120_000)  # Playwright's 30 s, on a loaded machine
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def renders(self) -> int:
        return int(self.page.evaluate(
            "() => document.getElementById('main')?.dataset.renders || 0"))

    def rendered(self, action: Callable[[], Any]) -> None:
        """Do ``action`` and wait until the dashboard finished drawing the page it led to."""
        before = self.renders()
        action()
        # polled from here: wait_for_function evaluates a string, which the page's CSP
        # (no 'unsafe-eval') refuses
        deadline = time.monotonic() + 120
        while self.renders() <= before:
            assert time.monotonic() < deadline, f"no page drawn after {action}"
            self.page.wait_for_timeout(50)

    def goto(self, hash_: str) -> None:
        if not self.page.url.startswith(self.team.base):
            self.page.goto(self.team.base + "/" + hash_)
            self.page.wait_for_selector("main[data-renders]")
            return
        self.rendered(lambda: self.page.evaluate("h => { location.hash = h; }", hash_))

    def sign_in(self, token: str = "vision") -> None:
        self.page.goto(self.team.base + "/")
        self.page.wait_for_selector("#login")
        self.page.fill("#token", self.team.tokens[token])
        self.rendered(lambda: self.page.click("#login button[type=submit]"))
        assert self.page.locator("main").get_attribute("data-ready") == "/"

    def foreign_requests(self) -> list[str]:
        own = self.team.base + "/"
        return [u for u in self.requests
                if not (u.startswith(own) or u.startswith(("blob:", "data:", "about:")))]

    def assert_clean(self, expected_status: int | None = None) -> None:
        """No console error (but the one Chromium logs for an API answer of
        ``expected_status`` a test asked for), no request elsewhere, no dialog."""
        errors = [e for e in self.errors if expected_status is None or
                  f"status of {expected_status} " not in e]
        assert not errors, errors
        assert not self.foreign_requests(), self.foreign_requests()
        assert not self.dialogs, self.dialogs

    def column(self, table: str, col: str) -> list[str]:
        return self.page.locator(f"table[data-table={table}] td[data-col={col}]").all_inner_texts()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, team) -> Iterator[Tab]:
    t = Tab(browser, team)
    yield t
    t.close()


def _download(tab: Tab, button: str) -> bytes:
    with tab.page.expect_download() as info:
        tab.page.click(button)
    with open(info.value.path(), "rb") as fh:
        return fh.read()


# -- tests -----------------------------------------------------------------------------------
def test_dashboard_responses_carry_a_strict_policy(team):
    with urllib.request.urlopen(team.base + "/", timeout=10) as resp:
        csp = resp.headers["Content-Security-Policy"]
        page = resp.read().decode()
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert scripts and all(not s.strip() for s in scripts), "inline script in index.html"
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)
    with urllib.request.urlopen(team.base + "/static/app.js", timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/javascript")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        etag = resp.headers["ETag"]
    again = urllib.request.Request(team.base + "/static/app.js", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as err:  # urllib raises on 304
        urllib.request.urlopen(again, timeout=10)
    assert err.value.code == 304
    for bad in ("/static/nothing.js", "/static/..%2F_dashboard.py"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(team.base + bad, timeout=10)
        assert err.value.code == 404


def test_numbers_are_formatted_as_the_cli_formats_them(tab, team):
    rng = random.Random(12)
    values = [0, 1, 2.5, 4_050_000, 999.95, 999.5, 0.5, 1e-9, 3.6e21, 12_345.678, 0.012345,
              9_999.995, 1e6 - 0.5, 86_400, 3_600, 1.125 * 3.6e6]
    values += [10 ** rng.uniform(-8, 22) for _ in range(600)]
    values += [rng.randint(0, 10 ** 7) / rng.choice([1, 8, 100, 1000]) for _ in range(300)]
    tab.page.goto(team.base + "/")
    got = tab.page.evaluate("""async (values) => {
        const f = await import('/static/format.js');
        return values.map((v) => [f.formatEnergy(v), f.formatMass(v, {co2e: true}),
            f.formatWater(v), f.formatMoney(v, 'EUR'), f.formatDuration(v),
            f.formatNumber(v), f.formatPower(v)]);
    }""", values)
    want = [[format_energy(v), format_mass(v, co2e=True), format_water(v),
             format_money(v, "EUR"), format_duration(v), format_number(v), format_power(v)]
            for v in values]
    mismatches = [(v, g, w) for v, g, w in zip(values, got, want) if g != w]
    assert not mismatches, mismatches[:5]


def _week_total(team: Team, token: str, key: str) -> float:
    return sum(g[key] for g in team.json("/api/v1/summary?group_by=week", token)["groups"])


def test_overview_draws_energy_and_co2e_per_project_per_week(tab, team):
    tab.sign_in("admin")
    page = tab.page
    assert page.inner_text("#identity") == "all projects · admin"
    for chart, key in (("energy-weekly", "energy_j"), ("co2e-weekly", "co2e_g")):
        marks = page.locator(f"figure[data-chart={chart}] rect.mark")
        series = {m.get_attribute("data-series") for m in marks.all()}
        assert series == {"vision", "nlp"}
        drawn = sum(float(v) for v in marks.evaluate_all(
            "ms => ms.map((m) => m.getAttribute('data-value'))"))
        assert drawn == pytest.approx(_week_total(team, "admin", key), rel=1e-9)
        heights = marks.evaluate_all("ms => ms.map((m) => m.getBBox().height)")
        assert all(h > 0 for h in heights)
    by_project = {g["key"]: g for g in team.json("/api/v1/summary?group_by=project",
                                                 "admin")["groups"]}
    shares = page.locator("figure[data-chart=measured-share] rect.mark[data-series=measured]")
    assert {m.get_attribute("data-category"): float(m.get_attribute("data-value"))
            for m in shares.all()} == pytest.approx(
        {k: g["measured_share"] for k, g in by_project.items()})
    assert page.locator("#totals").inner_text().count("kWh") >= 1
    assert format_energy(sum(g["energy_j"] for g in by_project.values())) in \
        page.inner_text("#totals")
    top = team.json("/api/v1/runs?sort=-energy_j&limit=10", "admin")["runs"]
    assert tab.column("top-runs", "name") == [r["name"] for r in top]
    assert tab.column("top-runs", "energy_j")[0].startswith(format_energy(top[0]["energy_j"]))
    tab.assert_clean()


def test_a_project_token_sees_its_project_only(tab, team):
    tab.sign_in("vision")
    assert tab.page.inner_text("#identity") == "project vision · read-write"
    series = {m.get_attribute("data-series") for m in
              tab.page.locator("figure[data-chart=energy-weekly] rect.mark").all()}
    assert series == {"vision"}
    tab.goto("#/runs")
    assert len(tab.column("runs", "name")) == len(team.fleet.of(project="vision")) == 30
    assert not tab.page.locator("input[name=project]").count()
    nlp_run = team.fleet.of(project="nlp")[0]
    tab.goto(f"#/run/{nlp_run}")
    assert "Not found (404)" in tab.page.inner_text("main")
    tab.assert_clean(expected_status=404)


def _apply(tab: Tab, **fields: str) -> list[str]:
    """Fill the run filters (others cleared), apply, and return the run ids listed."""
    page = tab.page
    for name in ("q", "user", "host", "tag", "accelerator", "since", "until"):
        page.fill(f"#filters [name={name}]", fields.get(name, ""))
    page.select_option("#filters [name=status]", fields.get("status", ""))
    page.select_option("#filters [name=limit]", fields.get("limit", "50"))
    tab.rendered(lambda: page.click("#filters button[type=submit]"))
    return page.locator("table[data-table=runs] input[data-run]").evaluate_all(
        "bs => bs.map((b) => b.dataset.run)")


def test_filters_change_the_list(tab, team):
    tab.sign_in("vision")
    tab.goto("#/runs")
    fleet = team.fleet
    assert set(_apply(tab, host="gpu-node-1")) == set(fleet.of(project="vision", host="gpu-node-1"))
    assert set(tab.column("runs", "host")) == {"gpu-node-1"}
    assert set(_apply(tab, user="bob")) == set(fleet.of(project="vision", user="bob"))
    assert set(_apply(tab, tag="baseline")) == set(fleet.of(project="vision", tag="baseline"))
    assert set(_apply(tab, status="stopped")) == set(fleet.of(project="vision", status="stopped"))
    assert len(fleet.of(project="vision", status="stopped")) == 2
    assert set(_apply(tab, q="LR2")) == {i for i, r in fleet.runs.items()
                                         if "lr2" in (r["name"] or "")}
    accel = team.json("/api/v1/runs?limit=1")["runs"][0]["accelerator"]
    assert "A100" in accel
    assert len(_apply(tab, accelerator=accel)) == 30
    assert _apply(tab, accelerator="NVIDIA H100 80GB HBM3") == []
    assert "No run matches" in tab.page.inner_text("main")
    since = (datetime.now(timezone.utc) - timedelta(days=10)).date()
    want = {i for i, r in fleet.runs.items() if r["project"] == "vision"
            and datetime.fromisoformat(r["started_at"]).date() >= since}
    assert 0 < len(want) < 30
    assert set(_apply(tab, since=since.isoformat())) == want
    assert "since=" in tab.page.url  # the filters live in the URL: a link keeps them
    for odd in ("' OR '1'='1", "%", "_", "\\", "lr0%' --"):  # matched as text, not SQL
        assert _apply(tab, q=odd) == []
    tab.assert_clean()


def test_paging_walks_every_run_once(tab, team):
    tab.sign_in("vision")
    tab.goto("#/runs?limit=25")
    page = tab.page
    first = tab.column("runs", "name")
    assert len(first) == 25 and page.is_disabled("#prev-page")
    tab.rendered(lambda: page.click("#next-page"))
    second = tab.column("runs", "name")
    assert len(second) == 5 and page.is_disabled("#next-page")
    listed = first + second
    names = sorted(r["name"] for r in team.fleet.runs.values() if r["project"] == "vision")
    assert sorted(listed) == names
    tab.rendered(lambda: page.click("#prev-page"))
    assert tab.column("runs", "name") == first
    tab.assert_clean()


def test_run_page_shows_the_report_with_its_charts(tab, team):
    tab.sign_in("vision")
    tab.goto("#/runs")
    run_id = team.fleet.of(project="vision", status="stopped")[0]
    link = tab.page.locator(f"a.run-link[href='#/run/{run_id}']")
    tab.rendered(lambda: link.click())
    assert tab.page.inner_text("#run-name") == team.fleet.runs[run_id]["name"]
    frame = tab.page.frame_locator("#report")
    charts = frame.locator("figure[data-chart]")
    assert charts.count() >= 2
    lines = frame.locator("figure[data-chart] svg polyline")
    points = lines.evaluate_all("ls => ls.map((l) => l.points.numberOfItems)")
    assert points and max(points) >= 50  # the power series, drawn
    assert frame.locator("svg").first.evaluate("s => s.getBoundingClientRect().width") > 200
    assert tab.page.get_attribute("#report", "sandbox") == ""
    detail = team.json(f"/api/v1/runs/{run_id}")
    devices = list(csv.DictReader(io.StringIO(_download(
        tab, f"button[data-csv='wattprint-{run_id}-devices.csv']").decode())))
    assert [(d["name"], float(d["energy_j"])) for d in devices] == \
        [(d["name"], d["energy_j"]) for d in detail["devices"]]
    power = list(csv.DictReader(io.StringIO(_download(
        tab, f"button[data-csv='wattprint-{run_id}-power.csv']").decode())))
    assert len(power) == sum(len(s["t"]) for s in detail["power"]) > 0
    tab.assert_clean()


def test_compare_shows_both_runs(tab, team):
    tab.sign_in("vision")
    tab.goto("#/runs")
    a, b = team.fleet.of(project="vision", host="gpu-node-2")[:2]
    page = tab.page
    page.check(f"input[data-run='{a}']")
    assert page.is_disabled("#compare-picked")
    page.check(f"input[data-run='{b}']")
    tab.rendered(lambda: page.click("#compare-picked"))
    cards = page.locator(".card[data-run]")
    assert cards.evaluate_all("cs => cs.map((c) => c.dataset.run)") == [a, b]
    want = team.json(f"/api/v1/compare?a={a}&b={b}")
    for name in (team.fleet.runs[a]["name"], team.fleet.runs[b]["name"]):
        assert name in page.inner_text(".cards")
    energy = next(r for r in want["rows"] if r["figure"] == "IT energy")
    row = page.locator("table[data-table=compare] tr", has_text="IT energy")
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == format_energy(energy["values"][0])
    assert cells[2].startswith(format_energy(energy["values"][1]))
    assert f"{energy['changes'][1] * 100:+.1f}%" in cells[2]
    frame = page.frame_locator("#compare-report")
    assert frame.locator("figure[data-chart]").count() >= 1
    tab.assert_clean()


def test_a_run_is_compared_with_one_found_under_other_filters(tab, team):
    first = team.fleet.of(project="vision", host="gpu-node-1")[0]
    second = team.fleet.of(project="vision", host="gpu-node-2")[-1]
    tab.sign_in("vision")
    page = tab.page
    tab.goto(f"#/run/{first}")
    tab.rendered(lambda: page.click("#compare-with"))
    assert page.is_checked(f"input[data-run='{first}']")
    assert page.is_disabled("#compare-picked")
    assert _apply(tab, host="gpu-node-2")  # the first run is not on this page any more
    assert team.fleet.runs[first]["name"] in page.inner_text("#picked")
    page.check(f"input[data-run='{second}']")
    tab.rendered(lambda: page.click("#compare-picked"))
    assert page.locator(".card[data-run]").evaluate_all(
        "cs => cs.map((c) => c.dataset.run)") == [first, second]
    tab.assert_clean()


def test_csv_downloads_match_the_api(tab, team):
    tab.sign_in("vision")
    projects_csv = _download(tab, "button[data-csv='projects.csv']")
    asked = [u for u in tab.requests if "/api/v1/summary.csv" in u]
    assert len(asked) == 1
    assert projects_csv == team.get(asked[0][len(team.base):])
    rows = list(csv.DictReader(io.StringIO(projects_csv.decode())))
    assert [r["key"] for r in rows] == ["vision"] and int(rows[0]["runs"]) == 30

    tab.goto("#/runs")
    _apply(tab, host="gpu-node-2")
    runs_csv = _download(tab, "button[data-csv='runs.csv']")
    assert runs_csv == team.get("/api/v1/runs.csv?host=gpu-node-2")
    listed = {r["id"] for r in csv.DictReader(io.StringIO(runs_csv.decode()))}
    assert listed == set(team.fleet.of(project="vision", host="gpu-node-2"))

    a, b = team.fleet.of(project="vision", host="gpu-node-1")[:2]
    tab.goto(f"#/compare?a={a}&b={b}")
    compare_csv = _download(tab, "button[data-csv='comparison.csv']").decode()
    table = list(csv.reader(io.StringIO(compare_csv)))
    assert table[0] == ["figure", "unit", a, b]
    want = team.json(f"/api/v1/compare?a={a}&b={b}")["rows"]
    assert [r[0] for r in table[1:]] == [r["figure"] for r in want]
    for got, row in zip(table[1:], want):
        assert [float(x) if x else None for x in got[2:]] == row["values"]
    tab.assert_clean()


def test_a_run_named_with_markup_stays_text(tab, team):
    hostile = team.fleet.of(name=HOSTILE_NAME)
    assert len(hostile) == 1
    tab.sign_in("vision")
    page = tab.page
    tab.goto("#/runs?q=onerror")
    assert tab.column("runs", "name") == [HOSTILE_NAME]
    assert HOSTILE_TAG in tab.column("runs", "tags")[0]
    tab.rendered(lambda: page.click("a.run-link"))
    assert page.inner_text("#run-name") == HOSTILE_NAME
    frame = page.frame_locator("#report")
    assert HOSTILE_NAME in frame.locator("h1").inner_text()
    tab.goto("#/runs?sort=-energy_j&limit=200")
    tab.goto("#/")
    # nothing of the name became an element, ran, or fetched its image
    for scope in (page, frame):
        assert scope.locator("img").count() == 0
        assert scope.locator("main script").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert not any(u.rstrip("/").endswith("/x") for u in tab.requests)
    tab.assert_clean()  # no dialog: alert() never ran


def test_a_read_only_token_can_view(tab, team):
    tab.sign_in("reader")
    assert tab.page.inner_text("#identity") == "project vision · read-only"
    assert tab.page.locator("figure[data-chart=energy-weekly] rect.mark").count() > 0
    tab.goto("#/runs")
    assert len(tab.column("runs", "name")) == 30
    run_id = team.fleet.of(project="vision")[0]
    tab.goto(f"#/run/{run_id}")
    assert tab.page.frame_locator("#report").locator("figure[data-chart]").count() >= 2
    tab.assert_clean()


def test_every_page_on_postgresql(browser, pg_team):
    """The week keys, sums and paging of PostgreSQL draw the same pages."""
    tab = Tab(browser, pg_team)
    try:
        tab.sign_in("admin")
        marks = tab.page.locator("figure[data-chart=energy-weekly] rect.mark")
        drawn = sum(float(v) for v in marks.evaluate_all(
            "ms => ms.map((m) => m.getAttribute('data-value'))"))
        assert drawn == pytest.approx(_week_total(pg_team, "admin", "energy_j"), rel=1e-9)
        weeks = tab.page.locator("figure[data-chart=energy-weekly] text.tick").all_text_contents()
        assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", w) for w in weeks), weeks
        tab.goto("#/runs?limit=25&host=gpu-node-1")
        assert set(_apply(tab, host="gpu-node-1", limit="25")) == set(
            pg_team.fleet.of(host="gpu-node-1"))
        a, b = pg_team.fleet.of(project="nlp")[:2]
        tab.goto(f"#/run/{a}")
        assert tab.page.frame_locator("#report").locator("figure[data-chart]").count() >= 2
        tab.goto(f"#/compare?a={a}&b={b}")
        assert tab.page.locator(".card[data-run]").count() == 2
        tab.assert_clean()
    finally:
        tab.close()


def test_a_link_leads_through_the_sign_in_to_its_page(tab, team):
    run_id = team.fleet.of(project="vision", user="bob")[0]
    page = tab.page
    page.goto(f"{team.base}/#/run/{run_id}")
    page.wait_for_selector("#login")
    page.fill("#token", team.tokens["reader"])
    tab.rendered(lambda: page.click("#login button[type=submit]"))
    assert page.url.endswith(f"#/run/{run_id}")
    assert page.inner_text("#run-name") == team.fleet.runs[run_id]["name"]
    page.reload()  # the token is kept for the tab: no second sign-in
    page.wait_for_selector("main[data-ready^='/run/']")
    assert page.inner_text("#run-name") == team.fleet.runs[run_id]["name"]
    tab.assert_clean()


def test_a_project_without_runs_shows_empty_pages(tab, team):
    tab.sign_in("idle")
    text = tab.page.inner_text("main")
    assert "No run in this period yet" in text
    assert tab.page.locator("figure[data-chart]").count() == 0
    tab.goto("#/runs")
    assert "No run matches these filters." in tab.page.inner_text("main")
    assert tab.page.is_disabled("#next-page")
    tab.assert_clean()


def test_a_wrong_token_gets_a_clear_message(tab, team):
    page = tab.page
    page.goto(team.base + "/#/runs")
    page.wait_for_selector("#login")
    page.fill("#token", "wpt_" + "x" * 43)
    page.click("#login button[type=submit]")
    message = page.locator("#login-message .error")
    message.wait_for()
    assert "refused (401)" in message.inner_text()
    assert page.evaluate("sessionStorage.getItem('wattprint.token')") is None
    assert page.locator("#nav").is_hidden()
    tab.assert_clean(expected_status=401)  # Chromium logs the refused request itself


def test_signing_out_forgets_the_token(tab, team):
    tab.sign_in("vision")
    tab.rendered(lambda: tab.page.click("#signout"))
    assert tab.page.evaluate("sessionStorage.getItem('wattprint.token')") is None
    tab.page.goto(team.base + "/#/runs")
    tab.page.wait_for_selector("#login")
    tab.assert_clean()
