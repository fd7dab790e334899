// The run columns shared by the run list, the overview's top runs and CSV made here:
// formatted text for people (the CLI's formatters), raw base units for CSV.

import { h, route } from "./dom.js";
import { formatDuration, formatEnergy, formatInstant, formatMass, formatMoney,
         formatWater } from "./format.js";

export function basisBadge(basis) {
  const text = basis && basis !== "none" ? basis : "no energy";
  return h("span", { class: `badge ${text.split(" ")[0]}`, title: `energy basis: ${text}` }, text);
}

export const statusBadge = (status) => h("span", { class: `badge ${status}` }, status || "-");

export function runLink(run) {
  return h("a", { href: route(`/run/${encodeURIComponent(run.id)}`), class: "run-link" },
           run.name || run.id);
}

// the energy, and under it the range a model leaves (modelled or mixed runs)
const energyText = (r) => {
  const text = formatEnergy(r.energy_j, { missing: "-" });
  if (r.basis === "measured" || !Number.isFinite(r.energy_low_j) ||
      !Number.isFinite(r.energy_high_j) || !(r.energy_high_j > r.energy_low_j)) return text;
  return h("span", {}, text,
           h("small", {}, `${formatEnergy(r.energy_low_j)} – ${formatEnergy(r.energy_high_j)}`));
};

export const RUN_COLUMNS = {
  name: { key: "name", label: "run", text: runLink },
  project: { key: "project", label: "project" },
  user: { key: "user", label: "user" },
  host: { key: "host", label: "host" },
  started_at: { key: "started_at", label: "started (UTC)",
                text: (r) => formatInstant(r.started_at, { utc: false }) },
  duration_s: { key: "duration_s", label: "duration", num: true,
                text: (r) => formatDuration(r.duration_s, { missing: "-" }) },
  energy_j: { key: "energy_j", label: "IT energy", num: true, text: energyText },
  basis: { key: "basis", label: "basis", text: (r) => basisBadge(r.basis) },
  facility_energy_j: { key: "facility_energy_j", label: "facility energy", num: true,
                       text: (r) => formatEnergy(r.facility_energy_j, { missing: "-" }) },
  co2e_g: { key: "co2e_g", label: "CO2e (location)", num: true,
            text: (r) => formatMass(r.co2e_g, { co2e: true, missing: "-" }) },
  co2e_market_g: { key: "co2e_market_g", label: "CO2e (market)", num: true,
                   text: (r) => formatMass(r.co2e_market_g, { co2e: true, missing: "-" }) },
  cost: { key: "cost", label: "cost", num: true,
          text: (r) => formatMoney(r.cost, r.currency, { missing: "-" }) },
  water_l: { key: "water_l", label: "water", num: true,
             text: (r) => formatWater(r.water_l, { missing: "-" }) },
  status: { key: "status", label: "status", text: (r) => statusBadge(r.status) },
  accelerator: { key: "accelerator", label: "accelerator" },
  tags: { key: "tags", label: "tags", text: (r) => (r.tags || []).join(", ") },
};

export const columns = (...keys) => keys.map((k) => RUN_COLUMNS[k]);

// the columns without those no row has a value for (cost without a price, water...)
export const filled = (cols, rows) => cols.filter((c) => !c.key || c.key === "name" ||
  rows.some((r) => r[c.key] !== null && r[c.key] !== undefined && r[c.key] !== ""));
