// Charts as inline SVG built with DOM calls (no library, nothing fetched): stacked columns
// (energy or CO2e per week, one colour per project) and horizontal 100% bars (measured vs
// modelled share). Labels go in as text nodes; every drawn mark carries data-series and
// data-value so tests can check in the DOM what was drawn. Colours match the HTML report.

import { h, s } from "./dom.js";
import { formatNumber } from "./format.js";

export const PALETTE = ["#1f6feb", "#d9480f", "#2f9e44", "#9c36b5", "#e8a600", "#0c8599",
  "#c2255c", "#5c940d", "#495057", "#364fc7"];
export const BASIS_COLORS = { measured: "#2f9e44", modelled: "#e8590c" };

// About n round ticks covering [lo, hi] (steps of 1, 2, 2.5, 5 x 10^k), as the report's.
export function niceTicks(lo, hi, n = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) hi = lo + (Math.abs(lo) || 1);
  const raw = (hi - lo) / Math.max(n, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const stepSize = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw);
  const ticks = [];
  for (let v = Math.floor(lo / stepSize) * stepSize; v < hi + stepSize * 0.999; v += stepSize) {
    ticks.push(Math.round(v * 1e12) / 1e12);
  }
  return ticks;
}

// Compact tick label: 1.5k, 20, 0.25, 3M.
export function fmtTick(v) {
  for (const [size, suffix] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (Math.abs(v) >= size) return formatNumber(v / size) + suffix;
  }
  return v === 0 ? "0" : formatNumber(v, { missing: "" });
}

// (base units per unit, unit) for an axis whose largest value is maxValue, from a ladder
// of format.js (the unit formatEnergy/formatMass would write maxValue in).
export function axisScale(maxValue, steps) {
  let chosen = steps.find((st) => st.size === 1) || steps[0];
  if (Number.isFinite(maxValue)) {
    for (const st of steps) if (maxValue >= st.threshold) chosen = st;
  }
  return [chosen.size, chosen.unit];
}

function legend(series) {
  return h("ul", { class: "legend" }, series.map((ser) => {
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = ser.color;
    return h("li", {}, swatch, ser.name);
  }));
}

// Stacked columns. categories: x labels; series: [{name, color, values[] (base units)}];
// steps: the unit ladder of the values; format: full-precision text for tooltips.
export function stackedColumns({ id, title, categories, series, steps, format, yLabel }) {
  const W = 600, H = 300, left = 58, right = 10, top = 14, bottom = 40;
  const totals = categories.map((_, i) => series.reduce((acc, ser) => acc + (ser.values[i] || 0), 0));
  const maxTotal = Math.max(0, ...totals);
  const [per, unit] = axisScale(maxTotal, steps);
  const ticks = niceTicks(0, maxTotal / per || 1);
  const yMax = ticks[ticks.length - 1] * per;
  const plotW = W - left - right, plotH = H - top - bottom;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const band = plotW / Math.max(categories.length, 1);
  const barW = Math.max(2, Math.min(48, band * 0.7));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg",
                         "aria-label": title });
  svg.append(s("title", {}, title));
  for (const t of ticks) {
    svg.append(s("line", { x1: left, x2: W - right, y1: y(t * per), y2: y(t * per),
                           class: "grid" }));
    svg.append(s("text", { x: left - 6, y: y(t * per) + 4, "text-anchor": "end",
                           class: "tick" }, fmtTick(t)));
  }
  svg.append(s("text", { x: 12, y: top + plotH / 2, class: "axis-label",
                         transform: `rotate(-90 12 ${top + plotH / 2})`,
                         "text-anchor": "middle" }, `${yLabel} (${unit})`));
  const labelEvery = Math.ceil(categories.length / 7);
  categories.forEach((cat, i) => {
    const x = left + band * i + (band - barW) / 2;
    let base = 0;
    for (const ser of series) {
      const v = ser.values[i] || 0;
      if (v > 0) {
        const rect = s("rect", { x, y: y(base + v), width: barW,
                                 height: Math.max(y(base) - y(base + v), 0.5),
                                 fill: ser.color, class: "mark",
                                 "data-series": ser.name, "data-category": cat,
                                 "data-value": v });
        rect.append(s("title", {}, `${ser.name}, ${cat}: ${format(v)}`));
        svg.append(rect);
        base += v;
      }
    }
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: x + barW / 2, y: H - bottom + 16, "text-anchor": "middle",
                             class: "tick" }, cat));
    }
  });
  svg.append(s("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "axis" }));
  return h("figure", { class: "chart", "data-chart": id },
           h("figcaption", {}, title), svg, legend(series));
}

// Horizontal 100% bars: rows [{label, parts: [{name, share, color}]}] with shares in [0, 1].
export function shareBars({ id, title, rows, format }) {
  const W = 860, rowH = 26, left = 180, right = 70, top = 8;
  const H = top * 2 + rowH * Math.max(rows.length, 1);
  const plotW = W - left - right;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg",
                         "aria-label": title });
  svg.append(s("title", {}, title));
  rows.forEach((row, i) => {
    const yTop = top + i * rowH;
    svg.append(s("text", { x: left - 8, y: yTop + rowH / 2 + 4, "text-anchor": "end",
                           class: "tick" }, row.label));
    let x = left;
    for (const part of row.parts) {
      const w = Math.max(0, Math.min(1, part.share || 0)) * plotW;
      if (w > 0) {
        const rect = s("rect", { x, y: yTop + 4, width: w, height: rowH - 8, fill: part.color,
                                 class: "mark", "data-series": part.name,
                                 "data-category": row.label, "data-value": part.share });
        rect.append(s("title", {}, `${row.label}: ${part.name} ${format(part.share)}`));
        svg.append(rect);
      }
      x += w;
    }
    svg.append(s("text", { x: W - right + 6, y: yTop + rowH / 2 + 4, class: "tick" },
                 format(row.parts[0].share)));
  });
  const series = rows.length ? rows[0].parts.map((p) => ({ name: p.name, color: p.color })) : [];
  return h("figure", { class: "chart", "data-chart": id },
           h("figcaption", {}, title), svg, legend(series));
}
