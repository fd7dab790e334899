"""The HTML report's "Ways to use less" section: the advisor's levers for the run
(:mod:`wattprint.reduce.advise`) as a table — saving ranges with their source and the
strength of the evidence — and the levers that do not apply, with why."""

from __future__ import annotations

from html import escape
from typing import Any

from .._format import format_energy, format_mass, format_money


def _range(pair: Any, fmt) -> str:
    if not pair:
        return "—"
    lo, hi = pair
    return fmt(lo) if abs(hi - lo) <= 1e-9 * abs(hi) else f"{fmt(lo)} – {fmt(hi)}"


def advice_section(advice: dict[str, Any]) -> str:
    if advice.get("error"):
        return f"<p>No advice: {escape(advice['error'])}</p>"
    levers = advice.get("levers", [])
    applies = [lv for lv in levers if lv["applies"]]
    out = ["<p>What this run could save, lever by lever, as a range with its source. "
           "Every figure is <em>estimated</em>; ranked by the CO2e it surely saves (the low "
           "end). <code>wattprint advise RUN</code> prints the same.</p>"]
    if applies:
        rows = []
        for lv in applies:
            cost = _range(lv["cost"], lambda v: format_money(v, lv["currency"])) \
                if lv["cost"] else "—"
            time = _range(lv["time_pct"], lambda v: f"{v:+.0f} %") if lv["time_pct"] else "—"
            rows.append(
                f"<tr><td>{escape(lv['title'])}</td>"
                f"<td>{escape(_range(lv['co2e_kg'], lambda v: format_mass(v * 1000, co2e=True)))}</td>"
                f"<td>{escape(_range(lv['kwh'], lambda v: format_energy(v * 3.6e6)))}</td>"
                f"<td>{escape(cost)}</td><td>{escape(time)}</td>"
                f"<td>{escape(lv['why'])}<br><small>{escape(lv['strength'])}: "
                f"{escape(lv['source'])}</small></td></tr>")
        out.append('<table class="advice"><thead><tr><th>lever</th><th>CO2e saved</th>'
                   "<th>energy saved</th><th>cost saved</th><th>time</th>"
                   "<th>how, and the evidence</th></tr></thead><tbody>" + "".join(rows)
                   + "</tbody></table>")
    else:
        out.append("<p>No lever applies to this run with what is known about it.</p>")
    rest = [lv for lv in levers if not lv["applies"]]
    if rest:
        out.append("<details><summary>Levers that do not apply</summary><ul>"
                   + "".join(f"<li>{escape(lv['title'])}: {escape(lv['why'])}</li>"
                             for lv in rest) + "</ul></details>")
    return "".join(out)
