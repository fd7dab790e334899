// A run's page (its HTML report, as `wattprint report --format html` writes it, shown in a
// sandboxed frame: no script, no same-origin access) and the comparison of two runs.

import { getJson, getText } from "./api.js";
import { h, route } from "./dom.js";
import { basisBadge, statusBadge } from "./columns.js";
import { formatDuration, formatEnergy, formatMass, formatNumber, formatPower } from "./format.js";
import { csvButton, download, table } from "./table.js";

export async function runPage(root, params, me, id) {
  const [run, report] = await Promise.all([
    getJson(`/runs/${encodeURIComponent(id)}`),
    getText(`/runs/${encodeURIComponent(id)}/report.html`),
  ]);
  const info = run.run || run;
  const frame = h("iframe", { class: "report", id: "report", sandbox: "",
                              referrerpolicy: "no-referrer",
                              title: `report of run ${info.name || info.id}` });
  frame.srcdoc = report;  // the report escapes every value and carries its own strict CSP
  const save = h("button", { type: "button", id: "save-report" }, "Download report (HTML)");
  save.addEventListener("click", () => download(`wattprint-${info.id}.html`, report, "text/html"));
  const col = (key) => ({ key });
  const devices = csvButton("Devices CSV", `wattprint-${info.id}-devices.csv`, {
    rows: info.devices || [],
    columns: ["index", "name", "domain", "kind", "device", "counted", "energy_j",
              "mean_power_w", "peak_power_w", "samples"].map(col) });
  const phases = csvButton("Phases CSV", `wattprint-${info.id}-phases.csv`, {
    rows: info.phases || [], columns: ["name", "energy_j", "duration_s", "entries"].map(col) });
  const power = csvButton("Power CSV", `wattprint-${info.id}-power.csv`, {
    rows: (info.power || []).flatMap((s) => s.t.map((t, i) =>
      ({ device: s.device, name: s.name, t_s: t, power_w: s.power_w[i] }))),
    columns: ["device", "name", "t_s", "power_w"].map(col) });
  root.append(
    h("h1", { id: "run-name" }, info.name || info.id),
    h("p", { class: "sub" }, h("code", {}, info.id), " · ", basisBadge(info.basis), " ",
      statusBadge(info.status), " · ",
      [info.project && `project ${info.project}`, info.user && `user ${info.user}`,
       info.host && `host ${info.host}`].filter(Boolean).join(" · ")),
    h("div", { class: "toolbar" },
      h("a", { href: route("/runs", { pick: info.id, name: info.name || info.id }),
               id: "compare-with" },
        "Compare with another run…"), save, devices, phases, power),
    frame);
}

function formatValue(kind, value) {  // as the report's comparison table (report/_compare.py)
  if (value === null || value === undefined) return "-";
  if (kind === "energy") return formatEnergy(value);
  if (kind === "time") return formatDuration(value);
  if (kind === "power") return formatPower(value);
  if (kind === "mass") return formatMass(value, { co2e: true });
  return formatNumber(value, { digits: 4 });
}

function formatChange(change) {
  if (change === null || change === undefined || !Number.isFinite(change)) return "";
  const pct = change * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%`;
}

function pickerForm(params) {
  const a = h("input", { name: "a", value: params.a || "", placeholder: "run id (baseline)" });
  const b = h("input", { name: "b", value: params.b || "", placeholder: "run id" });
  const form = h("form", { class: "filters", id: "compare-form" },
    h("label", {}, "run A (baseline)", a), h("label", {}, "run B", b),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Compare")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = route("/compare", { a: a.value.trim(), b: b.value.trim() });
  });
  return form;
}

export async function comparePage(root, params) {
  root.append(h("h1", {}, "Compare two runs"), pickerForm(params));
  if (!params.a || !params.b) {
    root.append(h("p", { class: "hint" }, "Pick two runs in the ",
      h("a", { href: "#/runs" }, "run list"), " (tick two boxes), or paste two run ids."));
    return;
  }
  const [data, report] = await Promise.all([
    getJson("/compare", { a: params.a, b: params.b }),
    getText("/compare.html", { a: params.a, b: params.b }),
  ]);
  const frame = h("iframe", { class: "report", id: "compare-report", sandbox: "",
                              referrerpolicy: "no-referrer", title: "the comparison report" });
  frame.srcdoc = report;
  const runs = data.runs || [];
  const label = (r, i) => `${r.run?.name || r.run?.id}${i === 0 ? " (baseline)" : ""}`;
  const cols = [{ key: "figure", label: "figure" },
    ...runs.map((r, i) => ({
      key: `run${i}`, label: label(r, i), num: true, csvKey: `${r.run?.id}`,
      text: (row) => {
        const text = formatValue(row.kind, row.values[i]);
        const change = i ? formatChange(row.changes[i]) : "";
        return change ? h("span", {}, text, " ",
          h("small", { class: row.changes[i] > 0 ? "change-up" : "change-down" }, `(${change})`))
          : text;
      },
      raw: (row) => row.values[i],
    }))];
  const unitCol = { key: "unit", label: "unit" };
  const head = runs.map((r, i) => h("div", { class: "card", "data-run": r.run?.id },
    h("div", { class: "label" }, i === 0 ? "run A (baseline)" : "run B"),
    h("div", { class: "value" },
      h("a", { href: route(`/run/${encodeURIComponent(r.run?.id)}`) }, r.run?.name || r.run?.id)),
    h("div", { class: "note" }, basisBadge(r.energy?.basis), " ", r.run?.id)));
  root.append(
    h("div", { class: "cards" }, head),
    h("h2", {}, "Side by side",
      csvButton("CSV", "comparison.csv", { columns: [cols[0], unitCol, ...cols.slice(1)],
                                           rows: data.rows || [] })),
    table({ id: "compare", columns: cols, rows: data.rows || [] }),
    h("p", { class: "sub" }, "Changes are relative to run A. ",
      runs.some((r) => ["modelled", "mixed"].includes(r.energy?.basis))
        ? "Modelled figures carry the model's uncertainty: small differences may not be real."
        : ""),
    h("h2", {}, "The comparison report"), frame);
}
