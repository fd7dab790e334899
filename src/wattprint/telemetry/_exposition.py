"""The Prometheus text format (version 0.0.4) of :class:`~._metrics.Series`, and a small
HTTP server for it (standard library only).

A scrape renders a few thousand lines (20 runs of 10 devices, four metrics each): the
label part of every line is rendered once per series and cached, so a scrape only
formats numbers. prometheus_client's ``generate_latest`` escapes and validates every
label of every line again at each scrape, which cost ~20 ms of CPU per scrape here;
tests check that both renderings parse to the same samples
(tests/test_telemetry.py). Counters carry a ``_created`` line (Unix seconds), as
prometheus_client writes them.
"""

from __future__ import annotations

import http.server
import logging
import threading
from typing import Any, Callable, Sequence

from .._threadcpu import ThreadCPU
from ._metrics import METRICS, Series

__all__ = ["Renderer", "CONTENT_TYPE", "MetricsServer"]

log = logging.getLogger("wattprint")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


_INF = float("inf")


def _number(value: float) -> str:
    if -_INF < value < _INF:
        return repr(value)
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


class Renderer:
    """Renders series to text, caching each series' label part (bounded: the cache is
    dropped when it outgrows ``max_cached``, e.g. after many runs came and went)."""

    def __init__(self, max_cached: int = 50_000) -> None:
        self._labels: dict[tuple[str, tuple[str, ...]], str] = {}
        self._max = max_cached
        # prometheus_client's text format names a counter's HELP and TYPE with _total
        self._heads = {name: f"# HELP {name} {_help(m.help)}\n# TYPE {name} {m.kind}\n"
                       for name, m in METRICS.items()}

    def _prefix(self, name: str, labels: tuple[str, ...], suffix: str = "") -> str:
        """``name{labels} `` of one series (``suffix``: ``_created`` lines), cached."""
        key = (name + suffix, labels)
        text = self._labels.get(key)
        if text is None:
            if len(self._labels) >= self._max:
                self._labels.clear()
            m = METRICS[name]
            shown = (m.family + suffix) if suffix else name
            text = shown + "{" + ",".join(f'{k}="{_escape_value(v)}"'
                                          for k, v in zip(m.labels, labels)) + "} "
            self._labels[key] = text
        return text

    def render(self, series: Sequence[Series]) -> bytes:
        by_name: dict[str, list[Series]] = {}
        for s in series:
            by_name.setdefault(s.name, []).append(s)
        out: list[str] = []
        prefix, number = self._prefix, _number
        for name, m in METRICS.items():
            items = by_name.get(name)
            if not items:
                continue
            out.append(self._heads[name])
            out.extend(prefix(name, s.labels) + number(s.value) + "\n" for s in items)
            if m.kind == "counter":
                created = m.family + "_created"
                out.append(f"# HELP {created} {_help(m.help)}\n# TYPE {created} gauge\n")
                out.extend(prefix(name, s.labels, "_created") + number(s.created) + "\n"
                           for s in items if s.created is not None)
        return "".join(out).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "MetricsServer"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body, status, ctype = self.server.produce(), 200, CONTENT_TYPE
            except Exception as err:  # noqa: BLE001 - answer, never hang the scraper
                log.error("wattprint: rendering the metrics failed: %r", err)
                body, status, ctype = b"rendering failed\n", 500, "text/plain"
        elif path in ("/", ""):
            body, status, ctype = (b"<html><body><a href=\"/metrics\">/metrics</a>"
                                   b"</body></html>\n", 200, "text/html")
        else:
            body, status, ctype = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # scrapes are not news
        pass


class MetricsServer(http.server.ThreadingHTTPServer):
    """Serves ``source()`` rendered at ``/metrics`` on a daemon thread, each scrape on a
    thread of its own; all of them started through ``threads`` (a
    :class:`wattprint._threadcpu.ThreadCPU`: a tracked run passes its own, so serving and
    rendering count in the run's ``overhead_cpu_s``)."""

    daemon_threads = True
    block_on_close = False  # scrape threads are daemons, started in process_request

    def __init__(self, host: str, port: int, source: Callable[[], Sequence[Series]], *,
                 threads: ThreadCPU | None = None) -> None:
        if ":" in host:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self._source = source
        self._renderer = Renderer()
        self._lock = threading.Lock()
        self.threads = threads if threads is not None else ThreadCPU()
        self._thread: threading.Thread | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        """One scrape on a counted thread (socketserver's ThreadingMixIn starts a plain
        one)."""
        self.threads.start(self.process_request_thread, "wattprint-metrics-scrape",
                           request, client_address)

    def produce(self) -> bytes:
        with self._lock:  # one scrape at a time: series() reads shared state
            return self._renderer.render(self._source())

    def start(self) -> "MetricsServer":
        self._thread = self.threads.start(self.serve_forever, "wattprint-metrics")
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
