"""Charts as inline SVG, written here: line charts (with an optional uncertainty band and
a secondary axis) and horizontal stacked bars, with axes, ticks, labels and legends.

No script and no external resource: each chart is a ``<figure>`` holding one ``<svg>``.
Elements carry ``class`` and ``data-*`` attributes (``data-chart``, ``data-series``,
``data-points``) so tests can check in a browser's DOM that every chart was drawn.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Callable, Sequence

from .._format import format_number

__all__ = ["line_chart", "stacked_bars", "nice_ticks", "time_axis", "PALETTE",
           "DOMAIN_COLORS", "fmt_tick"]

PALETTE = ("#1f6feb", "#d9480f", "#2f9e44", "#9c36b5", "#e8a600", "#0c8599", "#c2255c",
           "#5c940d", "#495057", "#364fc7")
DOMAIN_COLORS = {"gpu": "#1f6feb", "cpu": "#d9480f", "dram": "#2f9e44", "ram": "#74b816",
                 "system": "#9c36b5"}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


def fmt_tick(value: float) -> str:
    """Compact tick label: 1.5k, 20, 0.25, 3M (plain digits, never an exponent)."""
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return format_number(value / size, digits=3) + suffix
    return format_number(value, digits=3, missing="")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    v = first
    while v < hi + step * 0.999:
        ticks.append(round(v, 12))
        v += step
    return ticks


def time_axis(duration_s: float) -> tuple[float, str]:
    """(divisor, unit) to label a time axis of this length."""
    if duration_s >= 2 * 86400:
        return 86400.0, "d"
    if duration_s >= 2 * 3600:
        return 3600.0, "h"
    if duration_s >= 120:
        return 60.0, "min"
    return 1.0, "s"


class _Frame:
    def __init__(self, width: int, height: int, left: int, right: int, top: int,
                 bottom: int, x: Sequence[float], y: Sequence[float]) -> None:
        self.w, self.h = width, height
        self.l, self.r, self.t, self.b = left, width - right, top, height - bottom
        self.x0, self.x1 = x[0], x[-1]
        self.y0, self.y1 = y[0], y[-1]

    def px(self, x: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.l + (x - self.x0) / span * (self.r - self.l)

    def py(self, y: float, y0: float | None = None, y1: float | None = None) -> float:
        lo = self.y0 if y0 is None else y0
        hi = self.y1 if y1 is None else y1
        span = hi - lo or 1.0
        return self.b - (y - lo) / span * (self.b - self.t)


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11,
          cls: str = "", extra: str = "", fill: str = "#333") -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}"{c} {extra}>{escape(text)}</text>')


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float, width: float) -> str:
    """A legend row (wrapping): items are (label, colour, kind: line|box|band|dash)."""
    out = ['<g class="legend">']
    cx, cy = x, y
    for label, color, kind in items:
        w = 28 + 6.5 * len(label)
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        if kind == "box":
            out.append(f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="12" height="10" '
                       f'fill="{color}"/>')
        elif kind == "band":
            out.append(f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="16" height="10" '
                       f'fill="{color}" fill-opacity="0.25"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            out.append(f'<line x1="{cx:.1f}" y1="{cy - 4:.1f}" x2="{cx + 16:.1f}" '
                       f'y2="{cy - 4:.1f}" stroke="{color}" stroke-width="2.5"{dash}/>')
        out.append(_text(cx + 20, cy, label, anchor="start", cls="legend-label"))
        cx += w
    out.append("</g>")
    return "".join(out)


def _legend_height(items: Sequence[tuple[str, str, str]], width: float) -> int:
    rows, cx = 1, 0.0
    for label, _, _ in items:
        w = 28 + 6.5 * len(label)
        if cx + w > width and cx > 0:
            rows, cx = rows + 1, 0.0
        cx += w
    return rows * 16


def line_chart(*, chart_id: str, title: str, series: Sequence[dict[str, Any]],
               y_label: str, x_label: str = "time since start", time_x: bool = True,
               bands: Sequence[dict[str, Any]] = (), y2: dict[str, Any] | None = None,
               width: int = 860, height: int = 320, caption: str = "",
               y_min: float | None = 0.0) -> str:
    """A line chart. ``series``: ``{"name", "points": [(x, y)…], "color", "dash"}``;
    ``bands``: ``{"name", "points": [(x, low, high)…], "color"}`` (drawn under the lines);
    ``y2``: one series on a right-hand axis (``"label"``, ``"step": True`` for a step
    line). ``time_x``: x in seconds, labelled in s / min / h / d."""
    xs = [p[0] for s in series for p in s["points"]] + \
        [p[0] for b in bands for p in b["points"]]
    ys = [p[1] for s in series for p in s["points"]] + \
        [v for b in bands for p in b["points"] for v in p[1:]]
    if not xs:
        xs, ys = [0.0, 1.0], [0.0, 1.0]
    x_hi = max(xs)
    div, unit = time_axis(x_hi) if time_x else (1.0, "")
    x_ticks = nice_ticks(min(xs) / div, x_hi / div, 6)
    x_ticks = [t for t in x_ticks if t <= x_hi / div + 1e-9] or [0.0]
    lo = min(ys) if y_min is None else min(y_min, min(ys))
    y_ticks = nice_ticks(lo, max(ys) * 1.05 if max(ys) > 0 else 1.0, 5)
    legend_items = [(s["name"], s.get("color", PALETTE[i % len(PALETTE)]),
                     "dash" if s.get("dash") else "line") for i, s in enumerate(series)]
    legend_items += [(b["name"], b.get("color", "#888"), "band") for b in bands]
    if y2:
        legend_items.append((y2["name"], y2.get("color", "#868e96"), "dash"))
    leg_h = _legend_height(legend_items, width - 80)
    right = 70 if y2 else 20
    f = _Frame(width, height + leg_h, 70, right, 34 + leg_h, 46,
               [x_ticks[0] * div, max(x_hi, x_ticks[-1] * div)], [y_ticks[0], y_ticks[-1]])
    out = [f'<figure class="chart" data-chart="{escape(chart_id)}">',
           f'<svg viewBox="0 0 {width} {height + leg_h}" '
           f'width="{width}" height="{height + leg_h}" role="img" '
           f'aria-label="{escape(title)}" style="{_FONT}">',
           f"<title>{escape(title)}</title>",
           _text(f.l, 18, title, anchor="start", size=14, cls="chart-title",
                 extra='font-weight="600"'),
           _legend(legend_items, f.l, 34 + 4, width - 80)]
    out.append('<g class="grid">')
    for t in y_ticks:
        y = f.py(t)
        out.append(f'<line x1="{f.l}" y1="{y:.1f}" x2="{f.r}" y2="{y:.1f}" stroke="#e9ecef"/>')
        out.append(_text(f.l - 6, y + 4, fmt_tick(t), anchor="end", cls="tick"))
    for t in x_ticks:
        x = f.px(t * div)
        out.append(f'<line x1="{x:.1f}" y1="{f.t}" x2="{x:.1f}" y2="{f.b}" stroke="#f1f3f5"/>')
        out.append(_text(x, f.b + 16, fmt_tick(t), cls="tick"))
    out.append("</g>")
    out.append(f'<g class="axes"><line x1="{f.l}" y1="{f.b}" x2="{f.r}" y2="{f.b}" '
               f'stroke="#495057"/><line x1="{f.l}" y1="{f.t}" x2="{f.l}" y2="{f.b}" '
               f'stroke="#495057"/></g>')
    out.append(_text((f.l + f.r) / 2, f.b + 36, f"{x_label} ({unit})" if unit else x_label,
                     cls="axis-label"))
    out.append(_text(16, (f.t + f.b) / 2, y_label, cls="axis-label",
                     extra=f'transform="rotate(-90 16 {(f.t + f.b) / 2:.1f})"'))
    for b in bands:
        pts = b["points"]
        if len(pts) < 2:
            continue
        upper = " ".join(f"{f.px(x):.1f},{f.py(hi):.1f}" for x, _, hi in pts)
        lower = " ".join(f"{f.px(x):.1f},{f.py(lo_):.1f}" for x, lo_, _ in reversed(pts))
        out.append(f'<polygon class="band" data-series="{escape(b["name"])}" '
                   f'data-points="{len(pts)}" points="{upper} {lower}" '
                   f'fill="{b.get("color", "#888")}" fill-opacity="0.22" stroke="none"/>')
    for i, s in enumerate(series):
        pts = s["points"]
        if not pts:
            continue
        color = s.get("color", PALETTE[i % len(PALETTE)])
        dash = ' stroke-dasharray="5 4"' if s.get("dash") else ""
        coords = " ".join(f"{f.px(x):.1f},{f.py(y):.1f}" for x, y in pts)
        out.append(f'<polyline class="series" data-series="{escape(s["name"])}" '
                   f'data-points="{len(pts)}" points="{coords}" fill="none" '
                   f'stroke="{color}" stroke-width="{s.get("width", 1.6)}" '
                   f'stroke-linejoin="round"{dash}/>')
    if y2 and y2.get("points"):
        pts = y2["points"]
        vals = [p[1] for p in pts]
        t2 = nice_ticks(min(0.0, min(vals)), max(vals) * 1.1 if max(vals) > 0 else 1.0, 5)
        color = y2.get("color", "#868e96")
        coords = []
        for k, (x, y) in enumerate(pts):
            if y2.get("step") and k:
                coords.append(f"{f.px(x):.1f},{f.py(pts[k - 1][1], t2[0], t2[-1]):.1f}")
            coords.append(f"{f.px(x):.1f},{f.py(y, t2[0], t2[-1]):.1f}")
        out.append(f'<polyline class="series secondary" data-series="{escape(y2["name"])}" '
                   f'data-points="{len(coords)}" points="{" ".join(coords)}" fill="none" '
                   f'stroke="{color}" stroke-width="1.6" stroke-dasharray="4 3"/>')
        out.append(f'<line x1="{f.r}" y1="{f.t}" x2="{f.r}" y2="{f.b}" stroke="{color}"/>')
        for t in t2:
            y = f.py(t, t2[0], t2[-1])
            out.append(_text(f.r + 6, y + 4, fmt_tick(t), anchor="start", cls="tick",
                             fill=color))
        out.append(_text(width - 12, (f.t + f.b) / 2, y2["label"], cls="axis-label",
                         extra=f'transform="rotate(90 {width - 12} {(f.t + f.b) / 2:.1f})"',
                         fill=color))
    out.append("</svg>")
    if caption:
        out.append(f"<figcaption>{escape(caption)}</figcaption>")
    out.append("</figure>")
    return "".join(out)


def stacked_bars(*, chart_id: str, title: str, categories: Sequence[str],
                 segments: Sequence[tuple[str, Sequence[float]]], value_label: str,
                 fmt: Callable[[float], str], colors: dict[str, str] | None = None,
                 width: int = 860, bar_h: int = 24, caption: str = "") -> str:
    """Horizontal bars, one per category, each stacked from ``segments``
    (``(name, value per category)``), with the total at the bar's end."""
    colors = colors or {}
    seg_colors = {name: colors.get(name, PALETTE[i % len(PALETTE)])
                  for i, (name, _) in enumerate(segments)}
    totals = [sum(vals[k] for _, vals in segments) for k in range(len(categories))]
    ticks = nice_ticks(0.0, max(totals) if totals and max(totals) > 0 else 1.0, 5)
    label_w = min(240, 20 + 7 * max((len(c) for c in categories), default=4))
    legend_items = [(name, seg_colors[name], "box") for name, _ in segments]
    leg_h = _legend_height(legend_items, width - 80)
    height = 34 + leg_h + 10 + len(categories) * (bar_h + 10) + 46
    f = _Frame(width, height, label_w, 90, 34 + leg_h + 10, 46, [0.0, ticks[-1]],
               [0.0, 1.0])
    out = [f'<figure class="chart" data-chart="{escape(chart_id)}">',
           f'<svg viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
           f'style="{_FONT}">', f"<title>{escape(title)}</title>",
           _text(12, 18, title, anchor="start", size=14, cls="chart-title",
                 extra='font-weight="600"'),
           _legend(legend_items, 12, 34 + 4, width - 40)]
    out.append('<g class="grid">')
    for t in ticks:
        x = f.px(t)
        out.append(f'<line x1="{x:.1f}" y1="{f.t - 4}" x2="{x:.1f}" y2="{f.b}" '
                   f'stroke="#e9ecef"/>')
        out.append(_text(x, f.b + 16, fmt_tick(t), cls="tick"))
    out.append("</g>")
    out.append(_text((f.l + f.r) / 2, f.b + 36, value_label, cls="axis-label"))
    for k, cat in enumerate(categories):
        y = f.t + k * (bar_h + 10)
        out.append(_text(f.l - 8, y + bar_h * 0.68, cat, anchor="end", cls="bar-label"))
        x = float(f.l)
        out.append(f'<g class="bar" data-category="{escape(cat)}">')
        for name, vals in segments:
            v = vals[k]
            if v <= 0:
                continue
            w = f.px(v) - f.l
            out.append(f'<rect class="segment" data-series="{escape(name)}" '
                       f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                       f'fill="{seg_colors[name]}"><title>{escape(cat)}, {escape(name)}: '
                       f'{escape(fmt(v))}</title></rect>')
            x += w
        out.append(_text(x + 6, y + bar_h * 0.68, fmt(totals[k]), anchor="start",
                         cls="bar-total"))
        out.append("</g>")
    out.append(f'<line x1="{f.l}" y1="{f.t - 4}" x2="{f.l}" y2="{f.b}" stroke="#495057"/>')
    out.append("</svg>")
    if caption:
        out.append(f"<figcaption>{escape(caption)}</figcaption>")
    out.append("</figure>")
    return "".join(out)
