// The dashboard's shell: hash routes (#/, #/runs?..., #/run/ID, #/compare?a=&b=, #/login),
// the sign-in with a token kept in this tab's sessionStorage, and error display.

import { ApiError, forgetToken, getJson, getToken, setToken } from "./api.js";
import { clear, h, route } from "./dom.js";
import { overviewPage } from "./overview.js";
import { runsPage } from "./runs.js";
import { comparePage, runPage } from "./run.js";

const main = () => document.getElementById("main");
let identity = null;  // the answer of /api/v1/me for the current token

function parseHash() {
  const text = location.hash.replace(/^#/, "") || "/";
  const [path, query] = text.split("?", 2);
  return { path: path || "/", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

function describe(me) {
  const role = { read: "read-only", write: "read-write", admin: "admin" }[me.role] || me.role;
  const scope = me.project ? `project ${me.project}` : "all projects";
  return role ? `${scope} · ${role}` : scope;
}

function showIdentity() {
  const who = clear(document.getElementById("who"));
  const nav = document.getElementById("nav");
  nav.hidden = !identity;
  if (!identity) return;
  const out = h("button", { type: "button", id: "signout" }, "Sign out");
  out.addEventListener("click", () => {
    forgetToken();
    identity = null;
    location.hash = "#/login";
    showIdentity();
  });
  who.append(h("span", { id: "identity" }, describe(identity)), out);
}

function loginPage(root, params) {
  const input = h("input", { type: "password", id: "token", name: "token",
                             autocomplete: "off", spellcheck: "false",
                             placeholder: "wpt_…", required: true });
  const message = h("div", { id: "login-message", role: "alert" });
  if (params.reason) message.append(h("p", { class: "error" }, params.reason));
  const form = h("form", { class: "login", id: "login" },
    h("label", {}, "API token", input),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    h("p", { class: "sub" }, "Paste a token made with ",
      h("code", {}, "wattprint server token create --project P --read-only"),
      ". It stays in this browser tab only (sessionStorage) and is sent to this server as ",
      h("code", {}, "Authorization: Bearer"), "."),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(message);
    const token = input.value.trim();
    try {
      identity = await getJson("/me", {}, token);
    } catch (err) {
      const text = err.status === 401
        ? "This token was refused (401): it is unknown, revoked or mistyped. Paste the " +
          "whole token as `wattprint server token create` printed it."
        : `Could not sign in: ${err.message}`;
      message.append(h("p", { class: "error" }, text));
      return;
    }
    setToken(token);
    showIdentity();
    location.hash = params.next || "#/";
  });
  root.append(h("h1", {}, "Sign in"), form);
  input.focus();
}

const pages = [
  [/^\/$/, "overview", overviewPage],
  [/^\/runs$/, "runs", runsPage],
  [/^\/run\/(.+)$/, "runs", runPage],
  [/^\/compare$/, "compare", comparePage],
];

let renders = 0;

// main[data-renders] counts finished renders: tests wait for it to move on
function done(root, path) {
  renders += 1;
  root.dataset.ready = path;
  root.dataset.renders = String(renders);
}

let generation = 0;  // a newer hash makes an older, still loading render drop its result

async function render() {
  const gen = ++generation;
  const { path, params } = parseHash();
  const root = clear(main());
  delete root.dataset.ready;
  if (path === "/login") {
    loginPage(root, params);
    done(root, path);
    return;
  }
  if (!getToken()) {
    location.replace(route("/login", { next: location.hash || "#/" }));
    return;
  }
  try {
    if (!identity) {
      identity = await getJson("/me");
      showIdentity();
    }
    const match = pages.find(([re]) => re.test(path));
    if (!match) {
      root.append(h("h1", {}, "Not found"),
                  h("p", {}, "No page here; go to ", h("a", { href: "#/" }, "the overview"), "."));
      done(root, path);
      return;
    }
    const [re, navKey, page] = match;
    for (const a of document.querySelectorAll("nav a")) {
      a.classList.toggle("active", a.dataset.nav === navKey);
    }
    const arg = path.match(re)[1];
    root.append(h("p", { class: "loading" }, "Loading…"));
    const content = h("div", { class: "page" });
    await page(content, params, identity, arg === undefined ? undefined : decodeURIComponent(arg));
    if (gen !== generation) return;
    clear(root).append(content);
    done(root, path);
  } catch (err) {
    if (gen !== generation) return;
    if (err instanceof ApiError && err.status === 401) {
      forgetToken();
      identity = null;
      showIdentity();
      location.replace(route("/login", {
        next: location.hash, reason: "The server no longer accepts this token (401); sign in again." }));
      return;
    }
    clear(root).append(h("div", { class: "error", role: "alert" },
      err instanceof ApiError && err.status === 404
        ? "Not found (404): no such run in the projects this token can see."
        : `Something went wrong: ${err.message}`));
    done(root, path);
  }
}

window.addEventListener("hashchange", render);
render();
