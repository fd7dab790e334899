// The server's REST API (/api/v1, Bearer token kept in this tab's sessionStorage).
// Every request goes to this page's own origin: the Content-Security-Policy
// (connect-src 'self') would refuse any other.

const KEY = "wattprint.token";

export const getToken = () => sessionStorage.getItem(KEY);
export const setToken = (token) => sessionStorage.setItem(KEY, token);
// signing out forgets the token and whatever else this tab kept (the picked runs)
export const forgetToken = () => sessionStorage.clear();

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiUrl(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const text = q.toString();
  return `/api/v1${path}${text ? "?" + text : ""}`;
}

async function request(path, params, token) {
  const auth = token || getToken();
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      headers: auth ? { Authorization: `Bearer ${auth}` } : {},
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, `the server did not answer (${err.message}); is it running?`);
  }
  if (!response.ok) {
    let detail = "";
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
    } catch (err) {
      detail = response.statusText;
    }
    throw new ApiError(response.status, `${response.status}: ${detail}`);
  }
  return response;
}

export async function getJson(path, params, token) {
  return (await request(path, params, token)).json();
}

export async function getText(path, params) {
  return (await request(path, params)).text();
}
