"""Self-contained HTML reports: one file, no script, nothing fetched.

The page carries a strict Content-Security-Policy (``default-src 'none'; style-src
'unsafe-inline'; img-src data:``), so a browser refuses any request even if a value
from the ledger (a run name, a command line) contained markup: every such value is
escaped anyway. Charts are inline SVG (:mod:`._svg`).
"""

from __future__ import annotations

import re
from html import escape

from ._compare import Comparison, format_change, format_value
from ._data import SCHEMA_VERSION, ReportData
from ._svg import DOMAIN_COLORS, PALETTE, line_chart, stacked_bars
from .._format import format_money, format_power
from ._fmt import energy_scale, fmt_hours, fmt_kwh, fmt_mass, fmt_num
from ._text import eu_ai_act, model_card, statement_md

__all__ = ["render_html", "render_comparison_html", "CSP"]

#: The page's Content-Security-Policy: nothing may be loaded from anywhere.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#212529;
background:#f8f9fa;line-height:1.45}
main{max-width:940px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:28px 0 8px;
border-bottom:1px solid #dee2e6;padding-bottom:4px}
.sub{color:#495057;font-size:.92rem}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;
font-weight:600;color:#fff;background:#495057;vertical-align:middle}
.badge.measured{background:#2f9e44}.badge.modelled{background:#e8590c}
.badge.mixed{background:#f08c00}.badge.estimated{background:#7048e8}
.badge.stopped,.badge.failed,.badge.interrupted{background:#c92a2a}
.alert{border-left:5px solid #e8590c;background:#fff4e6;padding:10px 14px;margin:16px 0}
.alert.stop{border-color:#c92a2a;background:#fff5f5}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;
margin:16px 0}
.card{background:#fff;border:1px solid #dee2e6;border-radius:6px;padding:10px 12px}
.card .label{font-size:.8rem;color:#495057}.card .value{font-size:1.3rem;font-weight:600}
.card .note{font-size:.75rem;color:#6c757d}
figure.chart{background:#fff;border:1px solid #dee2e6;border-radius:6px;margin:12px 0;
padding:8px;overflow-x:auto}
figcaption{font-size:.8rem;color:#495057;padding:4px 8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.85rem;margin:8px 0}
th,td{border:1px solid #dee2e6;padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#f1f3f5}td.num{text-align:right;white-space:nowrap}
pre{background:#fff;border:1px solid #dee2e6;padding:10px;overflow-x:auto;font-size:.8rem}
code{font-size:.85em}blockquote{margin:8px 0;padding:6px 12px;border-left:4px solid #adb5bd;
background:#fff}
footer{color:#6c757d;font-size:.8rem;margin-top:32px}
table.bench td:first-child{min-width:170px}table.bench{font-size:.8rem}
"""


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"referrer\" content=\"no-referrer\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _badge(text: str) -> str:
    return f'<span class="badge {escape(text.split()[0])}">{escape(text)}</span>'


def _inline_md(text: str) -> str:
    text = escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def md_to_html(md: str) -> str:
    """The small Markdown subset the text reports use: headings, paragraphs, tables,
    block quotes and list items."""
    out: list[str] = []
    table: list[list[str]] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            head, *rows = [r for r in table if not set("".join(r)) <= set("-: ")]
            out.append("<table><tr>" + "".join(f"<th>{_inline_md(c)}</th>" for c in head)
                       + "</tr>" + "".join("<tr>" + "".join(f"<td>{_inline_md(c)}</td>"
                                                             for c in r) + "</tr>"
                                           for r in rows) + "</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline_md(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        s = line.strip()
        if s.startswith("|"):
            table.append([c.strip() for c in s.strip("|").split("|")])
            continue
        if s.startswith("- "):
            items.append(s[2:])
            continue
        flush()
        if not s:
            continue
        if s.startswith("#"):
            level = min(len(s) - len(s.lstrip("#")) + 1, 4)
            out.append(f"<h{level}>{_inline_md(s.lstrip('#').strip())}</h{level}>")
        elif s.startswith(">"):
            out.append(f"<blockquote>{_inline_md(s.lstrip('> '))}</blockquote>")
        else:
            out.append(f"<p>{_inline_md(s)}</p>")
    flush()
    return "".join(out)


def _card(label: str, value: str, note: str = "", basis: str = "") -> str:
    badge = f" {_badge(basis)}" if basis else ""
    return (f'<div class="card"><div class="label">{escape(label)}{badge}</div>'
            f'<div class="value">{escape(value)}</div>'
            + (f'<div class="note">{escape(note)}</div>' if note else "") + "</div>")


def _power_chart(d: ReportData, chart_id: str = "power") -> str:
    series = []
    for i, dev in enumerate(d.series["devices"]):
        label = f"{dev['name']} ({dev['domain']}, {dev['kind']})"
        if not dev["counted"]:
            label += ", nested"
        series.append(dict(name=label, points=dev["power_w"],
                           color=DOMAIN_COLORS.get(dev["domain"], PALETTE[i % len(PALETTE)])
                           if len({x["domain"] for x in d.series["devices"]}) ==
                           len(d.series["devices"]) else PALETTE[i % len(PALETTE)],
                           dash=not dev["counted"]))
    counted = [x for x in d.series["devices"] if x["counted"]]
    if len(counted) > 1 and d.series["total_power_w"]:
        series.append(dict(name="total (counted devices)", points=d.series["total_power_w"],
                           color="#212529", width=2.2))
    bands = []
    if d.series.get("total_power_band_w"):
        bands.append(dict(name="model uncertainty of the total", color="#e8590c",
                          points=d.series["total_power_band_w"]))
    caption = ("Mean power between consecutive points (exact from cumulative energy), at "
               f"most {max((len(x['power_w']) for x in d.series['devices']), default=0)} "
               "points per device.")
    if bands:
        caption += " The shaded band is the range the sensorless models allow."
    return line_chart(chart_id=chart_id, title="Power over time, per device", series=series,
                      bands=bands, y_label="power (W)", caption=caption)


def _energy_chart(d: ReportData) -> str:
    domains = sorted({k for k in d.energy["by_domain"]}
                     | {k for p in d.phases for k in p["by_domain"]})
    categories = ["whole run"] + [f"phase {p['name']}" for p in d.phases]
    div, unit = energy_scale(d.energy["energy_j"] or 0.0)
    segments = [(dom, [d.energy["by_domain"].get(dom, 0.0) / div]
                 + [p["by_domain"].get(dom, 0.0) / div for p in d.phases]) for dom in domains]
    caption = "IT energy by domain for the run and each phase"
    if any("/" in p["name"] for p in d.phases):
        caption += " (a nested phase is also counted in its parent)"
    return stacked_bars(chart_id="energy", title="Energy by domain and by phase",
                        categories=categories, segments=segments,
                        value_label=f"energy ({unit})", fmt=lambda v: fmt_kwh(v * div),
                        colors=DOMAIN_COLORS, caption=caption + ".")


def _carbon_chart(d: ReportData) -> str:
    c = d.carbon
    cum = c["cumulative_g"]
    scale, unit = (1000.0, "kg") if cum and cum[-1][1] >= 1000 else (1.0, "g")
    series = [dict(name=f"cumulative CO2e, location-based ({unit})", color="#2b8a3e",
                   width=2.2, points=[(t, g / scale) for t, g in cum])]
    if d.uncertainty and cum:
        lo = d.uncertainty["energy_low_j"] / d.energy["energy_j"]
        hi = d.uncertainty["energy_high_j"] / d.energy["energy_j"]
        bands = [dict(name="model uncertainty", color="#e8590c",
                      points=[(t, g / scale * lo, g / scale * hi) for t, g in cum])]
    else:
        bands = []
    res = c["intensity_resolution"]
    y2 = dict(name=f"grid intensity, {res} (gCO2e/kWh)", label="gCO2e/kWh",
              points=c["intensity_g_per_kwh"], step=True, color="#868e96")
    caption = (f"Intensity behind it: {c['source']}"
               + ("; hour by hour" if res == "hourly" else
                  "; one annual figure (no hourly data for this zone and period)") + ".")
    return line_chart(chart_id="carbon", title="Cumulative CO2e and grid intensity",
                      series=series, bands=bands, y2=y2, y_label=f"CO2e ({unit})",
                      caption=caption)


def _provenance_table(d: ReportData) -> str:
    rows = []
    for p in d.provenance:
        value = p["value"]
        shown = "-" if value is None else (
            fmt_kwh(value) if p["unit"] == "J" else fmt_num(value) if p["unit"] == "ratio"
            else f"{fmt_num(value)} {p['unit']}")
        where = ", ".join(str(x) for x in (p["zone"], p["year"], p["resolution"]) if x)
        extra = "; ".join(p["notes"])
        if p["uncertainty"]:
            extra = f"±{p['uncertainty']:.0%} " + extra
        rows.append(f"<tr><td>{escape(p['figure'])}</td><td class=\"num\">{escape(shown)}</td>"
                    f"<td>{_badge(p['basis'])}</td><td>{escape(p['source'] or '')}"
                    + (f"<br><small>{escape(p['device'])}</small>" if p["device"] else "")
                    + f"</td><td>{escape(where)}</td><td>{escape(p['licence'] or '')}</td>"
                    f"<td><small>{escape(extra)}</small></td></tr>")
    return ("<table class=\"provenance\"><tr><th>figure</th><th>value</th><th>basis</th>"
            "<th>sensor, model or dataset</th><th>zone, year, resolution</th><th>licence</th>"
            "<th>notes</th></tr>" + "".join(rows) + "</table>")


def render_html(d: ReportData) -> str:
    run, e, c = d.run, d.energy, d.carbon
    title = f"wattprint report: {run['name'] or run['id']}"
    head = [f"<h1>{escape(run['name'] or 'run ' + run['id'])}</h1>",
            f'<div class="sub">run <code>{escape(run["id"])}</code> · '
            f'{_badge(run["status"])} · {escape(run["started_at"][:19].replace("T", " "))} UTC'
            f' · {escape(fmt_hours(run["duration_s"]))} · {escape(run["host"])}'
            + (f' · project {escape(run["project"])}' if run["project"] else "")
            + (f' · tags {escape(", ".join(run["tags"]))}' if run["tags"] else "") + "</div>"]
    if run["command"]:
        head.append(f'<div class="sub">command: <code>{escape(" ".join(run["command"]))}'
                    "</code></div>")
    if d.uncertainty:
        head.append(f'<div class="alert uncertainty" role="alert"><strong>'
                    f'{"No power sensors" if d.basis == "modelled" else "Partly modelled"}'
                    f':</strong> {escape(d.uncertainty["statement"])} Every figure derived '
                    "from this energy carries the same range.</div>")
    if run["end_reason"]:
        head.append(f'<div class="alert stop"><strong>{escape(run["status"])}:</strong> '
                    f'{escape(run["end_reason"])}</div>')
    if c["zone"]["source"] == "default":
        head.append('<div class="alert"><strong>No grid zone set:</strong> carbon figures use '
                    "the world average and can be off by 10x; pass --zone.</div>")
    rng = (f"range {fmt_kwh(d.uncertainty['energy_low_j'])} – "
           f"{fmt_kwh(d.uncertainty['energy_high_j'])}" if d.uncertainty else "")
    cards = [_card("IT energy", fmt_kwh(e["energy_j"]), rng, d.basis),
             _card("facility energy", fmt_kwh(e["facility_energy_j"]), f"PUE {e['pue']:.3g}"),
             _card("CO2e, location-based", fmt_mass(c["co2e_location_g"]),
                   f"{c['intensity_location_g_per_kwh']:,.0f} g/kWh, {c['zone_label']}",
                   "estimated"),
             _card("CO2e, market-based", fmt_mass(c["co2e_market_g"]),
                   f"{c['intensity_market_g_per_kwh']:,.0f} g/kWh", "estimated"),
             _card("duration", fmt_hours(run["duration_s"])),
             _card("mean / peak power", format_power(e["mean_power_w"] or 0.0),
                   f"peak {format_power(e['peak_power_w'] or 0.0)}")]
    cost = d.accounting.get("cost") or {}
    if cost.get("value") is not None:
        cards.append(_card("cost", format_money(cost["value"], cost["unit"]), "", "estimated"))
    for key, value in d.work["per_unit"].items():
        cards.append(_card(f"energy per {key.split('/')[-1]}", f"{fmt_num(value)} {key}"))
    from ._bench import bench_configs, bench_section

    body = head + ['<section class="cards">' + "".join(cards) + "</section>",
                   bench_section(bench_configs([run])),
                   "<h2>Where the watts went</h2>", _power_chart(d), _energy_chart(d),
                   "<h2>Carbon</h2>", _carbon_chart(d)]
    if d.budget:
        body.append("<p>Budget: " + escape(", ".join(f"{k} {v}" for k, v in d.budget.items()))
                    + "</p>")
    body += ["<h2>Provenance</h2>",
             "<p>What each number rests on: <em>measured</em> (hardware counters), "
             "<em>modelled</em> (sensorless models), <em>estimated</em> (derived with "
             "published factors), <em>reference</em> (a published factor).</p>",
             _provenance_table(d), "<h2>Devices</h2>", _devices_table(d)]
    if d.phases:
        body += ["<h2>Phases</h2>", _phases_table(d)]
    if d.sci:
        body += ["<h2>Software Carbon Intensity (SCI)</h2>", _sci_table(d)]
    body += ["<h2>Equivalents</h2>",
             "<ul>" + "".join(f"<li>{escape(x['text'])} <small>({escape(x['provenance']['title'])}"
                              f", {x['provenance']['year'] or ''})</small></li>"
                              for x in d.equivalents) + "</ul>",
             "<h2>Statement for a paper</h2>", md_to_html(statement_md(d)),
             "<h2>Model card (Hugging Face)</h2>", f"<pre>{escape(model_card([d]))}</pre>",
             md_to_html(eu_ai_act([d]).replace("## ", "### ", 1))]
    if d.advice is not None:
        from ._advice import advice_section

        body += ["<h2>Ways to use less</h2>", advice_section(d.advice)]
    notes = d.warnings + d.notes
    if notes:
        body += ["<h2>Warnings and notes</h2>",
                 "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"]
    body.append(f"<footer>Generated {escape(d.generated_at)} by {escape(d.generator)} · "
                f"report schema {SCHEMA_VERSION} · this file loads nothing from the network."
                "</footer>")
    return _page(title, "".join(body))


def _devices_table(d: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{escape(x['name'])}</td><td>{escape(x['domain'])}</td>"
        f"<td>{_badge(x['kind'])}</td><td>{escape(x['device'] or '')}</td>"
        f"<td class=\"num\">{escape(fmt_kwh(x['energy_j']))}</td>"
        f"<td class=\"num\">{escape(format_power(x['mean_power_w']))}</td>"
        f"<td class=\"num\">{escape(format_power(x['peak_power_w']))}</td>"
        f"<td class=\"num\">{x['samples']:,}</td>"
        f"<td>{'' if x['counted'] else 'nested, not summed'}</td></tr>"
        for x in d.devices)
    return ("<table><tr><th>sensor</th><th>domain</th><th>kind</th><th>device</th>"
            "<th>energy</th><th>mean</th><th>peak</th><th>samples</th><th></th></tr>"
            + rows + "</table>")


def _phases_table(d: ReportData) -> str:
    units = sorted({k for p in d.phases for k in p["per_unit"]})
    rows = "".join(
        f"<tr><td>{escape(p['name'])}</td><td class=\"num\">{escape(fmt_kwh(p['energy_j']))}"
        f"</td><td class=\"num\">{escape(fmt_hours(p['duration_s']))}</td>"
        f"<td class=\"num\">{p['entries']}</td>"
        + "".join(f"<td class=\"num\">{fmt_num(p['per_unit'][u])}</td>" if u in p["per_unit"]
                  else "<td>-</td>" for u in units) + "</tr>" for p in d.phases)
    return ("<table><tr><th>phase</th><th>energy</th><th>duration</th><th>entries</th>"
            + "".join(f"<th>{escape(u)}</th>" for u in units) + "</tr>" + rows + "</table>")


def _sci_table(d: ReportData) -> str:
    rows = "".join(
        f"<tr><td>per {escape(s['functional_unit'])}</td>"
        f"<td class=\"num\">{escape(fmt_mass(s['sci_g_per_unit']))}</td>"
        f"<td class=\"num\">{escape(fmt_kwh(s['energy_j_per_unit']))}</td>"
        f"<td class=\"num\">{s['count']:,.0f}</td><td>{_badge(s['basis'])} "
        f"<small>{escape(s['note'] or '')}</small></td></tr>" for s in d.sci)
    return ("<p>SCI = (E × I + M) per functional unit, E the facility energy, I the "
            "location-based intensity, M the embodied emissions.</p>"
            "<table><tr><th>functional unit</th><th>SCI</th><th>facility energy</th>"
            "<th>units</th><th>basis</th></tr>" + rows + "</table>")


def render_comparison_html(c: Comparison) -> str:
    runs = c.runs
    labels = [f"{r.run['name'] or r.run['id']} ({r.run['id'][-6:]})" for r in runs]
    head = [f"<h1>Comparison of {len(runs)} runs</h1>",
            '<div class="sub">Changes are relative to the first run (the baseline).</div>']
    if any(r.uncertainty for r in runs):
        head.append('<div class="alert uncertainty" role="alert"><strong>Modelled figures:'
                    "</strong> at least one run is wholly or partly modelled (no power sensor "
                    "for some devices); those figures carry the model's range, and small "
                    "differences may not be real.</div>")
    th = "".join(f"<th>{escape(lab)}{' (baseline)' if i == 0 else ''}</th>"
                 for i, lab in enumerate(labels))
    rows = ["<tr><td>basis</td>" + "".join(f"<td>{_badge(r.basis)}</td>" for r in runs)
            + "</tr>",
            "<tr><td>zone</td>" + "".join(f"<td>{escape(r.carbon['zone_label'])}</td>"
                                          for r in runs) + "</tr>"]
    for row in c.rows:
        cells = []
        for i, (v, ch) in enumerate(zip(row["values"], row["changes"])):
            text = escape(format_value(row["kind"], v))
            if i and ch is not None:
                color = "#2f9e44" if ch < 0 else "#c92a2a" if ch > 0 else "#495057"
                text += f' <small style="color:{color}">({escape(format_change(ch))})</small>'
            cells.append(f'<td class="num">{text}</td>')
        rows.append(f"<tr><td>{escape(row['figure'])}</td>{''.join(cells)}</tr>")
    table = f"<table class=\"comparison\"><tr><th>figure</th>{th}</tr>{''.join(rows)}</table>"
    domains = sorted({k for r in runs for k in r.energy["by_domain"]})
    div, unit = energy_scale(max(r.energy["energy_j"] or 0.0 for r in runs))
    charts = [stacked_bars(chart_id="compare-energy", title="IT energy per run, by domain",
                           categories=labels, colors=DOMAIN_COLORS,
                           fmt=lambda v: fmt_kwh(v * div), value_label=f"energy ({unit})",
                           segments=[(dom, [r.energy["by_domain"].get(dom, 0.0) / div
                                            for r in runs]) for dom in domains])]
    for row in c.rows:
        if row["kind"] == "per_unit":
            charts.append(stacked_bars(
                chart_id=f"compare-{row['figure'].replace('/', '-per-')}",
                title=f"Energy per unit of work ({row['figure']})", categories=labels,
                segments=[(row["figure"], [v or 0.0 for v in row["values"]])],
                value_label=row["figure"], fmt=fmt_num))
    charts.append(stacked_bars(
        chart_id="compare-co2e", title="CO2e per run (location-based)", categories=labels,
        segments=[("CO2e", [r.carbon["co2e_location_g"] for r in runs])],
        value_label="gCO2e", fmt=fmt_mass, colors={"CO2e": "#2b8a3e"}))
    charts.append(line_chart(
        chart_id="compare-power", title="Total power over time, per run",
        series=[dict(name=lab, points=r.series["total_power_w"] or [
            (p[0], p[1]) for x in r.series["devices"][:1] for p in x["power_w"]],
            color=PALETTE[i % len(PALETTE)]) for i, (lab, r) in enumerate(zip(labels, runs))],
        y_label="power (W)", x_label="time since each run's start"))
    sources = "".join(f"<li><code>{escape(r.run['id'])}</code>: {escape(r.basis)} energy; "
                      f"intensity {escape(r.carbon['source'])}; PUE {r.energy['pue']:.3g}</li>"
                      for r in runs)
    from ._bench import bench_configs, bench_section

    body = head + [bench_section(bench_configs([r.run for r in runs])), table,
                   "<h2>Charts</h2>", *charts, "<h2>Provenance</h2>",
                   f"<ul>{sources}</ul>",
                   f"<footer>Generated by {escape(runs[0].generator)} · report schema "
                   f"{SCHEMA_VERSION} · this file loads nothing from the network.</footer>"]
    return _page(f"wattprint comparison of {len(runs)} runs", "".join(body))

