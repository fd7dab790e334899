"""A real Prometheus server (Debian ``prometheus``) on 127.0.0.1 for one test: scrapes the
given targets every second, stores in a temporary folder, stopped by PID."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from ._proc import Daemon, free_port, require, wait_for

APT_PROMETHEUS = "apt-get install -y prometheus"


class Prometheus:
    def __init__(self, folder: Path, targets: Sequence[str]) -> None:
        binary = require("prometheus", APT_PROMETHEUS)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: wattprint\n    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.daemon = Daemon("prometheus", [
            binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            folder / "prometheus.log")
        wait_for("prometheus", self._ready, 60, self.daemon.died)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The single value of ``expr``, or None when it is empty."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def targets_up(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as r:
            return json.load(r)["data"]["activeTargets"]

    def stop(self) -> None:
        self.daemon.stop()
