#!/usr/bin/env python3
"""Take the screenshots of docs/dashboard.md: start ``wattprint server`` on 127.0.0.1 over
a throw-away SQLite file, push the dashboard tests' fleet (runs recorded with the testing
fakes, ``tests/_dashboard_data.py``), and photograph each page in headless Chromium
(Debian ``/usr/bin/chromium`` driven by Playwright) into ``docs/img/dashboard-*.png``.

    PYTHONPATH=src python3 scripts/dashboard_screenshots.py [--out docs/img]

Needs the extras ``[server]`` and ``[test]`` (Playwright) and Chromium. Fails (exit 1) if a
page logs a console error or requests anything from another origin.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _dashboard_data import build_and_push, start_team_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def shoot(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wattprint-shots-") as tmp:
        server = start_team_server(Path(tmp))
        try:
            fleet = build_and_push(str(Path(tmp) / "ledger.db"), server.base, server.tokens)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                page = context.new_page()
                problems: list[str] = []
                page.on("console", lambda m: m.type == "error" and problems.append(m.text))
                context.on("request", lambda r: r.url.startswith(
                    (server.base + "/", "blob:", "data:", "about:")) or problems.append(r.url))

                def show(hash_: str, name: str, wait: str = "") -> None:
                    page.evaluate("h => { location.hash = h; }", hash_)
                    path = hash_.split("?")[0][1:] or "/"
                    page.wait_for_selector(wait or f"main[data-ready='{path}']")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(out / f"dashboard-{name}.png"))

                page.goto(server.base + "/")
                page.wait_for_selector("#login")
                page.screenshot(path=str(out / "dashboard-login.png"),
                                clip={"x": 0, "y": 0, "width": 1280, "height": 420})
                page.fill("#token", server.tokens["admin"])
                page.click("#login button[type=submit]")
                page.wait_for_selector("main[data-ready='/']")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "dashboard-overview.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1280, "height": 1180})
                show("#/runs?limit=25", "runs")
                a, b = fleet.of(project="vision", host="gpu-node-2")[:2]
                show(f"#/run/{a}", "run", wait="main[data-ready^='/run/']")
                show(f"#/compare?a={a}&b={b}", "compare", wait="main[data-ready='/compare']")
                browser.close()
        finally:
            server.stop()
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    for png in sorted(out.glob("dashboard-*.png")):
        print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: "
              f"{png.stat().st_size // 1024} KiB")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img",
                        help="folder for the PNG files (default: docs/img)")
    return shoot(parser.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())
