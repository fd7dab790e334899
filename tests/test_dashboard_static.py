"""The dashboard's shipped files, checked without a browser: every file is package data,
no script builds markup from strings or evaluates text, nothing points at another host,
and every module a script imports is shipped."""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "src" / "wattprint" / "server" / "static"
FILES = sorted(p for p in STATIC.iterdir() if p.is_file())
SCRIPTS = [p for p in FILES if p.suffix == ".js"]

#: DOM and JS sinks that turn a string into markup or code: none may appear.
SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\("
                   r"|new\s+Function|setAttribute\(\s*['\"](?:style|on\w+)|\bsrcdoc\s*=(?!\s*report)")
#: The one URL allowed in the files: SVG's namespace name (never fetched).
SVG_NS = "http://www.w3.org/2000/svg"


def _code(js: str) -> str:
    """The script without its ``//`` comment lines (which may name the sinks)."""
    return "\n".join(line for line in js.splitlines() if not line.strip().startswith("//"))


def test_every_static_file_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["wattprint"]
    assert {p.suffix for p in FILES} >= {".html", ".js", ".css"}
    for path in FILES:
        rel = path.relative_to(ROOT / "src" / "wattprint").as_posix()
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel


def test_no_script_turns_a_string_into_markup_or_code():
    found = [(p.name, m.group(0)) for p in SCRIPTS
             for m in SINKS.finditer(_code(p.read_text()))]
    assert not found, found
    # the only srcdoc assignment is the server's report, and its frame is sandboxed
    run = (STATIC / "run.js").read_text()
    assert run.count(".srcdoc = report") == 2 and run.count('sandbox: ""') == 2


def test_nothing_points_at_another_host():
    for path in FILES:
        text = path.read_text().replace(SVG_NS, "")
        assert not re.search(r"(?:https?:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path.name
        assert "@import" not in text and "url(" not in text, path.name


def test_index_loads_only_its_own_files():
    html = (STATIC / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(not body.strip() for _, body in scripts)
    assert not re.search(r"<[^>]*\son\w+\s*=", html), "inline event handler"
    for ref in re.findall(r'(?:src|href)="([^"#][^"]*)"', html):
        assert ref.startswith("/static/") and (STATIC / ref[len("/static/"):]).is_file(), ref


def test_every_imported_module_is_shipped():
    for path in SCRIPTS:
        for name in re.findall(r'from\s+"\./([^"]+)"', path.read_text()):
            assert (STATIC / name).is_file(), (path.name, name)
