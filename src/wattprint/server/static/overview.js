// The fleet overview: totals for a period, energy and CO2e per project per week (stacked
// columns), the measured vs modelled share of each project's energy, the projects table
// and the top runs by energy; every table downloadable as CSV from the API.

import { getJson } from "./api.js";
import { h, route } from "./dom.js";
import { BASIS_COLORS, PALETTE, shareBars, stackedColumns } from "./charts.js";
import { columns, filled } from "./columns.js";
import { ENERGY_STEPS, MASS_STEPS, formatEnergy, formatMass, formatMoney, formatNumber,
         formatShare, formatWater } from "./format.js";
import { csvButton, table } from "./table.js";

const PERIODS = [["4", "4 weeks"], ["12", "12 weeks"], ["26", "26 weeks"], ["52", "52 weeks"],
                 ["all", "all time"]];
const MAX_PROJECTS = 8;  // the rest are drawn as "other projects"

// Monday 00:00 UTC of the week `weeks` weeks before this one, as ISO 8601.
function sinceFor(period) {
  if (period === "all") return undefined;
  const now = new Date();
  const day = (now.getUTCDay() + 6) % 7;
  const monday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - day);
  return new Date(monday - (Number(period) - 1) * 7 * 86400000).toISOString();
}

const sum = (groups, key) => groups.reduce((acc, g) => acc + (Number.isFinite(g[key]) ? g[key] : 0), 0);

function card(label, value, note) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label),
           h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}

// the Mondays from the first week key to the last, so a week without runs shows as a gap
function everyWeek(keys) {
  const days = keys.map((k) => Date.parse(`${k}T00:00:00Z`));
  if (!days.length || days.some(Number.isNaN)) return keys;
  const out = [];
  for (let d = days[0]; d <= days[days.length - 1]; d += 7 * 86400000) {
    out.push(new Date(d).toISOString().slice(0, 10));
  }
  return out.length <= 520 ? out : keys;
}

// groups of /summary?group_by=week for each of the largest projects, and the rest
async function weeklyByProject(projects, since, admin) {
  const total = (await getJson("/summary", { group_by: "week", since })).groups;
  const weeks = everyWeek(total.map((g) => g.key).sort());
  const shown = admin ? projects.slice(0, MAX_PROJECTS) : projects;
  const per = await Promise.all(shown.map((p) =>
    admin ? getJson("/summary", { group_by: "week", since, project: p.key })
          : Promise.resolve({ groups: total })));
  const series = (key) => {
    const out = shown.map((p, i) => {
      const byWeek = new Map(per[i].groups.map((g) => [g.key, g[key] || 0]));
      return { name: p.key, color: PALETTE[i % PALETTE.length],
               values: weeks.map((w) => byWeek.get(w) || 0) };
    });
    if (projects.length > shown.length) {
      const all = new Map(total.map((g) => [g.key, g[key] || 0]));
      out.push({ name: "other projects", color: "#adb5bd",
                 values: weeks.map((w, i) => Math.max(0, (all.get(w) || 0) -
                   out.reduce((acc, s) => acc + s.values[i], 0))) });
    }
    return out;
  };
  return { weeks, energy: series("energy_j"), co2e: series("co2e_g") };
}

export async function overviewPage(root, params, me) {
  const admin = !me.project;
  const period = PERIODS.some(([v]) => v === params.period) ? params.period : "12";
  const since = sinceFor(period);
  const [byProject, top] = await Promise.all([
    getJson("/summary", { group_by: "project", since }),
    getJson("/runs", { sort: "-energy_j", limit: 10, since }),
  ]);
  const projects = [...byProject.groups].sort((a, b) => (b.energy_j || 0) - (a.energy_j || 0));
  const weekly = await weeklyByProject(projects, since, admin);

  const select = h("select", { id: "period", "aria-label": "period" },
    PERIODS.map(([v, label]) => h("option", { value: v, selected: v === period }, label)));
  select.addEventListener("change", () => { location.hash = route("/", { period: select.value }); });

  const energy = sum(projects, "energy_j");
  const measured = projects.reduce((acc, g) => acc + (g.measured_share || 0) * (g.energy_j || 0), 0);
  const currencies = [...new Set(projects.filter((g) => g.cost !== null && g.cost !== undefined)
    .map((g) => g.currency).filter(Boolean))];
  const runsCount = sum(projects, "runs");
  root.append(
    h("h1", {}, "Fleet overview"),
    h("div", { class: "toolbar" }, h("label", {}, "Period ", select),
      h("span", { class: "sub" }, since ? `runs started since ${since.slice(0, 10)}` : "every run")),
    h("div", { class: "cards", id: "totals" },
      card("runs", formatNumber(runsCount, { digits: 6 })),
      card("IT energy", formatEnergy(energy), `${formatShare(energy ? measured / energy : null)} measured`),
      card("facility energy", formatEnergy(sum(projects, "facility_energy_j")), "IT energy × PUE"),
      card("CO2e, location-based", formatMass(sum(projects, "co2e_g"), { co2e: true })),
      card("CO2e, market-based", formatMass(sum(projects, "co2e_market_g"), { co2e: true })),
      card("cost", currencies.length === 1 && currencies[0] !== "mixed"
        ? formatMoney(sum(projects, "cost"), currencies[0])
        : currencies.length ? "several currencies" : "-", "where a price is set"),
      card("water", formatWater(sum(projects, "water_l"), { missing: "-" }))));

  if (!weekly.weeks.length) {
    root.append(h("p", { class: "empty" }, "No run in this period yet. Runs appear here once ",
      h("code", {}, "wattprint push"), " (or a run with WATTPRINT_SERVER set) sends them."));
  } else {
    root.append(h("div", { class: "charts" },
      stackedColumns({ id: "energy-weekly", title: "IT energy per project per week",
        categories: weekly.weeks, series: weekly.energy, steps: ENERGY_STEPS,
        format: (v) => formatEnergy(v), yLabel: "energy" }),
      stackedColumns({ id: "co2e-weekly", title: "CO2e (location-based) per project per week",
        categories: weekly.weeks, series: weekly.co2e, steps: MASS_STEPS,
        format: (v) => formatMass(v, { co2e: true }), yLabel: "CO2e" })),
      shareBars({ id: "measured-share", title: "Measured vs modelled share of each project's energy",
        format: (v) => formatShare(v),
        rows: projects.map((g) => ({ label: g.key, parts: [
          { name: "measured", share: g.measured_share || 0, color: BASIS_COLORS.measured },
          { name: "modelled", share: 1 - (g.measured_share || 0), color: BASIS_COLORS.modelled },
        ] })) }));
  }

  const projectCols = [
    { key: "key", label: "project", text: (g) => admin
      ? h("a", { href: route("/runs", { project: g.key }) }, g.key) : g.key },
    { key: "runs", label: "runs", num: true, text: (g) => formatNumber(g.runs, { digits: 6 }) },
    { key: "energy_j", label: "IT energy", num: true, text: (g) => formatEnergy(g.energy_j) },
    { key: "measured_share", label: "measured", num: true, text: (g) => formatShare(g.measured_share) },
    { key: "facility_energy_j", label: "facility energy", num: true,
      text: (g) => formatEnergy(g.facility_energy_j, { missing: "-" }) },
    { key: "co2e_g", label: "CO2e (location)", num: true,
      text: (g) => formatMass(g.co2e_g, { co2e: true, missing: "-" }) },
    { key: "co2e_market_g", label: "CO2e (market)", num: true,
      text: (g) => formatMass(g.co2e_market_g, { co2e: true, missing: "-" }) },
    { key: "cost", label: "cost", num: true, text: (g) => formatMoney(g.cost, g.currency, { missing: "-" }) },
    { key: "water_l", label: "water", num: true, text: (g) => formatWater(g.water_l, { missing: "-" }) },
  ];
  root.append(
    h("h2", {}, "Projects", csvButton("CSV", "projects.csv",
      { path: "/summary.csv", params: { group_by: "project", since } })),
    table({ id: "projects", columns: filled(projectCols, projects), rows: projects, empty: "No project has runs in this period." }),
    h("h2", {}, "Top runs by energy", csvButton("CSV", "top-runs.csv",
      { path: "/runs.csv", params: { sort: "-energy_j", limit: 10, since } })),
    table({ id: "top-runs", rows: top.runs || [], empty: "No run in this period.",
            columns: filled(columns("name", ...(admin ? ["project"] : []), "user", "host",
                                    "started_at", "duration_s", "energy_j", "basis", "co2e_g",
                                    "cost"), top.runs || []) }));
}
