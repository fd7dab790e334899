// The run list: filters (project for admin tokens, user, host, tag, status, period,
// accelerator, name search) kept in the URL, keyset paging with the API's next_cursor,
// two runs picked for comparison, and the filtered list as CSV from /api/v1/runs.csv.

import { getJson } from "./api.js";
import { h, route } from "./dom.js";
import { columns, filled } from "./columns.js";
import { csvButton, table } from "./table.js";

const FILTERS = [
  ["q", "name contains", "text"], ["project", "project", "text"], ["user", "user", "text"],
  ["host", "host", "text"], ["tag", "tag", "text"], ["accelerator", "accelerator", "text"],
  ["status", "status", ["", "finished", "failed", "interrupted", "stopped"]],
  ["since", "started from", "date"], ["until", "started before", "date"],
];
const PAGE_SIZES = ["25", "50", "100", "200"];
const SORTS = [["-started_at", "newest first"], ["started_at", "oldest first"],
               ["-energy_j", "most energy"], ["-co2e_g", "most CO2e"],
               ["-duration_s", "longest"]];
// cursors of the pages before this one, per filter set, to go back
const earlier = new Map();
const PICKS = "wattprint.picked";

function loadPicks() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(PICKS) || "[]");
    return new Map(Array.isArray(saved) ? saved.filter((p) => Array.isArray(p) && p.length === 2)
                                        : []);
  } catch (err) {
    return new Map();
  }
}

const savePicks = (picked) => sessionStorage.setItem(PICKS, JSON.stringify([...picked]));

function apiFilters(params) {
  const out = {};
  for (const [key] of FILTERS) if (params[key]) out[key] = params[key];
  if (SORTS.some(([v]) => v === params.sort)) out.sort = params.sort;
  return out;
}

function filterForm(params, admin) {
  const fields = FILTERS.filter(([key]) => key !== "project" || admin).map(([key, label, type]) => {
    const control = Array.isArray(type)
      ? h("select", { name: key }, type.map((v) => h("option", { value: v, selected: v === (params[key] || "") }, v || "any")))
      : h("input", { type, name: key, value: params[key] || "" });
    return h("label", {}, label, control);
  });
  const size = h("select", { name: "limit" }, PAGE_SIZES.map((v) =>
    h("option", { value: v, selected: v === (params.limit || "50") }, v)));
  const sort = h("select", { name: "sort" }, SORTS.map(([v, label]) =>
    h("option", { value: v, selected: v === (params.sort || "-started_at") }, label)));
  const form = h("form", { class: "filters", id: "filters" }, fields,
    h("label", {}, "order", sort), h("label", {}, "per page", size),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("a", { href: "#/runs" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    location.hash = route("/runs", data);
  });
  return form;
}

export async function runsPage(root, params, me) {
  const admin = !me.project;
  const filters = apiFilters(params);
  const limit = PAGE_SIZES.includes(params.limit) ? params.limit : "50";
  const key = JSON.stringify([filters, limit]);
  const data = await getJson("/runs", { ...filters, limit, cursor: params.cursor });
  const runs = data.runs || [];

  // the runs picked for comparison (at most two, kept for the tab across filters and
  // pages, so the second can be found with other filters than the first)
  const picked = loadPicks();
  if (params.pick && params.name) picked.set(params.pick, params.name);
  while (picked.size > 2) picked.delete(picked.keys().next().value);
  const compare = h("button", { type: "button", id: "compare-picked" },
                    "Compare the two picked runs");
  const clearPicks = h("button", { type: "button", id: "clear-picks" }, "Clear picks");
  const pickedInfo = h("span", { id: "picked", class: "sub" });
  const boxes = new Map();
  const updatePicks = () => {
    savePicks(picked);
    compare.disabled = picked.size !== 2;
    clearPicks.hidden = picked.size === 0;
    for (const [id, box] of boxes) box.checked = picked.has(id);
    pickedInfo.textContent = picked.size
      ? `picked: ${[...picked.values()].join(" · ")}` : "tick two runs to compare them";
  };
  compare.addEventListener("click", () => {
    const [a, b] = [...picked.keys()];
    location.hash = route("/compare", { a, b });
  });
  clearPicks.addEventListener("click", () => { picked.clear(); updatePicks(); });
  const pick = {
    key: "pick", label: "pick",
    text: (r) => {
      const box = h("input", { type: "checkbox", "aria-label": "pick for comparison",
                               "data-run": r.id });
      boxes.set(r.id, box);
      box.addEventListener("change", () => {
        if (box.checked) {
          picked.set(r.id, r.name || r.id);
          while (picked.size > 2) picked.delete(picked.keys().next().value);
        } else {
          picked.delete(r.id);
        }
        updatePicks();
      });
      return box;
    },
  };
  const cols = filled(columns("name", ...(admin ? ["project"] : []), "user", "host", "started_at",
                       "duration_s", "energy_j", "basis", "co2e_g", "cost", "status",
                       "accelerator", "tags"), runs);

  const stack = earlier.get(key) || [];
  const pager = h("div", { class: "pager" });
  const prev = h("button", { type: "button", id: "prev-page", disabled: !params.cursor },
                 "← Previous");
  prev.addEventListener("click", () => {
    const cursors = earlier.get(key) || [];
    const before = cursors.pop();
    earlier.set(key, cursors);
    location.hash = route("/runs", { ...filters, limit, cursor: before });
  });
  const next = h("button", { type: "button", id: "next-page", disabled: !data.next_cursor },
                 "Next →");
  next.addEventListener("click", () => {
    earlier.set(key, [...stack, params.cursor || ""]);
    location.hash = route("/runs", { ...filters, limit, cursor: data.next_cursor });
  });
  pager.append(prev, next, h("span", { id: "page-info" },
    `${runs.length} run${runs.length === 1 ? "" : "s"} on this page`,
    params.cursor ? "" : " (first page)"));

  root.append(
    h("h1", {}, "Runs"),
    filterForm(params, admin),
    h("div", { class: "toolbar" }, compare, clearPicks, pickedInfo),
    h("div", { class: "toolbar" },
      csvButton("Download CSV (every run of this filter)", "runs.csv",
                { path: "/runs.csv", params: filters })),
    table({ id: "runs", columns: [pick, ...cols], rows: runs,
            empty: "No run matches these filters." }),
    pager);
  updatePicks();
}
