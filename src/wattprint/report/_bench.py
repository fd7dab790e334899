"""The benchmark section of HTML reports: configurations recorded by ``wattprint bench``
side by side (every figure with its basis and spread, the estimator's prediction and the
gap) and J/output token (J/request for classification) against batch size as inline
SVG, one line per model and precision, the prediction dashed beside it."""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

from ._fmt import fmt_num
from ._svg import PALETTE, line_chart

__all__ = ["bench_configs", "bench_section"]


def bench_configs(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The benchmark results stored in these runs' settings (runs of ``wattprint bench``
    that finished their figures), in the runs' order."""
    out = []
    for run in runs:
        b = (run.get("settings") or {}).get("bench")
        if isinstance(b, dict) and isinstance(b.get("figures"), dict):
            out.append({**b, "run_id": run.get("id") or b.get("run_id")})
    return out


def _cell(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return "–"
    text = escape(fmt_num(fig["value"]))
    s = fig.get("spread") or {}
    if s.get("n", 0) > 1:
        text += (f' <small title="min {fmt_num(s["min"])}, max {fmt_num(s["max"])}, '
                 f'{s["n"]} repetitions">±{s["relative_spread"] / 2:.0%}</small>')
    return text


def bench_section(configs: Sequence[dict[str, Any]]) -> str:
    """HTML: the table and the chart(s) of benchmark configurations ("" when none)."""
    if not configs:
        return ""
    from ..benchmark._figures import FIGURES, device_power_rows

    heads = "".join(f"<th>{escape(str(c['model']))}<br>{escape(str(c['precision']))} · batch "
                    f"{c['batch_size']}"
                    + (f"<br><small>weights {escape(str(c['dtype']))}</small>"
                       if c.get("dtype") else "") + "</th>" for c in configs)
    rows = []
    for key, label, unit in FIGURES:
        figs = [c["figures"].get(key) for c in configs]
        if all(not f or f.get("value") is None for f in figs):
            continue
        basis = "/".join(sorted({f["basis"] for f in figs if f}))
        rows.append(f"<tr><td>{escape(label)} ({escape(unit)}) <small>{escape(basis)}</small>"
                    "</td>" + "".join(f'<td class="num">{_cell(f)}</td>' for f in figs)
                    + "</tr>")
        if key == "mean_power_w":
            for dev_label, dev_basis, dev_figs in device_power_rows(configs):
                what = next((f.get("device") for f in dev_figs if f and f.get("device")), "")
                rows.append(f'<tr class="device-power"><td title="{escape(str(what))}">'
                            f"&nbsp;&nbsp;{escape(dev_label)} (W) <small>"
                            f"{escape(dev_basis)}</small></td>" + "".join(
                                f'<td class="num">{_cell(f)}</td>' for f in dev_figs)
                            + "</tr>")
    pred = [c.get("prediction") or {} for c in configs]
    rows.append('<tr><td>predicted J/output token <span class="badge estimated">estimated'
                "</span></td>" + "".join(
                    f'<td class="num">{escape(fmt_num(p["j_per_output_token"]))}<br><small>'
                    f'on {escape(str(p.get("accelerator", "?")))}</small></td>'
                    if p.get("j_per_output_token") is not None
                    else f'<td><small>{escape(p.get("reason", "–"))}</small></td>'
                    for p in pred) + "</tr>")
    rows.append("<tr><td>gap, measured vs predicted <small>(GPU energy when a GPU was "
                "measured, else all measured devices)</small></td>" + "".join(
        f'<td class="num" data-gap="{p["gap"]:.6g}">{p["gap"]:+.0%}</td>'
        if p.get("gap") is not None else "<td>–</td>" for p in pred) + "</tr>")
    rows.append("<tr><td>steady state</td>" + "".join(
        f"<td>{'reached after ' + str(c['warmup']['batches']) + ' warm-up batches' if c['warmup'].get('steady') else '<strong>not reached</strong>'}</td>"  # noqa: E501
        for c in configs) + "</tr>")
    rows.append("<tr><td>rating</td>" + "".join(
        f"<td>{escape(str(c['rating']['stars']))}/5 <small>"
        f"{'comparable' if c['rating']['comparable'] else 'indicative only'}</small></td>"
        if c.get("rating") else "<td><small>no reference distribution</small></td>"
        for c in configs) + "</tr>")
    rows.append("<tr><td>run</td>" + "".join(f"<td><code>{escape(str(c['run_id']))}</code></td>"
                                             for c in configs) + "</tr>")
    table = (f'<table class="bench"><tr><th>figure</th>{heads}</tr>{"".join(rows)}</table>')
    per_token = any((c["figures"].get("j_per_output_token") or {}).get("value") is not None
                    for c in configs)
    key = "j_per_output_token" if per_token else "j_per_request"
    unit = "J/output token" if per_token else "J/request"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in configs:
        groups.setdefault((str(c["model"]), str(c["precision"])), []).append(c)
    series = []
    for i, ((model, precision), cs) in enumerate(groups.items()):
        cs = sorted(cs, key=lambda c: c["batch_size"])
        color = PALETTE[i % len(PALETTE)]
        pts = [(float(c["batch_size"]), c["figures"][key]["value"]) for c in cs
               if (c["figures"].get(key) or {}).get("value") is not None]
        series.append(dict(name=f"{model} {precision} (measured)", points=pts, color=color))
        if per_token:
            ppts = [(float(c["batch_size"]), c["prediction"]["j_per_output_token"]) for c in cs
                    if (c.get("prediction") or {}).get("j_per_output_token") is not None]
            if ppts:
                series.append(dict(name=f"{model} {precision} (estimator)", points=ppts,
                                   color=color, dash=True))
    chart = line_chart(chart_id="bench-energy-per-token", title=f"{unit} against batch size",
                       series=series, y_label=unit, x_label="batch size", time_x=False,
                       caption="Each point: mean of the repetitions in the steady state; "
                               "dashed: the estimator's prediction for the same "
                               "configuration.")
    return ("<h2>Benchmark: configurations side by side</h2>"
            "<p>Measured after a warm-up to the steady state; ± is half the range of the "
            "repetitions. Energy figures are <em>measured</em> or <em>modelled</em> as "
            "labelled; <em>timed</em> figures come from the wall clock.</p>"
            + table + chart)
