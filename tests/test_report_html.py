"""The HTML report in a real browser: headless Chromium draws every chart (checked in the
DOM after rendering and in a screenshot's pixels), and the page fetches nothing — no
URL in any src/href/url(), a strict Content-Security-Policy, and Chromium's network log
shows no request made by the page (a control page proves the log would show one).

Chromium is a test requirement (Debian package ``chromium``; ``.ci/run`` installs it):
when it is missing these tests fail, they do not skip."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import zlib
from html.parser import HTMLParser

import pytest

from _report_fixtures import fp16_and_int8, sensorless
from wattprint.ledger import Ledger
from wattprint.report import CSP, build_report, render

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]


def chromium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (/usr/bin/chromium): the HTML report tests "
                    "need it; .ci/run installs it (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="wattprint-chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("html")
    with Ledger(str(folder / "ledger.db")) as ledger:
        a, b = fp16_and_int8(ledger)
        c = sensorless(ledger)
        reports = {k: build_report(ledger, rid) for k, rid in (("a", a), ("b", b), ("c", c))}
    out = {}
    for name, html in (("measured", render([reports["a"]], "html")),
                       ("sensorless", render([reports["c"]], "html")),
                       ("compare", render([reports["a"], reports["b"], reports["c"]], "html"))):
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        out[name] = str(path)
    return out


class _Charts(HTMLParser):
    """Per ``figure[data-chart]``: its drawn series (polylines/polygons with their point
    counts) and bar segments; plus the CSP meta and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, list]] = {}
        self.current: str | None = None
        self.csp: list[str] = []
        self.urls: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
            if a.get(key):
                self.urls.append(a[key] or "")
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(a.get("content") or "")
        if tag == "figure" and a.get("data-chart"):
            self.current = a["data-chart"]
            self.charts[self.current] = {"lines": [], "bands": [], "segments": [], "svg": []}
        if self.current is None:
            return
        chart = self.charts[self.current]
        if tag == "svg":
            chart["svg"].append(1)
            self.svgs += 1
        if tag == "polyline" and "series" in (a.get("class") or ""):
            n = len((a.get("points") or "").split())
            assert n == int(a.get("data-points") or 0)
            chart["lines"].append((a.get("data-series"), n))
        if tag == "polygon" and "band" in (a.get("class") or ""):
            chart["bands"].append((a.get("data-series"), int(a.get("data-points") or 0)))
        if tag == "rect" and "segment" in (a.get("class") or ""):
            chart["segments"].append((a.get("data-series"), float(a.get("width") or 0)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self.current = None


def parse(html: str) -> _Charts:
    p = _Charts()
    p.feed(html)
    return p


def dump_dom(path: str) -> str:
    proc = chromium("--dump-dom", "--virtual-time-budget=2000", f"file://{path}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html" in proc.stdout
    return proc.stdout


@pytest.mark.parametrize("page", ["measured", "sensorless"])
def test_chromium_draws_every_chart(pages, page) -> None:
    dom = parse(dump_dom(pages[page]))
    assert {"power", "energy", "carbon"} <= set(dom.charts)
    power = dom.charts["power"]
    assert len(power["lines"]) >= 2 and all(n >= 50 for _, n in power["lines"])
    assert all(n <= 2001 for _, n in power["lines"])  # downsampled
    energy = dom.charts["energy"]
    assert {name for name, _ in energy["segments"]} >= {"cpu", "ram"}
    assert all(w > 0 for _, w in energy["segments"])
    carbon = dom.charts["carbon"]
    names = [name for name, _ in carbon["lines"]]
    assert any(n.startswith("cumulative CO2e") for n in names)
    assert any(n.startswith("grid intensity") for n in names)
    if page == "sensorless":
        assert power["bands"] and carbon["bands"]  # the uncertainty band, drawn
    else:
        hourly = [n for n in names if "hourly" in n]
        assert hourly  # Germany, July 2023: hour-by-hour intensity behind the CO2e


def test_chromium_draws_the_comparison(pages) -> None:
    dom = parse(dump_dom(pages["compare"]))
    assert {"compare-energy", "compare-co2e", "compare-power"} <= set(dom.charts)
    assert len(dom.charts["compare-power"]["lines"]) == 3
    bars = dom.charts["compare-energy"]["segments"]
    assert len([s for s in bars if s[0] == "cpu"]) == 3
    assert any(c.startswith("compare-J") for c in dom.charts)


def _png_pixels(path: str) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes): width, height, rows."""
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            ul = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + left) & 255
            elif f == 2:
                line[i] = (line[i] + up) & 255
            elif f == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else
                                      up if pb <= pc else ul)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_screenshot_shows_the_charts(pages, tmp_path) -> None:
    shot = str(tmp_path / "report.png")
    proc = chromium("--window-size=1000,2200", f"--screenshot={shot}",
                    f"file://{pages['measured']}")
    assert proc.returncode == 0 and os.path.exists(shot), proc.stderr[-2000:]
    _, _, pixels = _png_pixels(shot)
    counts: dict[bytes, int] = {}
    for px in pixels:
        counts[px] = counts.get(px, 0) + 1

    def near(hex_color: str, tol: int = 12) -> int:
        want = bytes.fromhex(hex_color[1:])
        return sum(n for px, n in counts.items()
                   if all(abs(a - b) <= tol for a, b in zip(px, want)))

    assert near("#1f6feb") > 500  # GPU series and bars (blue)
    assert near("#d9480f") > 500  # CPU (orange)
    assert near("#2b8a3e") > 200  # cumulative CO2e (green)
    assert len(counts) > 200  # not a blank page


URL_ATTR = re.compile(r"""(?:src|href|action|poster|srcset|data)\s*=\s*["']?\s*(?:https?:|//)""",
                      re.I)


@pytest.mark.parametrize("page", ["measured", "sensorless", "compare"])
def test_the_page_references_nothing_outside_itself(pages, page) -> None:
    html = open(pages[page], encoding="utf-8").read()
    assert not URL_ATTR.search(html)
    assert not re.search(r"url\s*\(", html, re.I)
    assert "@import" not in html and "<script" not in html.lower()
    assert not re.search(r"https?://", html)  # not even as text: no namespace URLs either
    dom = parse(html)
    assert dom.csp == [CSP]
    assert "default-src 'none'" in CSP and "img-src data:" in CSP
    assert all(u.startswith(("#", "data:")) for u in dom.urls), dom.urls


def _page_requests(netlog: str) -> list[str]:
    """URLs of requests the page made (Chromium's own background requests have no origin
    as initiator; a page's carry its origin, here file://)."""
    with open(netlog, encoding="utf-8") as fh:
        log = json.load(fh)
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") != "not an origin" or \
                "file://" in str(params.get("network_isolation_key", "")):
            urls.append(params["url"])
    return urls


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_chromium_fetches_nothing(pages, tmp_path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # control: a page that does fetch shows up in the log and at the server...
        control = tmp_path / "control.html"
        control.write_text(f'<!DOCTYPE html><img src="http://127.0.0.1:{port}/probe.png">')
        log = str(tmp_path / "control.json")
        chromium(f"--log-net-log={log}", "--dump-dom", f"file://{control}")
        assert any(f":{port}/probe.png" in u for u in _page_requests(log))
        assert "/probe.png" in _Recorder.hits
        # ...and the same page under the report's CSP does not fetch
        _Recorder.hits.clear()
        guarded = tmp_path / "guarded.html"
        guarded.write_text(f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" '
                           f'content="{CSP}"><img src="http://127.0.0.1:{port}/probe.png">')
        log = str(tmp_path / "guarded.json")
        chromium(f"--log-net-log={log}", "--dump-dom", f"file://{guarded}")
        assert _page_requests(log) == [] and _Recorder.hits == []
        # the reports themselves make no request at all
        for name, path in pages.items():
            log = str(tmp_path / f"{name}.json")
            proc = chromium(f"--log-net-log={log}", "--dump-dom", f"file://{path}")
            assert proc.returncode == 0
            assert _page_requests(log) == [], name
        assert _Recorder.hits == []
    finally:
        server.shutdown()
