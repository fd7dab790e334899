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
const history = new Map();

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

  const picked = new Set(params.pick ? [params.pick] : []);
  const compare = h("button", { type: "button", id: "compare-picked", disabled: true },
                    "Compare the two picked runs");
  const updateCompare = () => { compare.disabled = picked.size !== 2; };
  compare.addEventListener("click", () => {
    const [a, b] = [...picked];
    location.hash = route("/compare", { a, b });
  });
  const pick = {
    key: "pick", label: "pick",
    text: (r) => {
      const box = h("input", { type: "checkbox", "aria-label": "pick for comparison",
                               "data-run": r.id, checked: picked.has(r.id) });
      box.addEventListener("change", () => {
        if (box.checked) picked.add(r.id); else picked.delete(r.id);
        updateCompare();
      });
      return box;
    },
  };
  const cols = filled(columns("name", ...(admin ? ["project"] : []), "user", "host", "started_at",
                       "duration_s", "energy_j", "basis", "co2e_g", "cost", "status",
                       "accelerator", "tags"), runs);

  const stack = history.get(key) || [];
  const pager = h("div", { class: "pager" });
  const prev = h("button", { type: "button", id: "prev-page", disabled: !params.cursor },
                 "← Previous");
  prev.addEventListener("click", () => {
    const cursors = history.get(key) || [];
    const before = cursors.pop();
    history.set(key, cursors);
    location.hash = route("/runs", { ...filters, limit, cursor: before });
  });
  const next = h("button", { type: "button", id: "next-page", disabled: !data.next_cursor },
                 "Next →");
  next.addEventListener("click", () => {
    history.set(key, [...stack, params.cursor || ""]);
    location.hash = route("/runs", { ...filters, limit, cursor: data.next_cursor });
  });
  pager.append(prev, next, h("span", { id: "page-info" },
    `${runs.length} run${runs.length === 1 ? "" : "s"} on this page`,
    params.cursor ? "" : " (first page)"));

  root.append(
    h("h1", {}, "Runs"),
    filterForm(params, admin),
    h("div", { class: "toolbar" }, compare,
      csvButton("Download CSV (every run of this filter)", "runs.csv",
                { path: "/runs.csv", params: filters })),
    table({ id: "runs", columns: [pick, ...cols], rows: runs,
            empty: "No run matches these filters." }),
    pager);
  updateCompare();
}
