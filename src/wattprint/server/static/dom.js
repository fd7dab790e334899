// DOM building without markup: every string becomes a text node or an attribute value,
// never HTML, so names and tags from runs (which anyone with a token can choose) are inert.
// No innerHTML, no insertAdjacentHTML, no document.write anywhere in the dashboard.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (key === "checked" && "checked" in el) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h("a", {href: "#/runs"}, "Runs") -> <a href="#/runs">Runs</a>
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

// s("rect", {x: 0, width: 10}) -> an SVG element
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag),
                                                    attrs, children);

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A link inside the dashboard: "#/run/ID", with query parameters encoded.
export function route(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const text = q.toString();
  return `#${path}${text ? "?" + text : ""}`;
}
