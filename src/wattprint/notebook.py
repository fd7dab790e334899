"""Runs in Jupyter: a finished run shows as a summary card with a small power chart
(:meth:`wattprint.RunResult._repr_html_`, built by :func:`result_html`), and a running one
can be watched live (:class:`LiveView`).

    run.result                                  # last line of a cell: the card
    with wattprint.track("train") as run, wattprint.notebook.LiveView(run):
        train()                                 # the cell's output updates every second

Inside IPython the live figures replace each other in one output
(``IPython.display.display(..., display_id=True)`` then ``update``); anywhere else they
are printed as plain text lines. IPython is imported only then, never by
``import wattprint``. Every string shown is HTML-escaped; numbers go through the
formatters of :mod:`wattprint._format` and say whether they were measured or modelled.
"""

from __future__ import annotations

import sys
import threading
from html import escape
from typing import Any, TextIO

from ._format import format_duration, format_energy, format_number, format_power

__all__ = ["result_html", "live_text", "live_html", "LiveView", "in_ipython"]

_STYLE = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
          "border:1px solid #dee2e6;border-radius:6px;padding:10px 14px;max-width:760px")
_BADGE = {"measured": "#2f9e44", "modelled": "#e8590c", "mixed": "#1f6feb",
          "estimated": "#868e96"}


def _badge(basis: str) -> str:
    color = _BADGE.get(basis, "#868e96")
    return (f'<span style="background:{color};color:#fff;border-radius:8px;padding:0 7px;'
            f'font-size:11px">{escape(basis)}</span>')


def _row(cells: list[str], head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f'<{tag} style="text-align:left;padding:1px 10px 1px 0">{c}</{tag}>'
                            for c in cells) + "</tr>"


def _power_chart(result: Any, points: int = 120) -> str:
    """A small inline SVG of the counted devices' total power, from the run's samples in
    its ledger; "" when the run was not recorded (or has too few samples)."""
    path, run_id = getattr(result, "ledger_path", None), result.run_id
    if not path or not run_id or result.duration_s <= 0:
        return ""
    try:
        from .ledger import Ledger
        from .report._data import power_trace_of, total_trace
        from .report._svg import line_chart

        with Ledger(path, readonly=True) as ledger:
            record = ledger.get(run_id)
            raw = ledger.series(record.id, points=points)
        counted = {i for i, d in enumerate(record.devices) if d.counted}
        trace = power_trace_of(total_trace(raw, counted, result.duration_s, points))
    except Exception:  # noqa: BLE001 - the card shows without its chart
        return ""
    if len(trace) < 2:
        return ""
    return line_chart(chart_id="notebook-power", title="Power, counted devices",
                      series=[{"name": f"total power ({result.basis})", "points": trace,
                               "color": "#1f6feb"}],
                      y_label="power (W)", width=520, height=170)


def result_html(result: Any, *, chart: bool = True) -> str:
    """The summary card of a finished :class:`wattprint.RunResult`: energy (and its range
    when modelled), duration, power, energy per unit, phases, devices, warnings, and the
    power chart when the run is in a ledger."""
    name = escape(result.name or "unnamed run")
    head = (f'<div style="font-size:15px;font-weight:600">wattprint run {name} '
            f'{_badge(result.basis)} <span style="color:#868e96;font-weight:400">'
            f'{escape(result.status)}</span></div>')
    energy = format_energy(result.energy_j, digits=4)
    if result.basis in ("modelled", "mixed"):
        energy += (f" (range {format_energy(result.energy_low_j)} to "
                   f"{format_energy(result.energy_high_j)}, modelled)")
    facts = [("energy", energy), ("duration", format_duration(result.duration_s)),
             ("mean power", format_power(result.mean_power_w)),
             ("peak power", format_power(result.peak_power_w))]
    facts += [(key.replace("j_per_", "energy per "), format_energy(value, digits=4))
              for key, value in result.per_unit.items()]
    table = "".join(_row([f"<b>{escape(k)}</b>", escape(v)]) for k, v in facts)
    parts = [head, f'<table style="border-collapse:collapse;margin:6px 0">{table}</table>']
    if result.phases:
        rows = [_row(["phase", "energy", "duration", "windows"], head=True)]
        rows += [_row([escape(p.name), escape(format_energy(p.energy_j, digits=4)),
                       escape(format_duration(p.duration_s)), escape(str(p.entries))])
                 for p in result.phases]
        parts.append(f'<table style="border-collapse:collapse;margin:6px 0">{"".join(rows)}'
                     "</table>")
    if result.devices:
        rows = [_row(["device", "domain", "", "energy"], head=True)]
        rows += [_row([escape(d.device or d.name), escape(d.domain), _badge(d.kind),
                       escape(format_energy(d.energy_j, digits=4))
                       + ("" if d.counted else " (nested, not summed)")])
                 for d in result.devices]
        parts.append(f'<table style="border-collapse:collapse;margin:6px 0">{"".join(rows)}'
                     "</table>")
    if chart:
        parts.append(_power_chart(result))
    parts += [f'<div style="color:#c92a2a">warning: {escape(w)}</div>'
              for w in result.warnings]
    if result.run_id:
        parts.append(f'<div style="color:#868e96">run id {escape(result.run_id)} '
                     f"(<code>wattprint show {escape(result.run_id)}</code>)</div>")
    return f'<div class="wattprint-run" style="{_STYLE}">{"".join(parts)}</div>'


# -- live ---------------------------------------------------------------------------------
def in_ipython() -> bool:
    """Whether this code runs inside an IPython shell or Jupyter kernel (checked without
    importing IPython when it is not loaded)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _live_figures(tracker: Any) -> list[tuple[str, str]]:
    from .result import basis_of

    basis = basis_of(getattr(s, "kind", "measured") for s in tracker.sensors
                     if getattr(s, "nested_in", None) is None)
    out = [("energy", f"{format_energy(tracker.energy_j, digits=4)} [{basis}]"),
           ("elapsed", format_duration(tracker.elapsed_s)),
           # the sampler's latest interval: between model or counter updates it is the
           # last estimate, carried (never a 0 W gap)
           ("power", f"{format_power(tracker.power_w)} (latest sampler interval) [{basis}]")]
    out += [(f"count {unit}", format_number(n, digits=6))
            for unit, n in sorted(tracker.counters.items())]
    return out


def live_text(tracker: Any) -> str:
    """One plain-text line of a running tracker's figures."""
    figures = ", ".join(f"{k} {v}" for k, v in _live_figures(tracker))
    return f"wattprint {tracker.name or 'run'}: {figures}"


def live_html(tracker: Any) -> str:
    rows = "".join(_row([f"<b>{escape(k)}</b>", escape(v)]) for k, v in _live_figures(tracker))
    state = "running" if tracker.running else "stopped"
    return (f'<div class="wattprint-live" style="{_STYLE}"><div style="font-weight:600">'
            f"wattprint {escape(tracker.name or 'run')} <span style=\"color:#868e96;"
            f'font-weight:400">{state}</span></div><table>{rows}</table></div>')


class LiveView:
    """Shows a running tracker's figures every ``every_s`` seconds until it stops (or
    :meth:`stop`): one updating output in Jupyter/IPython, plain text lines to ``file``
    (standard output) elsewhere. A context manager; :meth:`update` draws once."""

    def __init__(self, tracker: Any, *, every_s: float = 1.0, file: TextIO | None = None,
                 ipython: bool | None = None) -> None:
        from . import inputs

        inputs.finite("every_s", every_s, min=0.0, min_open=True, what="seconds between "
                      "updates", example="1.0")
        self.tracker = tracker
        self.every_s = float(every_s)
        self._file = file
        self._ipython = in_ipython() if ipython is None else ipython
        self._handle: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.updates = 0

    def update(self) -> None:
        """Draw the figures now (the first call creates the output, later ones replace
        it in IPython)."""
        if self._ipython:
            from IPython.display import HTML, display

            html = HTML(live_html(self.tracker))
            if self._handle is None:
                self._handle = display(html, display_id=True)
            else:
                self._handle.update(html)
        else:
            print(live_text(self.tracker), file=self._file or sys.stdout, flush=True)
        self.updates += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            if not self.tracker.running:
                break
            self.update()

    def start(self) -> "LiveView":
        self.update()
        if getattr(self.tracker, "running", False) and hasattr(self.tracker, "start_thread"):
            # its CPU counts in the run's overhead_cpu_s, with the run's own threads
            self._thread = self.tracker.start_thread(self._loop, "wattprint-live")
        else:  # nothing to follow: the loop ends at once
            from ._threadcpu import ThreadCPU

            self._thread = ThreadCPU().start(self._loop, "wattprint-live")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.update()  # the last figures

    def __enter__(self) -> "LiveView":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
