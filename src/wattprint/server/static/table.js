// Tables and CSV: a column list renders an HTML table (text nodes only) and the same rows as
// CSV (raw numbers in base units, as the CLI's --csv writes them); downloads are Blob URLs
// made in the page, so no request leaves for them either.

import { h } from "./dom.js";
import { getText } from "./api.js";

// columns: [{key, label, text(row) -> string | Node, raw(row) -> csv value, num, csvKey}]
export function table({ id, columns, rows, empty = "Nothing to show." }) {
  if (!rows.length) return h("p", { class: "empty", "data-table": id }, empty);
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "",
                                                        scope: "col" }, c.label)));
  const body = rows.map((row) => h("tr", {}, columns.map((c) => {
    const content = c.text ? c.text(row) : row[c.key];
    return h("td", { class: c.num ? "num" : "", "data-col": c.key },
             content === undefined || content === null ? "-" : content);
  })));
  return h("div", { class: "table-wrap" },
           h("table", { "data-table": id }, h("thead", {}, head), h("tbody", {}, body)));
}

function csvCell(value) {
  if (value === undefined || value === null) return "";
  let text = Array.isArray(value) ? value.join(";") : String(value);
  // a cell a spreadsheet would run as a formula is written as text
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvCell(c.csvKey || c.key))];
  for (const row of rows) {
    lines.push(columns.map((c) => csvCell(c.raw ? c.raw(row) : row[c.key])));
  }
  return lines.map((cells) => cells.join(",")).join("\r\n") + "\r\n";
}

export function download(filename, text, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// A button that downloads a CSV: from the API's .csv variant (path, params) or made here
// from columns and rows.
export function csvButton(label, filename, source) {
  const button = h("button", { type: "button", class: "csv", "data-csv": filename });
  button.textContent = label;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const text = source.path ? await getText(source.path, source.params)
                               : toCsv(source.columns, source.rows);
      download(filename, text);
    } catch (err) {
      button.after(h("span", { class: "error inline" }, `CSV failed: ${err.message}`));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
